"""`upload`, `status` and `errors` against a fake API on 127.0.0.1 that answers in the shapes of docs/api.md
and records what it was sent (headers, JSON bodies, the multipart form in order)."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from contacts_import_cli import upload as upload_module
from contacts_import_cli.main import main

API_KEY = "cik_test-key"
JOB_ID = "imp_01jc0000000000000000000000"
KEEP_BODY_BYTES = 2 * 1024 * 1024  # larger bodies are hashed as they arrive, not kept
EDGE_BYTES = 4096


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes  # whole when at most KEEP_BODY_BYTES
    body_length: int
    body_sha256: str
    body_head: bytes  # the first and last bytes of any body, large or not
    body_tail: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: Any = None  # dict/list -> JSON; str/bytes as they are
    headers: dict[str, str] = field(default_factory=dict)


class FakeApi:
    """Answers scripted per (method, path): each request takes the next answer; the last repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                fake._handle(self)

            do_POST = do_PUT = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, path)] = list(answers)

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        kept, tail, length, digest = bytearray(), b"", 0, hashlib.sha256()
        # A large body is only hashed (and its edges kept): the fake must not weigh on the
        # memory a test measures.
        keep = KEEP_BODY_BYTES if int(headers.get("content-length", 0)) <= KEEP_BODY_BYTES else EDGE_BYTES
        for chunk in _body_chunks(handler, headers):
            length += len(chunk)
            digest.update(chunk)
            if len(kept) < keep:
                kept += chunk[: keep - len(kept)]
            tail = (tail + chunk)[-EDGE_BYTES:]
        seen = Seen(
            handler.command,
            parts.path,
            parse_qs(parts.query),
            headers,
            bytes(kept) if length <= KEEP_BODY_BYTES else b"",
            length,
            digest.hexdigest(),
            bytes(kept[:EDGE_BYTES]),
            tail,
        )
        with self._lock:
            self.seen.append(seen)
            answers = self.routes.get((handler.command, parts.path))
            answer = (answers.pop(0) if len(answers) > 1 else answers[0]) if answers else Answer(404, _not_found())
        body = answer.body
        content_type = answer.headers.get("Content-Type", "application/json")
        payload = (
            json.dumps(body).encode()
            if isinstance(body, dict | list)
            else (body.encode() if isinstance(body, str) else (body or b""))
        )
        handler.send_response(answer.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-Request-ID", "req-123")
        for name, value in answer.headers.items():
            if name != "Content-Type":
                handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _body_chunks(handler: BaseHTTPRequestHandler, headers: dict[str, str]) -> Iterator[bytes]:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return
            yield handler.rfile.read(size)
            handler.rfile.readline()
    remaining = int(headers.get("content-length", 0))
    while remaining:
        chunk = handler.rfile.read(min(remaining, 64 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


def _not_found() -> dict[str, Any]:
    return {"error": {"code": "not_found", "message": "No such route.", "details": None}, "meta": META}


META = {"request_id": "req-123", "ts": "2026-11-21T00:00:00.000Z"}


def envelope(data: Any) -> dict[str, Any]:
    return {"data": data, "meta": META}


def error_envelope(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": None}, "meta": META}


def status_document(status: str, *, progress: float = 0.0, processed: int = 0, **extra: Any) -> dict[str, Any]:
    counts = {
        "total_rows": 0,
        "processed_rows": processed,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped_existing": 0,
        "skipped_duplicates": 0,
        "invalid": 0,
        "deleted": 0,
    }
    counts.update(extra.pop("counts", {}))
    document = {
        "job_id": JOB_ID,
        "status": status,
        "source": "upload",
        "list_id": "default",
        "file_name": "contacts.csv",
        "dry_run": False,
        "counts": counts,
        "progress": progress,
        "errors": [],
        "error_count": 0,
        "errors_url": f"/imports/{JOB_ID}/errors",
        "failure": None,
        "total_contacts": None,
        "created_at": "2026-11-21T00:00:00.000Z",
        "started_at": None,
        "completed_at": None,
    }
    document.update(extra)
    return document


COMPLETED = status_document(
    "completed",
    progress=1.0,
    processed=4,
    counts={"total_rows": 4, "created": 2, "skipped_duplicates": 1, "invalid": 1},
    errors=[{"row": 3, "code": "invalid_phone", "message": "'12' is not a phone", "column": "phone", "value": "12"}],
    error_count=1,
    total_contacts=2,
    completed_at="2026-11-21T00:00:05.000Z",
)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    with FakeApi() as fake:
        monkeypatch.setenv("CONTACTS_API_URL", fake.url)
        monkeypatch.setenv("CONTACTS_API_KEY", API_KEY)
        monkeypatch.setattr(upload_module, "POLL_SECONDS", 0.0)
        yield fake


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"name,phone\r\nAnn,+14155552671\r\nBob,12\r\nAnn,+14155552671\r\nCy,+14155552672\r\n")
    return path


def presigned_post(api: FakeApi, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "job_id": JOB_ID,
        "status": "awaiting_upload",
        "status_url": f"/imports/{JOB_ID}",
        "upload": {
            "method": "POST",
            "url": f"{api.url}/bucket",
            "headers": {},
            "fields": fields
            or {
                "key": f"uploads/local/{JOB_ID}/contacts.csv",
                "policy": "eyJjb25kaXRpb25zIjpbXX0=",
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "x-amz-signature": "abc123",
            },
            "expires_at": "2026-11-21T00:15:00Z",
            "max_bytes": 1073741824,
        },
    }


def multipart_parts(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, content) of each part, in the order sent."""
    boundary = content_type.split("boundary=", 1)[1].encode()
    delimiter = b"--" + boundary
    assert body.startswith(delimiter + b"\r\n") and body.endswith(b"\r\n" + delimiter + b"--\r\n")
    parts = []
    for chunk in body.split(delimiter)[1:-1]:
        head, _, content = chunk[2:].partition(b"\r\n\r\n")
        assert content.endswith(b"\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        assert name
        parts.append((name.group(1).decode(), filename.group(1).decode() if filename else None, content[:-2]))
    return parts


# ------------------------------------------------------------------------------------- upload


def test_upload_wait_sends_options_then_the_form_then_polls_to_the_end(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))
    api.on(
        "GET",
        f"/imports/{JOB_ID}",
        Answer(200, envelope(status_document("queued"))),
        Answer(200, envelope(status_document("processing", progress=0.5, processed=2))),
        Answer(200, envelope(COMPLETED)),
    )

    code = main(
        [
            "upload",
            str(csv_file),
            "--list",
            "vip",
            "--update",
            "--region",
            "GB",
            "--mapping",
            '{"Mobile": "phone"}',
            "--tags",
            "a, b",
            "--possible",
            "--dry-run",
            "--wait",
        ]
    )

    out = capsys.readouterr().out
    assert code == 0
    (create,) = api.requests("POST", "/imports/uploads")
    assert create.headers["authorization"] == f"Bearer {API_KEY}"
    assert create.headers["content-type"] == "application/json"
    assert create.json() == {
        "file_name": "contacts.csv",
        "list_id": "vip",
        "on_existing": "update",
        "default_region": "GB",
        "mapping": {"Mobile": "phone"},
        "tags": ["a", "b"],
        "phone_validation": "possible",
        "dry_run": True,
    }
    (sent,) = api.requests("POST", "/bucket")
    assert "authorization" not in sent.headers  # the presigned form is the grant; S3 refuses two
    assert "transfer-encoding" not in sent.headers  # S3 wants a Content-Length
    assert int(sent.headers["content-length"]) == sent.body_length
    parts = multipart_parts(sent.headers["content-type"], sent.body)
    assert [name for name, _, _ in parts] == ["key", "policy", "x-amz-algorithm", "x-amz-signature", "file"]
    assert parts[0][2] == f"uploads/local/{JOB_ID}/contacts.csv".encode()
    assert parts[-1][1] == "contacts.csv"
    assert parts[-1][2] == csv_file.read_bytes()
    polls = api.requests("GET", f"/imports/{JOB_ID}")
    assert len(polls) == 3
    assert all(p.headers["authorization"] == f"Bearer {API_KEY}" for p in polls)
    # The summary: status, counts, the list's size, the first errors.
    assert "completed" in out and "skipped_duplicates" in out and "invalid_phone" in out
    assert "total contacts" in out


def test_upload_without_wait_prints_the_job(api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))

    code = main(["upload", str(csv_file), "--json"])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "job_id": JOB_ID,
        "status_url": f"/imports/{JOB_ID}",
        "file_name": "contacts.csv",
    }
    (create,) = api.requests("POST", "/imports/uploads")
    assert create.json() == {"file_name": "contacts.csv"}  # the API's defaults for everything unsaid
    assert api.requests("GET", f"/imports/{JOB_ID}") == []


def test_upload_by_put_sends_the_headers_and_the_raw_file(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = presigned_post(api)
    answer["upload"] |= {"method": "PUT", "url": f"{api.url}/bucket/key", "headers": {"Content-Type": "text/csv"}}
    api.on("POST", "/imports/uploads", Answer(201, envelope(answer)))
    api.on("PUT", "/bucket/key", Answer(200))

    assert main(["upload", str(csv_file)]) == 0

    (sent,) = api.requests("PUT", "/bucket/key")
    assert sent.body == csv_file.read_bytes()
    assert sent.headers["content-type"] == "text/csv"
    assert "authorization" not in sent.headers
    assert JOB_ID in capsys.readouterr().out


def test_upload_wait_json_prints_the_final_document_and_a_failed_job_exits_1(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = status_document(
        "failed", failure={"code": "missing_required_column", "message": "No phone column found and none mapped."}
    )
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))
    api.on("GET", f"/imports/{JOB_ID}", Answer(200, envelope(failed)))

    code = main(["upload", str(csv_file), "--wait", "--json"])

    assert code == 1
    assert json.loads(capsys.readouterr().out) == failed


def test_a_failed_job_summary_names_the_failure(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = status_document("failed", failure={"code": "not_csv", "message": "The file is a PDF document."})
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))
    api.on("GET", f"/imports/{JOB_ID}", Answer(200, envelope(failed)))

    assert main(["upload", str(csv_file), "--wait"]) == 1
    out = capsys.readouterr().out
    assert "not_csv" in out and "The file is a PDF document." in out


def test_polling_rides_over_a_busy_api(api: FakeApi, csv_file: Path) -> None:
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))
    api.on(
        "GET",
        f"/imports/{JOB_ID}",
        Answer(429, error_envelope("rate_limited", "Slow down.")),
        Answer(503, {"message": "Service Unavailable"}),
        Answer(200, envelope(COMPLETED)),
    )

    assert main(["upload", str(csv_file), "--wait", "--json"]) == 0
    assert len(api.requests("GET", f"/imports/{JOB_ID}")) == 3


def test_wait_timeout_exits_4_and_the_job_goes_on(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))
    api.on("GET", f"/imports/{JOB_ID}", Answer(200, envelope(status_document("processing", progress=0.1))))

    assert main(["upload", str(csv_file), "--wait", "--timeout", "0"]) == 4
    assert f"contacts-import status {JOB_ID}" in capsys.readouterr().err


def test_an_api_error_prints_its_code_and_message(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "Invalid options: mapping: column 'x' maps to unknown field 'shoe_size'"
    api.on("POST", "/imports/uploads", Answer(400, error_envelope("validation_error", message)))

    code = main(["upload", str(csv_file), "--mapping", '{"x": "shoe_size"}'])

    err = capsys.readouterr().err
    assert code == 2  # the API refused what was sent: the same exit as a refused `validate`
    assert "validation_error" in err and message in err and "req-123" in err
    assert api.requests("POST", "/bucket") == []


def test_an_unknown_key_exits_3(api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("POST", "/imports/uploads", Answer(401, {"message": "Unauthorized"}))  # API Gateway's own answer

    assert main(["upload", str(csv_file)]) == 3
    assert "unauthorized: Unauthorized" in capsys.readouterr().err


def test_a_refused_upload_prints_the_storage_error(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
        "<Message>Invalid according to Policy: Policy expired.</Message></Error>"
    )
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(403, xml, {"Content-Type": "application/xml"}))

    assert main(["upload", str(csv_file), "--wait"]) == 3
    err = capsys.readouterr().err
    assert "upload_AccessDenied" in err and "Policy expired" in err


def test_no_api_running_says_so(
    monkeypatch: pytest.MonkeyPatch, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CONTACTS_API_URL", f"http://127.0.0.1:{port}")

    assert main(["status", JOB_ID]) == 3
    assert f"no API at http://127.0.0.1:{port}: is `make local` running?" in capsys.readouterr().err


def test_a_missing_file_is_refused_before_any_request(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upload", str(tmp_path / "nope.csv")]) == 2
    assert api.seen == []


def test_upload_streams_the_file_instead_of_holding_it(api: FakeApi, tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    line = b"Someone,+14155552671,someone@example.com,a note to make the line longer\r\n"
    with path.open("wb") as out:
        out.write(b"name,phone,email,note\r\n")
        for _ in range(24 * 1024 * 1024 // len(line)):
            out.write(line)
    size = path.stat().st_size
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))

    tracemalloc.start()
    try:
        assert main(["upload", str(path), "--json"]) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    (sent,) = api.requests("POST", "/bucket")
    # The body is the framing around the whole file: its digest is that of head + file + tail.
    file_starts = sent.body_head.index(b"\r\n\r\n", sent.body_head.index(b'name="file"')) + 4
    framing_before = sent.body_head[:file_starts]
    framing_after = sent.body_length - size - len(framing_before)
    assert 0 < framing_after < 100
    expected = hashlib.sha256(framing_before + path.read_bytes() + sent.body_tail[-framing_after:])
    assert sent.body_sha256 == expected.hexdigest()
    assert sent.body_tail.endswith(b"--\r\n")
    assert peak < size / 4, f"peak {peak:,} bytes of Python allocations to send a {size:,}-byte file"


# --------------------------------------------------------------------------- status and errors


def test_status_json_prints_the_document(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", f"/imports/{JOB_ID}", Answer(200, envelope(COMPLETED)))

    assert main(["status", JOB_ID, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == COMPLETED
    (request,) = api.requests("GET", f"/imports/{JOB_ID}")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_status_of_another_accounts_job_is_not_found(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "imp_someone_elses"]) == 3
    assert "not_found" in capsys.readouterr().err


def test_status_table(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", f"/imports/{JOB_ID}", Answer(200, envelope(COMPLETED)))

    assert main(["status", JOB_ID]) == 0
    out = capsys.readouterr().out
    assert JOB_ID in out and "completed" in out and "created" in out and "'12' is not a phone" in out


def _error(row: int) -> dict[str, Any]:
    return {"row": row, "code": "invalid_phone", "message": f"bad phone in row {row}", "column": "phone", "value": "1"}


def test_errors_follows_the_cursor_to_the_end(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    path = f"/imports/{JOB_ID}/errors"
    api.on(
        "GET",
        path,
        Answer(200, {"data": [_error(2), _error(3)], "pagination": {"next_cursor": "c2", "limit": 1000}, "meta": META}),
        Answer(200, {"data": [_error(5)], "pagination": {"next_cursor": None, "limit": 1000}, "meta": META}),
    )

    assert main(["errors", JOB_ID, "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == [_error(2), _error(3), _error(5)]
    first, second = api.requests("GET", path)
    assert first.query == {"limit": ["1000"]}
    assert second.query == {"limit": ["1000"], "cursor": ["c2"]}
    assert first.headers["accept"] == "application/json"


def test_errors_table_and_no_errors(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    path = f"/imports/{JOB_ID}/errors"
    api.on(
        "GET",
        path,
        Answer(200, {"data": [_error(2)], "pagination": {"next_cursor": None, "limit": 1000}, "meta": META}),
    )
    assert main(["errors", JOB_ID]) == 0
    assert "bad phone in row 2" in capsys.readouterr().out

    api.on("GET", path, Answer(200, {"data": [], "pagination": {"next_cursor": None, "limit": 1000}, "meta": META}))
    assert main(["errors", JOB_ID, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_errors_csv_asks_for_csv_and_writes_it_as_it_is(
    api: FakeApi, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    report = (
        'name,phone,row,code,message\r\nBob,\'+1 2,3,invalid_phone,"bad, phone"\r\nRen\u00e9,x,4,invalid_phone,m\r\n'
    )
    api.on(
        "GET",
        f"/imports/{JOB_ID}/errors",
        Answer(200, report.encode("utf-8"), {"Content-Type": "text/csv; charset=utf-8"}),
    )

    assert main(["errors", JOB_ID, "--csv"]) == 0

    assert capsysbinary.readouterr().out == report.encode("utf-8")
    (request,) = api.requests("GET", f"/imports/{JOB_ID}/errors")
    assert request.headers["accept"] == "text/csv"


PLAN = [
    {"row": 2, "phone": "+12127365000", "outcome": "updated", "changes": {"name": {"from": "Jane", "to": "Jane B"}}},
    {"row": 3, "phone": "+16502530000", "outcome": "unchanged", "changes": None, "code": None},
    {"row": 4, "phone": None, "outcome": "invalid", "changes": None, "code": "invalid_phone"},
]


def test_preview_runs_a_dry_run_and_prints_its_counts_and_changes(
    api: FakeApi, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", "/imports/uploads", Answer(201, envelope(presigned_post(api))))
    api.on("POST", "/bucket", Answer(204))
    api.on("GET", f"/imports/{JOB_ID}", Answer(200, envelope(COMPLETED)))
    page = {"data": PLAN, "pagination": {"next_cursor": None, "limit": 100}, "meta": META}
    api.on("GET", f"/imports/{JOB_ID}/plan", Answer(200, page))

    code = main(["preview", str(csv_file), "--list", "vip", "--update", "--on-blank", "clear"])

    out = capsys.readouterr().out
    assert code == 0
    (create,) = api.requests("POST", "/imports/uploads")
    assert create.json() == {
        "file_name": "contacts.csv",
        "list_id": "vip",
        "dry_run": True,
        "on_existing": "update",
        "on_blank": "clear",
    }
    assert "Jane B" in out and "invalid_phone" in out and "+16502530000" not in out  # unchanged: counted only

    code = main(["preview", str(csv_file), "--list", "vip", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["plan"] == PLAN and document["job_id"] == JOB_ID
