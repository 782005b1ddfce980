"""Logs carry job ids, counts and row numbers, never a contact's phone, e-mail or name.

A file of distinctive contacts goes through every way a value could reach a log: the import, the
processor, the status, the error reports, contact reads by phone, and unexpected errors whose
messages quote values. The functions' log output (their configured Powertools handler, at DEBUG)
is then searched for every form of every value.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import TypeAdapter

from contacts_import.logs import UnhandledError
from contacts_import.store.contacts import ContactStore
from tests.integration.api_calls import post_csv, run_all, status
from tests.personal_data import CONTACTS_CSV, EMAILS, leaks
from tests.sample_events import api_event, body_of


@pytest.fixture
def function_logs(stack) -> Iterator[io.StringIO]:
    """Everything the functions log, through the handler and formatter they configured."""
    logger = stack.modules["ProcessImportFunction"].logger
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    previous_level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield buffer
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)


def read(stack, event_name: str, **kwargs):
    return stack.invoke("ImportStatusFunction", api_event(event_name, **kwargs))


def test_an_import_and_its_reports_log_no_contact_values(stack, function_logs):
    accepted = post_csv(stack, CONTACTS_CSV, list_id="pii")
    assert accepted["statusCode"] == 202, accepted["body"]
    job_id = body_of(accepted)["data"]["job_id"]
    run_all(stack)
    job = body_of(status(stack, job_id))["data"]
    assert job["counts"]["created"] == 3 and job["counts"]["invalid"] == 2

    errors = {"job_id": job_id}
    assert read(stack, "api_get_import_errors.json", path_parameters=errors)["statusCode"] == 200
    as_csv = read(stack, "api_get_import_errors.json", path_parameters=errors, headers={"Accept": "text/csv"})
    assert "Perpetua" in as_csv["body"]  # the report holds the values; the log must not
    assert read(stack, "api_get_contacts.json", path_parameters={"list_id": "pii"})["statusCode"] == 200
    for phone in ("+12127365000", "+19999999999"):  # one found, one 404 whose message names it
        read(stack, "api_get_contact.json", path_parameters={"list_id": "pii", "phone": phone})

    logged = function_logs.getvalue()
    assert job_id in logged and "Job ended" in logged  # the logs were captured, and say what happened
    assert leaks(logged) == []


def test_an_unexpected_worker_error_fails_its_task_and_reaches_the_log_without_values(
    stack, function_logs, monkeypatch
):
    email = EMAILS[1]

    def broken_lookup(self, phones):
        raise ValueError(f"cannot look up {phones} for <{email}>")

    monkeypatch.setattr(ContactStore, "find_existing", broken_lookup)
    post_csv(stack, CONTACTS_CSV, list_id="pii-broken")
    for key in stack.pending_uploads():
        stack.deliver_s3(key, run_tasks=False)
    # SQS-triggered: the failed task is answered as a batch item failure, so that its message comes
    # back for a retry; nothing of the error is in the answer.
    answers = stack.run_tasks()
    failed = [answer for answer in answers if answer["batchItemFailures"]]
    assert len(failed) == 1 and leaks(json.dumps(answers)) == []

    logged = function_logs.getvalue()
    assert any(r.get("exception_name") == "ValueError" for r in log_records(logged))
    assert "***00" in logged and "<email>" in logged  # masked, still saying what kind of value it was
    assert leaks(logged) == []


def test_an_unexpected_processor_error_reaches_lambda_and_the_log_without_values(stack, function_logs, monkeypatch):
    email = EMAILS[1]

    def broken_plan(*args, **kwargs):
        raise ValueError(f"cannot plan the file of <{email}>")

    monkeypatch.setattr("contacts_import.service.process_import.plan_chunks", broken_plan)
    post_csv(stack, CONTACTS_CSV, list_id="pii-broken")
    # S3-triggered: the failure must reach Lambda (for its retries), named by its type only.
    with pytest.raises(UnhandledError) as raised:
        run_all(stack)
    assert "ValueError" in str(raised.value) and leaks(str(raised.value)) == []

    logged = function_logs.getvalue()
    assert any(r.get("exception_name") == "ValueError" for r in log_records(logged))
    assert "<email>" in logged
    assert leaks(logged) == []


def test_an_unexpected_api_error_is_logged_without_the_input_pydantic_quotes(stack, function_logs, monkeypatch):
    post_csv(stack, CONTACTS_CSV, list_id="pii-500")
    run_all(stack)

    def broken_document(contact):
        return TypeAdapter(int).validate_python(contact["first_name"])  # "input_value='Henrietta'"

    monkeypatch.setattr("contacts_import.api.imports_read.contact_document", broken_document)
    response = read(stack, "api_get_contact.json", path_parameters={"list_id": "pii-500", "phone": "+12127365000"})
    assert response["statusCode"] == 500 and body_of(response)["error"]["code"] == "internal_error"

    logged = function_logs.getvalue()
    assert any(r.get("exception_name") == "ValidationError" for r in log_records(logged))
    assert "input_value=<redacted>" in logged
    assert leaks(logged) == []


def log_records(logged: str) -> list[dict]:
    return [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
