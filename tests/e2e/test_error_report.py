"""An error report larger than one Lambda answer, over HTTP: 303 to a presigned GET of the CSV."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.jobs import new_list, wait_for_end
from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e
ROWS = 160
WIDE = "x" * 30_000  # under the 32 KiB field limit; 160 such rows make a report of about 4.8 MB


def test_a_report_over_lambdas_answer_limit_is_fetched_from_its_presigned_url(local_stack: LocalStackHandle) -> None:
    session = local_stack.session()
    body = ("phone,notes\n" + "".join(f"12345,{WIDE}\n" for _ in range(ROWS))).encode()
    created = session.post(
        local_stack.url("/imports/uploads"), json={"file_name": "wide.csv", "list_id": new_list("wide")}, timeout=60
    )
    assert created.status_code == 201, created.text
    upload = created.json()["data"]["upload"]
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("wide.csv", body)}, timeout=120)
    assert sent.status_code in (200, 201, 204), sent.text
    job = wait_for_end(local_stack, created.json()["data"]["job_id"])
    assert job["counts"]["invalid"] == ROWS

    errors_url = local_stack.url(f"/imports/{job['job_id']}/errors")
    answer = session.get(errors_url, headers={"Accept": "text/csv"}, allow_redirects=False, timeout=120)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.json()["data"]["url"] == answer.headers["Location"]
    assert answer.json()["data"]["size_bytes"] > 4 * 1024 * 1024

    report = requests.get(answer.headers["Location"], timeout=120)  # no API key: the URL is the permission
    assert report.status_code == 200
    assert "attachment" in report.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8"))))
    assert rows[0] == ["phone", "notes", "row", "code", "message"]
    assert [row[2] for row in rows[1:]] == [str(n) for n in range(2, ROWS + 2)]
    assert all(row[1] == WIDE for row in rows[1:])

    followed = session.get(errors_url, headers={"Accept": "text/csv"}, timeout=120)  # as a client following it
    assert followed.status_code == 200 and followed.content == report.content

    cli = str(Path(sys.executable).parent / "contacts-import")
    environment = {**os.environ, "CONTACTS_API_URL": local_stack.api_url, "CONTACTS_API_KEY": local_stack.api_key}
    printed = subprocess.run([cli, "errors", job["job_id"], "--csv"], env=environment, capture_output=True, timeout=300)
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert printed.stdout == report.content
