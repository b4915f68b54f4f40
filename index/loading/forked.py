"""Forked worker processes that apply one function to what they are sent, results in order, and
whose death ends the work at once.

    main ──item──▶ pipe ──▶ worker: function(item) ──▶ pipe ──result──▶ main (in the items' order)

Each worker has a pipe of its own each way. `concurrent.futures.ProcessPoolExecutor` shares one
result pipe and one write lock among its workers: a worker killed in the middle of writing a
result (`kill -9`, the OOM killer) leaves a partial message that its manager thread waits on for
good, or the lock held, so the load hangs instead of failing (seen here about once in 15 kills).
With a pipe each, a dead worker's pipe simply ends (`EOFError`), which `WorkerDied` reports.

Workers are forked, so `function` and everything it uses are inherited, not pickled; items and
results are pickled. Each worker reads its pipe in a thread of its own, so the main process never
waits to hand an item over while the worker writes a result, and the main process hands out at
most `in_flight` items per worker, so memory does not grow with the work. Workers ignore SIGINT
(an interrupt is the main process's to handle) and are killed by the kernel if the main process
dies (`children`).
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from index.loading import children

__all__ = ["ForkedWorkers", "WorkerDied", "forked_workers"]

_PIPE_BYTES = 1 << 20   # Linux's default pipe-max-size: an item or result rarely waits for the reader
_STOP = None            # sent to a worker to end it (so items are never None)


class WorkerDied(Exception):
    """A worker process ended in the middle of the work (killed, out of memory)."""


class WorkerTraceback(Exception):
    """Where in a worker process an error was raised (the `__cause__` of the error re-raised)."""


class ForkedWorkers:
    """`count` forked processes, each applying `function` to the items it is sent, in order.
    One `map` at a time; a map left early has its results taken (and dropped) by the next."""

    def __init__(self, function: Callable, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._workers: list = []
        self._items: list[Connection] = []     # main's end of each worker's item pipe
        self._results: list[Connection] = []   # main's end of each worker's result pipe
        self._untaken: deque[tuple[int, object]] = deque()   # (worker, item) handed out, oldest first
        with children.ending_with_us():
            for _ in range(count):
                items_out, items_in = context.Pipe(duplex=False)      # (reader, writer)
                results_out, results_in = context.Pipe(duplex=False)
                for connection in (items_in, results_in):
                    _widen(connection)
                worker = context.Process(target=_serve, name="unikat worker", daemon=True,
                                         args=(function, items_out, results_in, os.getpid(),
                                               self._items + self._results + [items_in, results_out]))
                worker.start()
                items_out.close()   # the worker's ends: only the worker may hold them, or its
                results_in.close()  # death would not end the pipe
                self._workers.append(worker)
                self._items.append(items_in)
                self._results.append(results_out)

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self._workers]

    def map(self, items: Iterable, in_flight: int = 2) -> Iterator[tuple]:
        """(item, function(item)) for each of `items`, in their order; at most `in_flight` items
        per worker handed out and not yet taken back."""
        while self._untaken:   # a map left early: its results are still on their way
            self._take(self._untaken.popleft()[0])
        count = len(self._workers)
        handed: list[int] = [0] * count
        out = self._untaken   # (worker, item) of each item out, oldest first
        for item in items:
            worker = min(range(count), key=handed.__getitem__)
            self._send(worker, item)
            handed[worker] += 1
            out.append((worker, item))
            if len(out) >= count * in_flight:
                worker, oldest = out.popleft()
                handed[worker] -= 1
                yield oldest, self._take(worker)
        while out:
            worker, oldest = out.popleft()
            yield oldest, self._take(worker)

    def close(self, *, kill: bool = False) -> None:
        """End the workers: told to stop (a result not taken back is dropped), or with `kill` at
        once."""
        for worker, pipe in zip(self._workers, self._items, strict=True):
            if kill:
                worker.kill()
            else:
                try:
                    pipe.send(_STOP)
                except OSError:   # already gone
                    pass
        for pipe in self._results:   # a worker writing a result nobody takes gets EPIPE and ends
            pipe.close()
        deadline = time.monotonic() + 10
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.exitcode is None:   # stuck: it holds nothing that must be kept
                worker.kill()
                worker.join()
        for pipe in self._items:
            pipe.close()

    def _send(self, worker: int, item: object) -> None:
        try:
            self._items[worker].send(item)
        except OSError:   # its reading end is gone
            raise self._died(worker) from None

    def _take(self, worker: int) -> object:
        try:
            done, value = self._results[worker].recv()
        except (EOFError, OSError):   # its pipe ended, perhaps in the middle of a message
            raise self._died(worker) from None
        if done:
            return value
        error, where = value
        raise error from WorkerTraceback(where)

    def _died(self, worker: int) -> WorkerDied:
        process = self._workers[worker]
        process.join(5)
        code = process.exitcode
        how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exit status {code}" if code is not None else "its pipe closed")
        return WorkerDied(f"worker process {process.pid} died in the middle of the work ({how})")


@contextmanager
def forked_workers(function: Callable, count: int) -> Iterator[ForkedWorkers]:
    """`count` workers applying `function`, ended when the block ends (killed if it raised)."""
    workers = ForkedWorkers(function, count)
    try:
        yield workers
    except BaseException:
        workers.close(kill=True)
        raise
    workers.close()


def _widen(connection: Connection) -> None:
    try:
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (OSError, AttributeError):   # not Linux, or above this system's limit: the default size
        pass


def _serve(function: Callable, items: Connection, results: Connection, parent: int,
           not_ours: list[Connection]) -> None:
    """A worker's life: apply `function` to each item read, write back (True, result) or (False,
    (error, traceback)), until told to stop or the main process's end of the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for connection in not_ours:   # other workers' pipes (inherited): holding them would keep them open
        connection.close()
    if not children.supported:   # no kernel to end us with the main process: watch it
        threading.Thread(target=_end_with, args=(parent,), name="end with the main process", daemon=True).start()
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_read, args=(items, inbox), name="read items", daemon=True).start()
    while (item := inbox.get()) is not _STOP:
        try:
            answer = (True, function(item))
        except Exception as error:
            answer = (False, (error, traceback.format_exc()))
        try:
            results.send(answer)
        except OSError:   # the main process is gone
            return
        except Exception as error:   # the result or the error cannot be pickled
            results.send((False, (RuntimeError(f"cannot send back {type(error).__name__}: {error}"),
                                  traceback.format_exc())))


def _read(items: Connection, inbox: queue.SimpleQueue) -> None:
    while True:
        try:
            inbox.put(items.recv())
        except (EOFError, OSError):
            inbox.put(_STOP)
            return


def _end_with(parent: int) -> None:
    """End this worker when its main process is gone (a worker waiting for items would never
    notice on its own)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
