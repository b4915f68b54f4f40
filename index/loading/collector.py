"""The cyclic garbage collector during a load and an index build: fewer passes.

A load and an index build allocate millions of small containers (parsed records, their keys,
store rows, lexicon tuples) that die young and form no cycles: reference counting frees them.
With CPython's default threshold the collector still makes a young pass every 700 allocations
and, every hundred passes, walks the older objects too; at 30,000 LC records that was about 6%
of the main process's CPU. `fewer_collections` lets the collector run every YOUNG_THRESHOLD
allocations instead, so cycles are still collected, and restores the threshold afterwards.
Worker processes forked inside it inherit the threshold. This module knows nothing of loading.

`return_freed_heap` gives the C heap's free memory back to the system: glibc keeps it for reuse,
but a phase that follows needs other sizes, so it would only add to the process's memory.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "fewer_collections", "return_freed_heap"]

YOUNG_THRESHOLD = 100_000   # net container allocations between two young passes (CPython: 700)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The collector's young threshold raised to YOUNG_THRESHOLD while the block (or the
    function it decorates) runs; never lowered."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


def return_freed_heap() -> None:
    """Give the C heap's free memory back to the system (nothing to do on C libraries other than glibc)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
