"""Settings that must agree with template.yaml, which sets the functions' limits."""

from __future__ import annotations

from pathlib import Path

import yaml

from contacts_import.settings import ProcessChunkSettings
from local_stack.template import CloudFormationLoader, load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
FIELDS = ProcessChunkSettings.model_fields


def test_a_shard_lease_outlasts_any_run_of_the_chunk_worker():
    timeout = load_template(TEMPLATE).function("ProcessChunkFunction").timeout_seconds
    assert FIELDS["lease_seconds"].default > timeout, "a live task must never outlive its lease"


def test_the_shards_of_a_new_list_default_to_the_templates():
    parameters = yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)["Parameters"]
    assert FIELDS["list_shards"].default == parameters["ListShards"]["Default"]
    environment = load_template(TEMPLATE).function("ProcessImportFunction").environment
    assert environment["LIST_SHARDS"] == str(parameters["ListShards"]["Default"])
