"""The template's tables, buckets and queues for a test: created from template.yaml by the same code
the local stack runs (``local_stack.resources.create_stack_resources``), never copied by hand.

Under moto's ``mock_aws`` leave ``endpoint_url`` out; against a running local stack pass its
endpoint. The answer gives the resolved template (names, function environments) and what was
created, by logical id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from local_stack.resources import CreatedResources, create_stack_resources
from local_stack.template import StackTemplate, load_template

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"


def create_template_resources(
    session: Any = None, *, endpoint_url: str | None = None, template_path: Path = TEMPLATE_PATH
) -> tuple[StackTemplate, CreatedResources]:
    template = load_template(template_path)
    session = session or boto3.session.Session(region_name=template.account.region)
    return template, create_stack_resources(template, session, endpoint_url=endpoint_url)
