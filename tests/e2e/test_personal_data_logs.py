"""The local stack's whole log (gateway request lines, the functions' own logs) after importing a
file of distinctive contacts and reading them back: no phone, e-mail or name of the file in it."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import pytest

from tests.e2e.jobs import wait_for_end
from tests.e2e.stack import LocalStackHandle
from tests.personal_data import CONTACTS_CSV, leaks

pytestmark = pytest.mark.e2e
LOG_WAIT_SECONDS = 60  # the workers' output reaches the log file through pipes; nothing asserts how fast


def test_the_local_stack_log_holds_no_contact_values(local_stack: LocalStackHandle) -> None:
    session = local_stack.session()
    list_id = f"e2e-pii-{uuid.uuid4().hex[:8]}"
    accepted = session.post(
        local_stack.url("/imports"),
        params={"list_id": list_id},
        files={"file": ("Henrietta Quarrington contacts.csv", CONTACTS_CSV, "text/csv")},
        timeout=60,
    )
    assert accepted.status_code == 202, accepted.text
    job = wait_for_end(local_stack, accepted.json()["data"]["job_id"])
    assert (job["counts"]["created"], job["counts"]["invalid"]) == (3, 2)

    errors_url = local_stack.url(f"/imports/{job['job_id']}/errors")
    assert session.get(errors_url, timeout=30).status_code == 200
    assert "Vandersloot" in session.get(errors_url, headers={"Accept": "text/csv"}, timeout=30).text
    for phone in ("+12127365000", "+16502530000", "+19999999999"):  # the last one answers 404
        session.get(local_stack.url(f"/lists/{list_id}/contacts/{quote(phone, safe='')}"), timeout=30)

    logged = wait_for_log_line(local_stack, job["job_id"], "Job ended")
    assert f"/lists/{list_id}/contacts/***00 -> 200" in logged  # the request line is there, masked
    assert leaks(logged) == []


def wait_for_log_line(stack: LocalStackHandle, *parts: str) -> str:
    """The log once a line holds every one of ``parts`` (the processor's own line for the job)."""
    give_up_at = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        logged = stack.log_path.read_text(encoding="utf-8", errors="replace")
        if any(all(part in line for part in parts) for line in logged.splitlines()):
            return logged
        assert time.monotonic() < give_up_at, f"no log line with {parts}:\n{stack.log_tail()}"
        time.sleep(0.5)
