"""Exports people really have, on the local stack, by every way in: the right phones, names and
emails come out; hostile files get their stated answer."""

from __future__ import annotations

import gzip
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from benchmarks.export_files import (
    european_semicolons_windows_1252,
    excel_unicode_text,
    google_contacts_utf8,
    outlook_windows_1252,
    workbook_with_numbers,
)
from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e
PIPELINE_TIMEOUT_SECONDS = 180  # waiting on a slow machine; nothing asserts how long it took


def new_list(tag: str) -> str:
    return f"e2e-{tag}-{uuid.uuid4().hex[:8]}"


def finished(stack: LocalStackHandle, job_id: str) -> dict[str, Any]:
    give_up_at = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    while time.monotonic() < give_up_at:
        job = stack.session().get(stack.url(f"/imports/{job_id}"), timeout=30).json()["data"]
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end\n{stack.log_tail()}")


def contact(stack: LocalStackHandle, list_id: str, phone: str) -> dict[str, Any]:
    response = stack.session().get(stack.url(f"/lists/{list_id}/contacts/{quote(phone, safe='')}"), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def post_file(stack: LocalStackHandle, body: bytes, content_type: str, **params: str) -> dict[str, Any]:
    response = stack.session().post(
        stack.url("/imports"), params=params, data=body, headers={"Content-Type": content_type}, timeout=60
    )
    assert response.status_code == 202, response.text
    return finished(stack, response.json()["data"]["job_id"])


def upload_file(stack: LocalStackHandle, name: str, body: bytes, list_id: str) -> dict[str, Any]:
    answer = (
        stack.session()
        .post(stack.url("/imports/uploads"), json={"file_name": name, "list_id": list_id}, timeout=60)
        .json()["data"]
    )
    upload = answer["upload"]
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": (name, body)}, timeout=60)
    assert sent.status_code in (200, 201, 204), sent.text
    return finished(stack, answer["job_id"])


def test_outlook_ansi_export_through_the_drop_folder(local_stack: LocalStackHandle) -> None:
    list_id = new_list("outlook")
    local_stack.client("s3").put_object(
        Bucket=local_stack.bucket,
        Key=f"drop/{local_stack.account_id}/{list_id}/Outlook Kontakte.CSV",
        Body=outlook_windows_1252(),
    )
    give_up_at = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    job = None
    while job is None and time.monotonic() < give_up_at:
        jobs = local_stack.session().get(local_stack.url("/imports"), params={"limit": 100}, timeout=30).json()
        job = next((j for j in jobs["data"] if j["list_id"] == list_id), None)
        time.sleep(0.3)
    assert job, local_stack.log_tail()
    assert finished(local_stack, job["job_id"])["counts"]["created"] == 2
    rene = contact(local_stack, list_id, "+16502530000")
    assert (rene["name"], rene["email"], rene["company"]) == ("René Müller", "rene@example.com", "Bäckerei “Süß”")


def test_google_export_as_a_multipart_upload(local_stack: LocalStackHandle) -> None:
    list_id = new_list("google")
    response = local_stack.session().post(
        local_stack.url("/imports"),
        files={"file": ("contacts.csv", google_contacts_utf8(), "text/csv")},
        data={"list_id": list_id},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    assert finished(local_stack, response.json()["data"]["job_id"])["counts"]["created"] == 1
    zoe = contact(local_stack, list_id, "+16502530000")
    assert (zoe["name"], zoe["email"]) == ("Zoë A. Quinn", "zoe@example.com")


def test_workbook_through_a_presigned_upload(local_stack: LocalStackHandle) -> None:
    list_id = new_list("xlsx")
    job = upload_file(local_stack, "Kontakte.xlsx", workbook_with_numbers(), list_id)
    assert (job["status"], job["counts"]["created"], job["counts"]["invalid"]) == ("completed", 2, 1)
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(5, "invalid_phone")]
    assert contact(local_stack, list_id, "+14155552671")["name"] == "Num Ber"


def test_gzip_utf16_and_semicolon_files_sent_directly(local_stack: LocalStackHandle) -> None:
    list_id = new_list("direct")
    job = post_file(local_stack, gzip.compress(google_contacts_utf8()), "application/gzip", list_id=list_id)
    assert job["counts"]["created"] == 1
    job = post_file(local_stack, excel_unicode_text(), "text/plain", list_id=list_id)
    assert contact(local_stack, list_id, "+442079460958")["name"] == "Zoë Ünal"
    job = post_file(local_stack, european_semicolons_windows_1252(), "text/csv", list_id=list_id, default_region="DE")
    assert contact(local_stack, list_id, "+4915123456789")["company"] == "Müller & Söhne"


def test_hostile_files_get_their_answers(local_stack: LocalStackHandle) -> None:
    session = local_stack.session()
    pdf = session.post(
        local_stack.url("/imports"),
        data=b"%PDF-1.7\n" + bytes(range(256)),
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )
    assert (pdf.status_code, pdf.json()["error"]["code"]) == (415, "unsupported_media_type")
    job = upload_file(local_stack, "archive.zip", b"PK\x03\x04" + bytes(300), new_list("zip"))
    assert (job["status"], job["failure"]["code"]) == ("failed", "not_csv")
    job = upload_file(
        local_stack, "broken.csv", b'phone,name\n+12127365000,"Never closed\n+16502530000,x\n', new_list("quote")
    )
    assert job["status"] == "completed"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(2, "unterminated_quote")]
