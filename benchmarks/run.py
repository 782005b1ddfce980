"""`make bench`: one table of the figures the README reports, measured side by side in one run, written
to docs/performance.md with the machine it came from.

- offline validation (`contacts-import validate`) against the naive importer, on the same
  200,000-row generated file, with the same set of valid rows, for each corpus of
  `benchmarks.generate` (the CRM export, and the international one whose e-mail local parts take
  the slow path);
- end to end through the local stack against the local DynamoDB endpoint's batch-write speed;
- peak resident memory of `validate` on 100,000 and 1,000,000 rows;
- cold start: each function module's import time against `import boto3`;
- size: the layer plus each function, unzipped.

Run: make bench (about five minutes on a 2-core machine; `BENCH_QUICK=1` for a smaller run).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench-data"
BIN = Path(sys.executable).parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
sys.path[:0] = [str(ROOT)]

from benchmarks.generate import write_file  # noqa: E402
from benchmarks.naive import naive_import  # noqa: E402
from benchmarks.stack import batch_write_yardstick, local_stack  # noqa: E402


def rows_file(rows: int, corpus: str = "crm") -> Path:
    name = "contacts" if corpus == "crm" else corpus
    return write_file(DATA / f"{name}-{rows // 1000}k.csv", rows, corpus=corpus)


def run_child(command: list[str], **kwargs: object) -> tuple[float, int, str]:
    """(wall seconds, peak resident KiB of the child and its own children, stdout)."""
    wrapper = (
        "import resource, subprocess, sys, json, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stderr.write(p.stderr)\n"
        "print(json.dumps({'wall': wall, 'peak_kib': peak, 'rc': p.returncode, 'out': p.stdout}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True, **kwargs
    )
    report = json.loads(done.stdout)
    if report["rc"] not in (0, 1):
        raise RuntimeError(f"{command[0]} failed: {done.stderr[-500:]}")
    return report["wall"], report["peak_kib"], report["out"]


def validate_vs_naive(path: Path, rows: int) -> dict[str, object]:
    """`contacts-import validate` as a user runs it (a fresh process, default workers), and in one
    process, against the naive importer in this process, on the same file; the naive run sits
    between ours so that a machine getting busier or quieter weighs on both sides."""
    cli = str(BIN / "contacts-import")
    wall, _, out = run_child([cli, "validate", str(path), "--json"])
    started = time.perf_counter()
    naive_valid, naive_invalid, _ = naive_import(path)
    naive_wall = time.perf_counter() - started
    one_wall, _, one_out = run_child([cli, "validate", str(path), "--json", "--workers", "1"])
    ours = json.loads(out)["counts"]
    ours_valid = ours["created"] + ours["skipped_duplicates"]
    return {
        "rows": rows,
        "ours_rows_per_s": rows / wall,
        "one_process_rows_per_s": rows / one_wall,
        "naive_rows_per_s": rows / naive_wall,
        "ratio": naive_wall / wall,
        "one_process_ratio": naive_wall / one_wall,
        "same_valid_rows": ours_valid == naive_valid
        and ours["invalid"] == naive_invalid
        and json.loads(one_out)["counts"] == ours,
        "valid_rows": ours_valid,
        "naive_valid_rows": naive_valid,
    }


def validate_memory(path: Path) -> dict[str, object]:
    cli = str(BIN / "contacts-import")
    _, peak_default, _ = run_child([cli, "validate", str(path), "--json"])
    _, peak_one, _ = run_child([cli, "validate", str(path), "--json", "--workers", "1"])
    return {
        "size_mb": path.stat().st_size / 1e6,
        "peak_mb_default": peak_default / 1024,
        "peak_mb_one_process": peak_one / 1024,
    }


def cold_starts(runs: int = 7) -> dict[str, float]:
    """Import time (CPU seconds, median of fresh interpreters) of each function's module and of
    boto3 alone. CPU time, not wall time, so that a busy machine does not blur the comparison; the
    runs of every module are interleaved for the same reason."""
    sys.path.insert(0, str(ROOT / "local"))
    from local_stack.template import load_template

    template = load_template(ROOT / "template.yaml")
    probe = "import sys, time\nt = time.process_time()\nexec(sys.argv[1])\nprint(time.process_time() - t)\n"
    # With bytecode, as `make build` ships every module: a first round writes it to a private cache
    # (this machine may forbid writing it next to the sources) and is not counted.
    cache = tempfile.mkdtemp(prefix="bench-pycache-")
    base_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPYCACHEPREFIX": cache,
    }
    subjects: dict[str, tuple[str, dict[str, str], Path]] = {"import boto3": ("import boto3", base_env, ROOT)}
    for function in template.functions.values():
        env = {**base_env, **function.environment, "PYTHONPATH": f"{function.code_dir}:{ROOT / 'shared'}"}
        subjects[function.logical_id] = (f"import {function.handler_module}", env, function.code_dir)
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    try:
        for round_ in range(runs + 1):
            for name, (statement, env, cwd) in subjects.items():
                out = subprocess.run(
                    [sys.executable, "-c", probe, statement],
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=cwd,
                    check=True,
                )
                if round_:
                    samples[name].append(float(out.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {name: statistics.median(values) for name, values in samples.items()}


def sizes() -> dict[str, float]:
    """The layer as SAM builds it (pip install of shared/requirements.txt plus the package), unzipped, in MB."""
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-compile",
                "--target",
                target,
                "-r",
                str(ROOT / "shared" / "requirements.txt"),
                "-c",
                str(ROOT / "constraints.txt"),
            ],
            check=True,
            capture_output=True,
        )
        shutil.copytree(
            ROOT / "shared" / "contacts_import",
            Path(target) / "contacts_import",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        layer = _compiled_megabytes(Path(target))
    result = {"layer": layer}
    for function_dir in sorted((ROOT / "functions").iterdir()):
        with tempfile.TemporaryDirectory() as target:
            shutil.copytree(function_dir, Path(target) / "f", ignore=shutil.ignore_patterns("__pycache__"))
            result[function_dir.name] = _compiled_megabytes(Path(target) / "f")
    return result


def _compiled_megabytes(path: Path) -> float:
    """Size in MB with bytecode, as `make build` ships it (compileall, as the Makefile runs it)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(path)],
        check=True,
        capture_output=True,
    )
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def end_to_end(path: Path, rows: int) -> dict[str, object]:
    """A presigned upload through the local stack, against batch writes to the same DynamoDB Local."""
    with local_stack(DATA / "bench-local-stack.log", "--no-throttle") as stack:
        env = {**os.environ, "CONTACTS_API_URL": stack.api, "CONTACTS_API_KEY": "local-dev-key"}
        started = time.perf_counter()
        out = subprocess.run(
            [str(BIN / "contacts-import"), "upload", str(path), "--list", "bench", "--wait", "--json", "--possible"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
        job = json.loads(out.stdout)
        yardstick = batch_write_yardstick(stack)
    return {
        "rows": rows,
        "status": job.get("status"),
        "created": job.get("counts", {}).get("created"),
        "e2e_rows_per_s": rows / wall,
        "batch_write_items_per_s": yardstick.items_per_s,
        "batch_write_clients": yardstick.best_clients,
        "ratio": (rows / wall) / yardstick.items_per_s,
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )


HOW_TO_READ = """## How these figures are taken

- **validate**: wall time of `contacts-import validate FILE --json` in a fresh process (start-up
  included), first with its default workers (a process per core for a file over 4 MiB: reading and
  outcomes in the main process, normalizing in the others), then in one process; the naive importer
  (`benchmarks/naive.py`: csv.DictReader and a pydantic model per row with EmailStr and a
  phonenumbers validator) runs in between, on the same generated file. "Same valid rows" compares
  the valid and invalid row counts of the two, and the counts of our two runs.
- **end to end**: the local stack started with its defaults, the file sent by a presigned upload and
  timed until its job has completed; then contact-shaped items batch-written to the same DynamoDB
  Local by 1, 2, 4 and 8 client processes, the best of which is the yardstick (its client count is
  shown).
- **memory**: peak resident set of the validator's processes (`ru_maxrss` of the children), the
  largest one process, not their sum.
- **cold start**: CPU time of `import app` for each function in a fresh interpreter (handler module,
  template environment, the layer on the path), median of seven rounds interleaved with `import
  boto3` alone, with bytecode compiled as `make build` ships it. CPU time, so a busy machine blurs
  it less; it still moves by about 0.1x between runs.
- **size**: the layer as SAM builds it (pip install of `shared/requirements.txt` and the package),
  with bytecode, plus the largest function directory, unzipped.

The machine matters: on a 2-core machine shared with other work, the validator's workers lose
their cores first; compare the one-process row, whose ratio moves least with load.
"""


def main() -> None:
    started = time.perf_counter()
    print("generating files ...", flush=True)
    small, medium, large = (20_000, 50_000, 100_000) if QUICK else (100_000, 200_000, 1_000_000)
    files = {rows: rows_file(rows) for rows in (small, medium, large)}
    print("validate vs naive ...", flush=True)
    speed = validate_vs_naive(files[medium], medium)
    international = validate_vs_naive(rows_file(medium, "international"), medium)
    print("memory ...", flush=True)
    memory = {rows: validate_memory(files[rows]) for rows in (small, large)}
    print("cold starts ...", flush=True)
    cold = cold_starts()
    print("sizes ...", flush=True)
    size = sizes()
    print("end to end through the local stack ...", flush=True)
    e2e = end_to_end(files[small], small)

    lines = [
        "# Performance",
        "",
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {machine()}.",
        "Regenerate with `make bench` (this file is rewritten).",
        "",
        "| measure | ours | yardstick | ratio / target |",
        "|---|---|---|---|",
        *(
            line
            for corpus, figures in (("CRM export", speed), ("international, non-ASCII e-mails", international))
            for line in (
                f"| `contacts-import validate`, {medium:,} rows, {corpus} | {figures['ours_rows_per_s']:,.0f} rows/s "
                f"| naive importer {figures['naive_rows_per_s']:,.0f} rows/s | {figures['ratio']:.2f}x (target 6x); "
                f"same valid rows: {'yes' if figures['same_valid_rows'] else 'NO'} ({figures['valid_rows']:,}) |",
                f"| the same, `--workers 1` (one process) | {figures['one_process_rows_per_s']:,.0f} rows/s "
                f"| naive importer {figures['naive_rows_per_s']:,.0f} rows/s | {figures['one_process_ratio']:.2f}x |",
            )
        ),
        f"| end to end, {small:,}-row upload through the local stack | {e2e['e2e_rows_per_s']:,.0f} rows/s "
        f"({e2e['status']}, {e2e['created']:,} created) | batch writes to DynamoDB Local "
        f"{e2e['batch_write_items_per_s']:,.0f} items/s ({e2e['batch_write_clients']} clients) | "
        f"{e2e['ratio']:.2f} of it |",
    ]
    for rows, figures in memory.items():
        lines.append(
            f"| peak resident memory of `validate`, {rows:,} rows ({figures['size_mb']:.0f} MB) | "
            f"{figures['peak_mb_one_process']:.0f} MB in one process; {figures['peak_mb_default']:.0f} MB for the "
            f"largest process with the default workers | | target 160 MB at 1,000,000 rows |"
        )
    boto3_time = cold.pop("import boto3")
    for name, seconds in cold.items():
        lines.append(
            f"| cold start: import of {name} | {seconds * 1000:.0f} ms | `import boto3` "
            f"{boto3_time * 1000:.0f} ms | {seconds / boto3_time:.2f}x (target at most 2x) |"
        )
    biggest = max(value for key, value in size.items() if key != "layer")
    lines.append(
        f"| layer unzipped, plus the largest function | {size['layer'] + biggest:.1f} MB | | target under 50 MB |"
    )
    lines += ["", f"Total time of this run: {time.perf_counter() - started:.0f} s.", "", HOW_TO_READ]
    text = "\n".join(lines)
    (ROOT / "docs" / "performance.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
