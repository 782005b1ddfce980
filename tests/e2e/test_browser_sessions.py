"""Browser sessions, the file preview and saved mappings over HTTP, on the local stack: a session
token creates an import and reads it, is refused for the account's other jobs and after its end;
the preview of a Google or an Outlook export suggests the mapping the import then uses; a saved
profile is applied to a file dropped into the drop folder."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from benchmarks.export_files import google_contacts_utf8, outlook_windows_1252
from local_stack.dynamodb_local import DynamoDbLocal
from tests.e2e.conftest import LocalStackHandle, OwnAccount, running_stack
from tests.e2e.jobs import contact, new_list, wait_for_end

pytestmark = pytest.mark.e2e

CSV = b"phone,name\n(212) 736-5000,Jane Doe\n"


def _mint(stack: LocalStackHandle, api_key: str, **body: object) -> dict:
    response = stack.session(api_key).post(stack.url("/sessions"), json=body, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _import(stack: LocalStackHandle, token: str, **params: str) -> requests.Response:
    return stack.session(token).post(
        stack.url("/imports"), params=params, data=CSV, headers={"Content-Type": "text/csv"}, timeout=60
    )


def test_a_session_creates_an_import_reads_it_and_nothing_else(local_stack: LocalStackHandle, own_account: OwnAccount):
    list_id = new_list("session")
    session = _mint(local_stack, own_account.api_key, list_id=list_id)
    made = _import(local_stack, session["token"])
    assert made.status_code == 202, made.text
    own_job = made.json()["data"]["job_id"]
    job = wait_for_end(local_stack, own_job, session["token"])
    assert (job["status"], job["list_id"], job["counts"]["created"]) == ("completed", list_id, 1)

    by_key = local_stack.session(own_account.api_key).post(
        local_stack.url("/imports"), data=CSV, headers={"Content-Type": "text/csv"}, timeout=60
    )
    key_job = by_key.json()["data"]["job_id"]
    as_session = local_stack.session(session["token"])
    other = as_session.get(local_stack.url(f"/imports/{key_job}"), timeout=30)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert as_session.get(local_stack.url(f"/imports/{key_job}/errors"), timeout=30).status_code == 404
    listed = as_session.get(local_stack.url("/imports"), timeout=30).json()["data"]
    assert [j["job_id"] for j in listed] == [own_job]
    assert as_session.post(local_stack.url("/sessions"), json={}, timeout=30).status_code == 403
    assert _import(local_stack, session["token"], list_id="default").status_code == 403
    assert as_session.get(local_stack.url(f"/lists/{list_id}/contacts"), timeout=30).status_code == 403
    # Another session of the same account does not see the first one's job either.
    second = _mint(local_stack, own_account.api_key)
    assert (
        local_stack.session(second["token"]).get(local_stack.url(f"/imports/{own_job}"), timeout=30).status_code == 404
    )


@pytest.fixture(scope="module")
def short_sessions(
    tmp_path_factory: pytest.TempPathFactory, dynamodb_local: DynamoDbLocal
) -> Iterator[LocalStackHandle]:
    """A stack whose sessions may be as short as a second (SessionMinTtlSeconds=1)."""
    with running_stack(
        tmp_path_factory.mktemp("short-sessions"),
        ("SessionMinTtlSeconds=1",),
        dynamodb_endpoint=dynamodb_local.endpoint,
        stack_name="contacts-import-sessions",
    ) as stack:
        yield stack


def test_a_session_is_refused_from_its_end_on(short_sessions: LocalStackHandle) -> None:
    session = _mint(short_sessions, short_sessions.api_key, ttl_seconds=2)
    as_session = short_sessions.session(session["token"])
    # Used before its end, so that the gateway caches the authorizer's answer: the route refuses it itself.
    assert as_session.get(short_sessions.url("/imports"), timeout=30).status_code == 200
    ends = datetime.fromisoformat(session["expires_at"].replace("Z", "+00:00")).timestamp()
    time.sleep(max(0.0, ends - time.time()) + 0.5)  # at most about two seconds
    refused = as_session.get(short_sessions.url("/imports"), timeout=30)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert _import(short_sessions, session["token"]).status_code == 401


@pytest.mark.parametrize("export", [google_contacts_utf8, outlook_windows_1252])
def test_the_preview_of_an_export_suggests_the_mapping_the_import_uses(
    local_stack: LocalStackHandle, own_account: OwnAccount, export: Callable[[], bytes]
) -> None:
    data = export()
    session = _mint(local_stack, own_account.api_key)
    as_session = local_stack.session(session["token"])
    answer = as_session.post(
        local_stack.url("/imports/preview"), data=data[:4096], headers={"Content-Type": "text/csv"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    preview = answer.json()["data"]
    assert "phone" in {c["field"] for c in preview["columns"]}
    assert preview["profile"] is None
    # The importer takes the suggestion as it is: it names no mapping (docs/api.md, File preview).
    list_id = new_list("preview")
    made = as_session.post(
        local_stack.url("/imports"), json={"csv": data.decode(preview["encoding"]), "list_id": list_id}, timeout=60
    )
    assert made.status_code == 202, made.text
    job = wait_for_end(local_stack, made.json()["data"]["job_id"], session["token"])
    assert job["status"] == "completed"
    previewed = [r for r in preview["rows"] if r["phone"]]
    assert previewed
    for row in previewed:
        stored = contact(local_stack, list_id, row["phone"], own_account.api_key)
        assert stored is not None and stored["email"] == row["email"]


def test_a_saved_profile_is_applied_to_a_dropped_file(local_stack: LocalStackHandle, tmp_path: Path) -> None:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex[:8]  # headers of this test only: no other file matches the profile
    profile = {"mapping": {f"Handy {marker}": "phone", "Wer": "name", "Notiz": "ignore"}, "options": {"tags": [name]}}
    keys = local_stack.session()
    assert keys.put(local_stack.url(f"/mapping-profiles/{name}"), json=profile, timeout=30).status_code == 200
    try:
        listed = keys.get(local_stack.url("/mapping-profiles"), timeout=30).json()["data"]
        assert name in [p["name"] for p in listed]
        list_id = new_list("profile")
        body = f"Wer,Handy {marker},Notiz\nJane Doe,(212) 736-5000,private\n".encode()
        key = f"drop/{local_stack.account_id}/{list_id}/nightly.csv"
        local_stack.client("s3").put_object(Bucket=local_stack.bucket, Key=key, Body=body)
        give_up_at = time.monotonic() + 180
        while time.monotonic() < give_up_at:
            stored = contact(local_stack, list_id, "+12127365000")
            if stored is not None:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the dropped file was not imported\n{local_stack.log_tail()}")
        assert stored["name"] == "Jane Doe" and stored["tags"] == [name]
        assert "Notiz" not in stored["custom_fields"]
    finally:
        keys.delete(local_stack.url(f"/mapping-profiles/{name}"), timeout=30)
