"""A load's per-record work on every core: raw records out to worker processes in batches,
prepared records back in delivery order, in memory that does not grow with the delivery.

    main: split the delivery ──batches──▶ workers: parse, check, profile, keys (`prepare`)
    main: maintenance key, match, store ◀──results, in order──┘

`preparing(preparer, items, workers)` is a context manager giving an iterator of (item,
`Prepared`) pairs in the order of `items`. At most `IN_FLIGHT` batches per worker are out at a
time: the main process hands out the next batch only when it takes the results of the oldest,
so a slow main process holds back the split, and a slow worker holds back the main process.
A delivery of one batch or less, or `workers` 0, is prepared in the main process.

Workers are forked (they inherit the loaded modules and never touch the store) and ignore
SIGINT: an interrupt is the main process's to handle; leaving the block ends them. When the main
process is killed, the workers' task pipe closes and they end too.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain, islice

from index.loading.prepare import Prepared, Preparer
from index.records.model import LoadProblem, RawRecord

__all__ = ["BATCH", "IN_FLIGHT", "cores", "preparing"]

BATCH = 200       # records a worker takes at a time
IN_FLIGHT = 2     # batches out per worker

Item = RawRecord | LoadProblem


def cores() -> int:
    """The cores this process may run on: the default number of workers."""
    return len(os.sched_getaffinity(0))


@contextmanager
def preparing(preparer: Preparer, items: Iterable[Item], workers: int) -> Iterator[Iterator[tuple[Item, Prepared]]]:
    batches = _batches(items)
    first = next(batches, [])
    if workers <= 0 or len(first) < BATCH:
        yield _inline(preparer, chain([first], batches))
        return
    with multiprocessing.get_context("fork").Pool(workers, initializer=_ignore_interrupts) as pool:
        yield _ordered(pool, preparer, chain([first], batches), workers * IN_FLIGHT)


def _batches(items: Iterable[Item]) -> Iterator[list[Item]]:
    items = iter(items)
    while batch := list(islice(items, BATCH)):
        yield batch


def _inline(preparer: Preparer, batches: Iterator[list[Item]]) -> Iterator[tuple[Item, Prepared]]:
    for batch in batches:
        yield from zip(batch, preparer.batch(batch), strict=True)


def _ordered(pool, preparer: Preparer, batches: Iterator[list[Item]], limit: int) -> Iterator[tuple[Item, Prepared]]:
    out: deque = deque()
    for batch in batches:
        out.append((batch, pool.apply_async(preparer.batch, (batch,))))
        if len(out) >= limit:
            batch, result = out.popleft()
            yield from zip(batch, result.get(), strict=True)
    while out:
        batch, result = out.popleft()
        yield from zip(batch, result.get(), strict=True)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
