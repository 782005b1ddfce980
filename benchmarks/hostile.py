"""Memory and time of the hostile files of `benchmarks/hostile_inputs.py`, each read in a process of its
own (peak resident memory above what the imports took, and seconds), by the single reader that a
direct request and `validate` use and by the planner that the processor runs.

Run: .venv/bin/python -m benchmarks.hostile [--timeout SECONDS]

Not part of `make test`: the tests assert generous bounds, never these figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.hostile_inputs import endless_line, endless_record, shared_strings_bomb, sparse_sheet

CASES: dict[str, Callable[[], bytes]] = {
    "xlsx shared-strings bomb (114 KB -> 50 MB)": shared_strings_bomb,
    "xlsx sparse sheet A1:XFD1048576 (4.7 KB)": sparse_sheet,
    "csv one 32 MiB line of commas": lambda: endless_line(32),
    "csv one 32 MiB record of quoted line breaks": lambda: endless_record(32),
}
READERS = ("single reader", "planner")

_CHILD = """
import io, json, sys, time

def peak_kb():
    # VmHWM belongs to this process image; ru_maxrss would carry over the parent's peak across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
from contacts_import.errors import ContactsImportError
from contacts_import.pipeline.containers import open_records
from contacts_import.pipeline.chunks import plan_chunks

class Discard:
    def write(self, data):
        return len(data)

data = open({path!r}, "rb").read()
base = peak_kb()
started = time.monotonic()
answer = "read"
try:
    if {reader!r} == "planner":
        plan = plan_chunks(io.BytesIO(data), has_header=True, stage=Discard)
        answer = f"{{len(plan.chunks)}} chunk(s)" + (f", failure {{plan.failure.code}}" if plan.failure else "")
    else:
        records = sum(1 for _ in open_records(io.BytesIO(data)).records())
        answer = f"{{records}} records"
except ContactsImportError as error:
    answer = f"refused: {{error.code}}"
elapsed = time.monotonic() - started
peak = peak_kb()
print(json.dumps({{"seconds": elapsed, "added_mb": (peak - base) / 1024, "answer": answer}}))
"""


def measure(path: str, reader: str, timeout: float) -> str:
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD.format(path=path, reader=reader)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"still running after {time.monotonic() - started:.0f} s (stopped)"
    if done.returncode:
        return f"crashed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return f"{result['seconds']:.2f} s, +{result['added_mb']:.0f} MB, {result['answer']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case is stopped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for number, (name, make) in enumerate(CASES.items()):
            path = Path(folder) / f"case-{number}"
            path.write_bytes(make())  # made here, so that making it is not measured
            for reader in READERS:
                print(f"{name:<46} {reader:<14} {measure(str(path), reader, args.timeout)}", flush=True)


if __name__ == "__main__":
    main()
