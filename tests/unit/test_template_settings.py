"""Settings that must agree with template.yaml, which sets the functions' limits."""

from __future__ import annotations

from pathlib import Path

import yaml

from contacts_import.service.process_chunk import LEASE_MARGIN_SECONDS
from contacts_import.settings import ProcessChunkSettings, SweepJobsSettings
from local_stack.template import CloudFormationLoader, load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
FIELDS = ProcessChunkSettings.model_fields
SWEEP_FIELDS = SweepJobsSettings.model_fields


def test_a_shard_lease_outlasts_the_heartbeats_that_renew_it_and_the_writes_it_covers():
    lease, beat = FIELDS["lease_seconds"].default, FIELDS["task_heartbeat_seconds"].default
    assert lease - LEASE_MARGIN_SECONDS >= 2 * beat, "a missed beat must not stop a live task's writes"
    assert LEASE_MARGIN_SECONDS > 0


def test_the_chunk_queue_is_what_the_chunk_worker_takes_it_for():
    template = load_template(TEMPLATE)
    chunk = template.function("ProcessChunkFunction")
    queue = yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)["Resources"]["ChunkQueue"]["Properties"]
    # Lambda takes an event source queue whose visibility timeout is at least the function's.
    assert queue["VisibilityTimeout"] >= chunk.timeout_seconds
    assert FIELDS["chunk_task_timeout_seconds"].default == chunk.timeout_seconds
    # The heartbeat renews well within the visibility it sets; every message of a batch has its own.
    visibility, beat = FIELDS["task_visibility_seconds"].default, FIELDS["task_heartbeat_seconds"].default
    assert 3 * beat <= visibility < chunk.timeout_seconds
    (source,) = [event for event in template.sqs_event_sources if event.function_id == "ProcessChunkFunction"]
    assert source.batch_size == 1
    parameters = yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)["Parameters"]
    receives = parameters["ChunkTaskMaxReceives"]["Default"]
    assert FIELDS["task_max_receives"].default == receives
    for function_id in ("ProcessChunkFunction", "SweepJobsFunction"):
        assert template.function(function_id).environment["TASK_MAX_RECEIVES"] == str(receives)


def test_the_sweeper_waits_out_every_receive_of_a_task_before_it_calls_a_job_stalled():
    settings = SweepJobsSettings.model_construct(**{name: field.default for name, field in SWEEP_FIELDS.items()})
    one_receive = (
        settings.chunk_task_timeout_seconds + settings.task_visibility_seconds + settings.task_retry_cap_seconds
    )
    assert settings.resend_after_minutes * 60 > one_receive
    assert (
        settings.stalled_after_minutes - settings.resend_after_minutes
    ) * 60 >= settings.task_max_receives * one_receive


def test_the_shards_of_a_new_list_default_to_the_templates():
    parameters = yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)["Parameters"]
    assert FIELDS["list_shards"].default == parameters["ListShards"]["Default"]
    environment = load_template(TEMPLATE).function("ProcessImportFunction").environment
    assert environment["LIST_SHARDS"] == str(parameters["ListShards"]["Default"])
