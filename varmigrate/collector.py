"""The garbage collector's policy in a run of ours (the CLI's; `api.run(..., tune_gc=True)`).

A parse allocates ~50k nodes that die together when the file is done (no cycles hold them):
young collections every 700 allocations, and full passes over the imported modules, cost ~7% of
a check (frozen objects are still freed by reference count). Within a file (`within_file`) only
young objects are collected: older passes rescan its whole long-lived tree, a per-line cost
growing with the file (issue 15); cycle garbage a young pass missed goes after the file.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BETWEEN_FILES = (10_000, 10, 10)  # the thresholds between files once `tune` ran
_tuned = False


def tune() -> None:
    global _tuned
    gc.collect()
    gc.freeze()
    gc.set_threshold(*BETWEEN_FILES)
    _tuned = True


@contextmanager
def within_file() -> Iterator[None]:
    """After `tune`, no collection of the older generations until the file is done."""
    if not _tuned:
        yield
        return
    gc.set_threshold(BETWEEN_FILES[0], 1 << 30, 1 << 30)
    try:
        yield
    finally:
        gc.set_threshold(*BETWEEN_FILES)
