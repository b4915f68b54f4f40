"""A load's per-record work on every core: raw records out to worker processes in batches,
prepared records back in delivery order, in memory that does not grow with the delivery.

    main: split the delivery ──batches──▶ workers: parse, check, profile, keys (`prepare`)
    main: maintenance key, match, store ◀──results, in order──┘

`preparing(preparer, items, workers)` is a context manager giving an iterator of (item,
`Prepared`) pairs in the order of `items`. At most `IN_FLIGHT` batches per worker are out at a
time: the main process hands out the next batch only when it takes the results of the oldest,
so a slow main process holds back the split, and a slow worker holds back the main process.
A delivery of one batch or less, or `workers` 0, is prepared in the main process.

With `cluster` (a Dask scheduler's address, `tcp://host:8786`), the batches go to the worker
processes of a Dask cluster instead, on as many hosts as run `dask worker` (with unikat
installed): Dask ships each batch and its result, schedules and restarts; the ordering and the
bound on batches in flight stay ours, and the store is written only here. A worker that dies
mid-batch loses nothing: Dask runs the batch again elsewhere (preparing is a pure function).

Workers are forked (`forked`: they inherit the loaded modules and never touch the store) and
ignore SIGINT: an interrupt is the main process's to handle; leaving the block ends them. A
worker that dies (killed, out of memory) fails the load at once (`WorkerDied`) instead of leaving
it waiting, and workers whose main process died are ended by the kernel (`children`), so a
`kill -9` of a load leaves nothing behind but what it committed.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from itertools import chain, islice

from index.loading.forked import forked_workers
from index.loading.prepare import Prepared, Preparer
from index.records.model import LoadProblem, RawRecord

__all__ = ["BATCH", "IN_FLIGHT", "ClusterError", "cluster_workers", "cores", "preparing"]

BATCH = 200       # records a worker takes at a time
IN_FLIGHT = 2     # batches out per worker

Item = RawRecord | LoadProblem


def cores() -> int:
    """The cores this process may run on: the default number of workers."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def cluster_workers(address: str) -> Iterator[tuple[Executor, int]]:
    """The worker processes of the Dask cluster whose scheduler is at `address`, as an executor,
    and how many tasks they run at once; ClusterError when there is none to reach."""
    from distributed import Client

    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"no Dask scheduler answers at {address}: {error}") from None
    try:
        slots = sum(client.nthreads().values())
        if not slots:
            raise ClusterError(f"the Dask cluster at {address} has no workers (start `dask worker {address}`)")
        executor = client.get_executor(pure=False)
        try:
            yield executor, slots
        finally:
            executor.shutdown(wait=False)
    finally:
        client.close()


class ClusterError(Exception):
    """The Dask cluster a load was told to use cannot be used."""


@contextmanager
def preparing(preparer: Preparer, items: Iterable[Item], workers: int,
              cluster: str = "") -> Iterator[Iterator[tuple[Item, Prepared]]]:
    """(item, prepared) for each of `items`, in their order, prepared by `workers` processes
    (0: in this one), or by the workers of the Dask cluster at `cluster`; the processes end (or
    the cluster is let go) when the block does."""
    batches = _batches(items)
    first = next(batches, [])
    if cluster:
        with cluster_workers(cluster) as (executor, slots):
            yield _ordered(executor, preparer, chain([first], batches), slots * IN_FLIGHT)
        return
    if workers <= 0 or len(first) < BATCH:
        yield _inline(preparer, chain([first], batches))
        return
    with forked_workers(preparer.batch, workers) as processes:
        yield _paired(processes.map(chain([first], batches), IN_FLIGHT))


def _batches(items: Iterable[Item]) -> Iterator[list[Item]]:
    items = iter(items)
    while batch := list(islice(items, BATCH)):
        yield batch


def _inline(preparer: Preparer, batches: Iterator[list[Item]]) -> Iterator[tuple[Item, Prepared]]:
    for batch in batches:
        yield from zip(batch, preparer.batch(batch), strict=True)


def _paired(results: Iterator[tuple[list[Item], list[Prepared]]]) -> Iterator[tuple[Item, Prepared]]:
    for batch, prepared in results:
        yield from zip(batch, prepared, strict=True)


def _ordered(executor: Executor, preparer: Preparer, batches: Iterator[list[Item]],
             limit: int) -> Iterator[tuple[Item, Prepared]]:
    out: deque = deque()
    for batch in batches:
        out.append((batch, executor.submit(preparer.batch, batch)))
        if len(out) >= limit:
            batch, future = out.popleft()
            yield from zip(batch, future.result(), strict=True)
    while out:
        batch, future = out.popleft()
        yield from zip(batch, future.result(), strict=True)

