"""Forked workers: results in order, errors carried back, and a worker that dies (even in the middle
of writing a result) ends the work at once instead of leaving it waiting."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from index.loading.forked import WorkerDied, forked_workers


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _square(number: int) -> int:
    if number < 0:
        raise ValueError(f"negative: {number}")
    return number * number


def _nbytes(size: int) -> bytes:
    return b"x" * size


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _kill_self(number: int) -> int:
    if number == 13:
        os.kill(os.getpid(), signal.SIGKILL)
    return number


def test_results_come_in_order_of_the_items_with_a_bounded_number_out():
    pulled: list[int] = []

    def items():
        for number in range(500):
            pulled.append(number)
            yield number

    seen = []
    with forked_workers(_square, 3) as workers:
        for number, square in workers.map(items(), in_flight=2):
            seen.append(number)
            assert square == number * number
            assert len(pulled) - len(seen) <= 3 * 2
        pids = workers.pids
    assert seen == list(range(500))
    assert len(pids) == 3 and not any(_alive(pid) for pid in pids)


def test_a_pool_maps_more_than_once():
    with forked_workers(_square, 2) as workers:
        assert [square for _n, square in workers.map(range(10))] == [n * n for n in range(10)]
        assert [square for _n, square in workers.map([7])] == [49]
        assert list(workers.map([])) == []


def test_a_map_left_early_does_not_give_its_results_to_the_next():
    with forked_workers(_square, 2) as workers:
        for _number, _square_of in workers.map(range(100), in_flight=3):
            break
        with pytest.raises(RuntimeError, match="still on their way"):
            list(workers.map([5, 6]))
    with forked_workers(_square, 2) as workers:   # a map whose results were all taken is finished
        numbers = workers.map(range(4), in_flight=1)
        assert [next(numbers) for _ in range(4)] == [(0, 0), (1, 1), (2, 4), (3, 9)]
        assert list(workers.map([5])) == [(5, 25)]


def _identity(value: object) -> object:
    return value


class _Unsendable(Exception):
    """An error that cannot be pickled, whatever reducer is installed (it holds a lock)."""


def _raise_unsendable(_value: object) -> None:
    raise _Unsendable("one two", threading.Lock())


def test_an_item_the_worker_cannot_read_is_that_item_s_error_and_the_others_come_back():
    with forked_workers(_identity, 1) as workers:
        made_after_the_fork = type("MadeAfterTheFork", (), {"__module__": __name__})
        globals()["MadeAfterTheFork"] = made_after_the_fork   # picklable here, unknown to the worker
        try:
            results = workers.map([1, made_after_the_fork(), 3], in_flight=3)
            assert next(results) == (1, 1)
            with pytest.raises(AttributeError, match="MadeAfterTheFork"):
                next(results)
        finally:
            del globals()["MadeAfterTheFork"]


def test_an_error_that_cannot_travel_as_itself_comes_as_a_runtime_error_naming_it():
    with pytest.raises(RuntimeError, match="_Unsendable: .*one two"), forked_workers(_raise_unsendable, 1) as workers:
        list(workers.map([1]))


def test_a_worker_killed_by_a_signal_without_a_name_is_reported():
    with forked_workers(_square, 1) as workers:
        os.kill(workers.pids[0], signal.SIGRTMIN + 5)
        with pytest.raises(WorkerDied, match=rf"killed by signal {signal.SIGRTMIN + 5}"):
            list(workers.map([1, 2]))


def test_processes_forked_meanwhile_do_not_keep_the_workers_from_ending():
    with forked_workers(_nbytes, 2) as workers:
        started = time.monotonic()
        with forked_workers(_nbytes, 1):   # forked later: holds copies of the first pool's pipes
            for _size, _data in workers.map([4_000_000] * 20):
                break
        pids = workers.pids
    assert time.monotonic() - started < 8
    assert not any(_alive(pid) for pid in pids)


def test_an_error_in_a_worker_is_raised_in_the_main_process_with_where_it_happened():
    with pytest.raises(ValueError, match="negative: -4") as raised, forked_workers(_square, 2) as workers:
        list(workers.map([1, 2, 3, -4, 5]))
    assert "_square" in str(raised.value.__cause__)


def test_a_worker_killed_while_working_ends_the_work_at_once():
    started = time.monotonic()
    with pytest.raises(WorkerDied, match=r"killed by SIGKILL"), forked_workers(_kill_self, 2) as workers:
        list(workers.map(range(100)))
    assert time.monotonic() - started < 15


def test_a_worker_killed_in_the_middle_of_writing_a_result_ends_the_work_at_once():
    """The worker writes 40 MB, of which the pipe takes 1 MiB until the main process reads; it is
    killed then, so the main process finds a partial message (ProcessPoolExecutor waits for the
    rest of it for ever)."""
    with forked_workers(_nbytes, 1) as workers:
        pid = workers.pids[0]

        def items():
            yield 40_000_000
            time.sleep(0.5)   # the worker is now blocked in writing its result
            os.kill(pid, signal.SIGKILL)

        started = time.monotonic()
        with pytest.raises(WorkerDied, match=r"worker process \d+ died in the middle of the work \(killed by SIGKILL\)"):
            list(workers.map(items(), in_flight=2))
        assert time.monotonic() - started < 15


def test_leaving_early_ends_workers_that_still_have_results_to_write():
    started = time.monotonic()
    with forked_workers(_nbytes, 2) as workers:
        pids = workers.pids
        for _size, _data in workers.map([4_000_000] * 20):
            break
    assert time.monotonic() - started < 8   # not the 10 s a stuck worker is given
    assert not any(_alive(pid) for pid in pids)


def test_workers_ignore_an_interrupt_meant_for_the_main_process():
    with forked_workers(_square, 1) as workers:
        os.kill(workers.pids[0], signal.SIGINT)
        time.sleep(0.2)
        assert [square for _n, square in workers.map([3])] == [9]


def test_items_handed_out_one_by_one_come_back_oldest_first():
    with forked_workers(_square, 2) as workers:
        for number in (3, 4, 5):
            workers.submit(number)
        assert workers.pending == 3
        assert [workers.take() for _ in range(3)] == [(3, 9), (4, 16), (5, 25)]
        assert workers.pending == 0
        assert list(workers.map([6])) == [(6, 36)]


def test_after_an_interrupt_while_waiting_for_a_result_the_workers_refuse_further_work():
    with forked_workers(_sleep, 1) as workers:
        workers.submit(5.0)
        previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(KeyboardInterrupt):
                workers.take()   # interrupted while waiting (or in the middle of a message)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        with pytest.raises(RuntimeError, match="can no longer be used"):
            workers.submit(1)
