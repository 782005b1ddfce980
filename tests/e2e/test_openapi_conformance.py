"""schemathesis against the running local stack, driven by the API's own /openapi.json: for every
operation, the document's examples and generated requests (valid and invalid) get no 5xx and no
answer the document does not describe (status, content type, headers, body).

Bounded: MAX_EXAMPLES per operation and mode, one account of its own, requests paced under that
account's throttle so that they reach the functions instead of a 429.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import LocalStackHandle

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation and mode: some 250 requests, paced, about fifteen seconds.
MAX_EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzzing_key(local_stack: LocalStackHandle) -> Iterator[str]:
    """A key of an account of its own: what schemathesis creates stays out of the other tests' way."""
    api_key, key_hash = local_stack.add_api_key(f"fuzz-{uuid.uuid4().hex[:8]}")
    yield api_key
    local_stack.remove_api_key(key_hash)


@pytest.fixture(scope="module")
def api_schema(local_stack: LocalStackHandle, fuzzing_key: str):
    return schemathesis.openapi.from_url(
        local_stack.url("/openapi.json"), headers={"Authorization": f"Bearer {fuzzing_key}"}, timeout=60
    )


class Pacer:
    """At most ``rate`` requests a second: under the account's usage-plan throttle."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = time.monotonic()

    def wait(self) -> None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


def test_every_answer_is_described_and_none_is_a_server_error(
    api_schema, fuzzing_key: str, local_stack: LocalStackHandle
) -> None:
    # Each operation in turn, through Hypothesis directly: schemathesis' pytest loader for a schema
    # that exists only at run time (from_fixture) does not work with pytest 9.
    (plan,) = local_stack.template.apis["ContactsApi"].usage_plans
    pacer = Pacer(0.8 * (plan.rate_limit or 10))
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]  # an unusable one raises
    assert operations
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            if mode is GenerationMode.POSITIVE:
                strategy = st.one_of(*operation.get_strategies_from_examples(), strategy)

            @settings(
                max_examples=MAX_EXAMPLES,
                phases=[Phase.explicit, Phase.generate],
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            @given(case=strategy)
            def exercise(case) -> None:
                pacer.wait()
                case.call_and_validate(headers={"Authorization": f"Bearer {fuzzing_key}"}, checks=CHECKS, timeout=60)

            try:
                exercise()
            except (Exception, FailureGroup) as failure:  # every operation is tried; all failures are reported
                failures[f"{operation.label} ({mode.value})"] = _described(failure)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def _described(failure: BaseException) -> str:
    if isinstance(failure, BaseExceptionGroup):
        return "\n".join(f"{type(e).__name__}: {e}" for e in failure.exceptions)
    return f"{type(failure).__name__}: {failure}"
