"""The CSV error report: inline while it fits in one Lambda answer, else stored under the account's
results/ prefix and answered 303 with a short-lived presigned GET."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, unquote, urlsplit

from contacts_import.service import reports
from tests.integration.api_calls import import_and_finish
from tests.sample_events import api_event, body_of

BAD_ROWS = b"phone,name\n" + b"".join(b'12345,"=Name %d, with ""quotes"""\n' % n for n in range(300))


def csv_report(stack, job_id: str, account_id: str = "local"):
    event = api_event(
        "api_get_import_errors.json",
        path_parameters={"job_id": job_id},
        headers={"Accept": "text/csv"},
        account_id=account_id,
    )
    return stack.invoke("ImportStatusFunction", event)


def test_a_report_over_the_inline_limit_is_a_303_to_a_presigned_get_of_the_same_csv(stack, monkeypatch):
    job = import_and_finish(stack, BAD_ROWS, list_id="big-report")
    inline = csv_report(stack, job["job_id"])
    assert inline["statusCode"] == 200
    expected = inline["body"]
    assert len(list(csv.reader(io.StringIO(expected)))) == 301

    monkeypatch.setattr(reports, "MAX_INLINE_REPORT_BYTES", 2000)  # a few rows' worth
    redirected = csv_report(stack, job["job_id"])
    assert redirected["statusCode"] == 303, redirected["body"]
    location = redirected["multiValueHeaders"]["Location"][0]
    link = body_of(redirected)["data"]
    assert link["url"] == location and link["size_bytes"] == len(expected.encode())
    assert link["expires_at"].endswith("Z")

    url = urlsplit(location)
    path = unquote(url.path).lstrip("/")
    key = path if url.netloc.startswith(stack.bucket) else path.split("/", 1)[1]  # virtual-hosted or path style
    query = parse_qs(url.query)
    assert key == f"results/local/_reports/{job['job_id']}-errors.csv"
    assert int(query["X-Amz-Expires"][0]) == reports.REPORT_URL_SECONDS <= 300
    assert "attachment" in query["response-content-disposition"][0]
    stored = stack.s3().get_object(Bucket=stack.bucket, Key=key)
    assert stored["Body"].read().decode() == expected  # the same report, every row, spreadsheet-safe
    assert stored["ContentType"].startswith("text/csv")


def test_another_account_gets_404_not_a_report(stack, monkeypatch):
    job = import_and_finish(stack, BAD_ROWS, list_id="big-report-2")
    monkeypatch.setattr(reports, "MAX_INLINE_REPORT_BYTES", 2000)
    assert csv_report(stack, job["job_id"], account_id="someone-else")["statusCode"] == 404
