"""A big file through the local stack by `contacts-import upload`: single-part against multipart
throughput, then an upload in parts killed part-way, resumed, and imported with `validate`'s counts.

    .venv/bin/python -m benchmarks.multipart_upload [--mb 300] [--parallel 4]   (make bench-multipart MB=300)

The file is valid and invalid numbers with a long notes column (about 1 KB a row), so that its
megabytes are many while its rows stay few enough to import on one machine. The throughput runs
cancel their jobs once the file is in: only the upload is timed. The stack's S3 is moto, in the
same process as everything else, so its figures say how the client and the stack behave on this
machine, not what S3 takes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT)]

from benchmarks.stack import local_stack  # noqa: E402

MB = 1_000_000
CLI = str(BIN / "contacts-import")


def write_contacts(path: Path, size: int) -> None:
    notes = "n" * 900
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,name,notes\n")
        row = 0
        while out.tell() < size:
            exchange = 200 + (row // 10_000) % 800  # NANP exchanges start at 2 (some, as 911, are refused)
            phone = f"+1212{exchange:03d}{row % 10_000:04d}" if row % 50 else "not a phone"
            out.write(f"{phone},Person {row},{notes}\n")
            row += 1


def timed_upload(env: dict[str, str], path: Path, api: str, *flags: str) -> float:
    """Seconds for `contacts-import upload` to send the file; its job is cancelled after."""
    started = time.perf_counter()
    sent = subprocess.run([CLI, "upload", str(path), "--json", *flags], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if sent.returncode != 0:
        raise SystemExit(sent.stderr[-2000:])
    job_id = json.loads(sent.stdout)["job_id"]
    requests.post(f"{api}/imports/{job_id}/cancel", headers={"Authorization": "Bearer local-dev-key"}, timeout=60)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    (ROOT / "bench-data").mkdir(exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        local_stack(ROOT / "bench-data" / "multipart-local-stack.log") as stack,
    ):
        path = Path(scratch) / "big.csv"
        write_contacts(path, args.mb * MB)
        size = path.stat().st_size
        env = {**os.environ, "CONTACTS_API_URL": stack.api, "XDG_CACHE_HOME": str(Path(scratch) / "cache")}
        single = timed_upload({**env, "CONTACTS_MULTIPART_THRESHOLD": str(10**12)}, path, stack.api)
        parts = timed_upload(
            {**env, "CONTACTS_MULTIPART_THRESHOLD": "1"}, path, stack.api, "--parallel", str(args.parallel)
        )
        print(f"file: {size / MB:,.0f} MB")
        print(f"single-part presigned POST: {single:,.1f} s, {size / MB / single:,.1f} MB/s")
        print(f"multipart, {args.parallel} parts at once: {parts:,.1f} s, {size / MB / parts:,.1f} MB/s")

        # Killed a third of the way through (by the bytes S3 holds), resumed, imported.
        records = Path(scratch) / "cache" / "contacts-import" / "uploads"
        first = subprocess.Popen(
            [CLI, "upload", str(path), "--parallel", str(args.parallel), "--list", "bench-resume"],
            env={**env, "CONTACTS_MULTIPART_THRESHOLD": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        session = requests.Session()
        session.headers["Authorization"] = "Bearer local-dev-key"
        held_bytes = 0
        while first.poll() is None:
            found = sorted(records.glob("imp_*.json")) if records.exists() else []
            if found:
                state = session.get(f"{stack.api}/imports/{found[0].stem}/upload", timeout=60)
                if state.ok:
                    held_bytes = sum(p.get("size", 0) for p in state.json()["data"]["parts"])
                    if held_bytes >= size / 3:
                        first.send_signal(signal.SIGKILL)
                        break
            time.sleep(0.1)
        first.wait()
        print(f"killed with {held_bytes / MB:,.0f} MB of {size / MB:,.0f} MB in S3 (exit {first.returncode})")
        started = time.perf_counter()
        resumed = subprocess.run(
            [CLI, "upload", str(path), "--resume", "--wait", "--json", "--parallel", str(args.parallel)],
            env=env,
            capture_output=True,
            text=True,
        )
        if resumed.returncode != 0:
            raise SystemExit(resumed.stderr[-2000:])
        job = json.loads(resumed.stdout)
        print(f"resumed and imported in {time.perf_counter() - started:,.1f} s: {job['status']}, {job['counts']}")
        report = json.loads(
            subprocess.run([CLI, "validate", str(path), "--json"], capture_output=True, text=True, check=True).stdout
        )
        same = report["counts"] == job["counts"] and report["error_count"] == job["error_count"]
        print(f"validate's counts {'equal' if same else 'DIFFER FROM'} the job's: {report['counts']}")
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
