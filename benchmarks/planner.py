"""The processor's planning pass on a big generated file: MB/s, and whether 5 GiB fits its timeout.

The processor (ProcessImportFunction) reads an upload once, quote-aware, to cut it into chunks
(``pipeline.chunks.plan_chunks``); nothing else it does grows with the file. This runs that very
function over a file of ``--mb`` MB made by ``benchmarks.generate`` (the ``crm`` corpus: quoted
line breaks, non-ASCII names), read from local disk, so what it measures is the CPU of the pass;
in Lambda the file comes from S3 by ranged GETs, which one stream reads at well over this speed.

    .venv/bin/python -m benchmarks.planner [--mb 512]     (make bench-planner)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.generate import write_file
from contacts_import.pipeline.chunks import DEFAULT_CHUNK_BYTES, plan_chunks
from contacts_import.settings import FIVE_GIB

PROCESSOR_TIMEOUT_SECONDS = 900  # template.yaml, ProcessImportFunction
MB = 1_000_000


def grow(path: Path, seed_file: Path, size: int) -> None:
    """``path`` as ``seed_file``'s rows repeated (header once) to ``size`` bytes: a big file fast."""
    header, _, body = seed_file.read_bytes().partition(b"\n")
    with path.open("wb") as out:
        out.write(header + b"\n")
        while out.tell() < size:
            out.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=512, help="size of the generated file in MB (default 512)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        seed = write_file(Path(scratch) / "seed.csv", 100_000)
        path = Path(scratch) / "big.csv"
        grow(path, seed, args.mb * MB)
        size = path.stat().st_size
        with path.open("rb") as stream:
            started_cpu, started = time.process_time(), time.perf_counter()
            plan = plan_chunks(stream, has_header=True, chunk_bytes=DEFAULT_CHUNK_BYTES, max_bytes=FIVE_GIB)
            cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    print(f"file: {size / MB:,.0f} MB, {len(plan.chunks):,} chunks of about {DEFAULT_CHUNK_BYTES // 2**20} MiB")
    # Wall time on a shared machine includes other processes' turns; CPU time is the pass's own
    # (ProcessImportFunction's 1769 MB is one full vCPU).
    for name, seconds in (("wall", wall), ("CPU", cpu)):
        rate = size / MB / seconds
        five_gib = FIVE_GIB / MB / rate
        verdict = "fits" if five_gib < PROCESSOR_TIMEOUT_SECONDS else "does NOT fit"
        print(
            f"{name}: {seconds:,.1f} s, {rate:,.1f} MB/s; 5 GiB in {five_gib:,.0f} s of the processor's "
            f"{PROCESSOR_TIMEOUT_SECONDS} s ({verdict}, {PROCESSOR_TIMEOUT_SECONDS / five_gib:,.1f}x margin)"
        )


if __name__ == "__main__":
    main()
