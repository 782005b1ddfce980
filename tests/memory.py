"""How much memory a piece of work allocates at its peak (Python's own allocations, C extensions'
through the Python allocator included): for the tests that prove a hostile input stays bounded.
The bounds they assert are generous; the figures are in `benchmarks/hostile.py`."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def peak_allocated_mib(work: Callable[[], T]) -> tuple[float, T]:
    """The peak of memory allocated while ``work`` runs, above what was allocated before, in MiB,
    and what it answered."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        answer = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - before) / (1024 * 1024), answer
