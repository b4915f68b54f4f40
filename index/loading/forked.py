"""Forked worker processes that apply one function to what they are sent, results in order, and
whose death ends the work at once.

    main ──item──▶ pipe ──▶ worker: function(item) ──▶ pipe ──result──▶ main (in the items' order)

Each worker has a pipe of its own each way. `concurrent.futures.ProcessPoolExecutor` shares one
result pipe and one write lock among its workers: a worker killed in the middle of writing a
result (`kill -9`, the OOM killer) leaves a partial message that its manager thread waits on for
good, or the lock held, so the load hangs instead of failing (seen here once in 25 kills).
With a pipe each, a dead worker's pipe simply ends (`EOFError`), which `WorkerDied` reports.

Workers are forked, so `function` and everything it uses are inherited, not pickled; items and
results are pickled. What they inherit is frozen for their garbage collector (`gc.freeze`): its
passes would write into the inherited objects and so copy the parent's pages into each worker.
Each worker reads its pipe in a thread of its own, so the main process never waits to hand an
item over while the worker writes a result, and the main process hands out at most `in_flight`
items per worker, so memory does not grow with the work. Workers ignore SIGINT (an interrupt is
the main process's to handle), are killed when the work ends, and are killed by
the kernel if the main process dies (`children`).
"""

from __future__ import annotations

import fcntl
import gc
import itertools
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from index.errors import WorkerDied
from index.loading import children

__all__ = ["ForkedWorkers", "WorkerDied", "forked_workers"]

_PIPE_BYTES = 1 << 20   # Linux's default pipe-max-size: an item or result rarely waits for the reader


class WorkerTraceback(Exception):
    """Where in a worker process an error was raised (the `__cause__` of the error re-raised)."""


class ForkedWorkers:
    """`count` forked processes, each applying `function` to the items it is sent, in order.

    Items go to the workers in turn (`submit`) and results are taken oldest first (`take`), so
    each worker's next result is that of its oldest item; `map` does both for a sequence. After a
    worker's death, or an interrupt while an item or a result was on its way, the pipes can no
    longer be trusted: the workers are then unusable (RuntimeError). `close` kills them: they
    hold nothing that must be kept, and no process that inherited a pipe can keep them waiting."""

    def __init__(self, function: Callable, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._workers: list = []
        self._items: list[Connection] = []     # main's end of each worker's item pipe
        self._results: list[Connection] = []   # main's end of each worker's result pipe
        self._out: deque[tuple[int, object]] = deque()   # (worker, item) of each item out, oldest first
        self._broken = False
        frozen_here = not gc.get_freeze_count()   # a caller's own freeze stays as it was
        if frozen_here:
            gc.freeze()   # what they inherit: their collector must not write into it (and so copy it)
        try:
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
        except BaseException:   # no fork, no pipe: the workers started so far end here
            self.close()
            raise
        finally:
            if frozen_here:
                gc.unfreeze()
        self._turns = itertools.cycle(range(count))

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self._workers]

    @property
    def pending(self) -> int:
        """Items handed out whose results have not been taken."""
        return len(self._out)

    def submit(self, item: object) -> None:
        """Hand `item` to the next worker."""
        self._usable()
        worker = next(self._turns)
        try:
            self._items[worker].send(item)
        except OSError:   # its reading end is gone
            self._broken = True
            raise self._died(worker) from None
        except BaseException:   # perhaps half an item in the pipe
            self._broken = True
            raise
        self._out.append((worker, item))

    def take(self) -> tuple[object, object]:
        """(item, function(item)) of the oldest item handed out; its error if it raised one."""
        self._usable()
        worker, item = self._out[0]
        try:
            done, value = self._results[worker].recv()
        except (EOFError, OSError):   # its pipe ended, perhaps in the middle of a message
            self._broken = True
            raise self._died(worker) from None
        except BaseException:   # an interrupt, perhaps in the middle of a message
            self._broken = True
            raise
        self._out.popleft()
        if done:
            return item, value
        error, where = value
        raise error from WorkerTraceback(where)

    def map(self, items: Iterable, in_flight: int = 2) -> Iterator[tuple]:
        """(item, function(item)) for each of `items`, in their order; at most `in_flight` items
        per worker handed out and not yet taken back. A map left before its end leaves results
        on their way: a further `map` then raises RuntimeError."""
        if self._out:
            raise RuntimeError("results of earlier items are still on their way: take them first")
        limit = len(self._workers) * in_flight
        for item in items:
            self.submit(item)
            if self.pending >= limit:
                yield self.take()
        while self._out:
            yield self.take()

    def _usable(self) -> None:
        if self._broken:
            raise RuntimeError("these workers can no longer be used (one died, or an interrupt came mid-message)")

    def close(self) -> None:
        """End the workers (what they were still doing is dropped)."""
        for worker in self._workers:
            worker.kill()
        for worker in self._workers:
            worker.join()
        for pipe in self._items + self._results:
            pipe.close()

    def _died(self, worker: int) -> WorkerDied:
        process = self._workers[worker]
        process.join(5)
        code = process.exitcode
        how = ("its pipe closed" if code is None else f"exit status {code}" if code >= 0
               else f"killed by {_signal_name(-code)}")
        return WorkerDied(f"worker process {process.pid} died in the middle of the work ({how})")


@contextmanager
def forked_workers(function: Callable, count: int) -> Iterator[ForkedWorkers]:
    """`count` workers applying `function`, ended when the block ends."""
    workers = ForkedWorkers(function, count)
    try:
        yield workers
    finally:
        workers.close()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:   # a real-time signal has no name
        return f"signal {number}"


def _widen(connection: Connection) -> None:
    try:
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (OSError, AttributeError):   # not Linux, or above this system's limit: the default size
        pass


def _serve(function: Callable, items: Connection, results: Connection, parent: int,
           not_ours: list[Connection]) -> None:
    """A worker's life: apply `function` to each item read, write back (True, result) or (False,
    (error, traceback)), until the main process's end of the pipe closes or it is killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for connection in not_ours:   # other workers' pipes (inherited): holding them would keep them open
        connection.close()
    if not children.supported:   # no kernel to end us with the main process: watch it
        threading.Thread(target=_end_with, args=(parent,), name="end with the main process", daemon=True).start()
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_read, args=(items, inbox), name="read items", daemon=True).start()
    while (item := inbox.get()) is not _ENDED:
        try:
            if isinstance(item, _Unreadable):
                raise item.error
            answer = (True, function(item))
        except Exception as error:
            answer = (False, (_portable(error), traceback.format_exc()))
        try:
            results.send(answer)
        except OSError:   # the main process is gone
            return
        except Exception as error:   # the result cannot be pickled
            results.send((False, (RuntimeError(f"cannot send back the result: {type(error).__name__}: {error}"),
                                  traceback.format_exc())))


_ENDED = object()   # the item pipe ended (no more items)


class _Unreadable:
    """An item that could not be unpickled here: its error is the item's answer, in its place."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _read(items: Connection, inbox: queue.SimpleQueue) -> None:
    while True:
        try:
            inbox.put(items.recv())
        except (EOFError, OSError):
            inbox.put(_ENDED)
            return
        except Exception as error:   # the message was read whole: the next item is still in order
            inbox.put(_Unreadable(error))


def _portable(error: Exception) -> Exception:
    """`error`, or a RuntimeError saying what it was where it would not reach the main process
    as itself (it cannot be pickled, or not unpickled)."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


def _end_with(parent: int) -> None:
    """End this worker when its main process is gone (a worker waiting for items would never
    notice on its own)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
