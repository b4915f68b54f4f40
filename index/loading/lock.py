"""One load (or index build) at a time per home.

Two loads at once would both write the store and then race for the index writer's lock: the
second used to die with Whoosh's LockError and leave its titles out of the index. `exclusive`
holds an OS file lock (`flock`) on `load.lock` in the home around the whole load and its index
update, so a second load waits for the first (or, told not to wait, stops before touching
anything). The kernel drops the lock when its process ends, however it ends (kill -9 too), so a
crashed load never leaves a stale lock behind. The file names who holds the lock, for the message
of the one that waits.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from index.home import Home

__all__ = ["HomeBusy", "exclusive"]

LOCK_FILE = "load.lock"


class HomeBusy(Exception):
    """Another process loads or indexes this home, and we were told not to wait."""


@contextmanager
def exclusive(home: Home, *, wait: bool = True, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the home's load lock for the block. When another process holds it: with `wait`,
    `notify` says whom we wait for and we wait; without, raise `HomeBusy`. An `OSError` (a
    read-only home) is the caller's to report."""
    fd = os.open(home.root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise HomeBusy(f"{holder} in {home.root}; not started (run again later, or without --no-wait"
                               " to wait for it)") from None
            if notify:
                notify(f"waiting for {holder}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        # who holds it, for the next one that waits (one write: a reader sees all or nothing of it)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        yield
    finally:
        os.close(fd)   # releases the lock


def _holder(fd: int) -> str:
    """'the load running since <time> (pid N)', as far as the lock file tells."""
    try:
        pid, since = os.pread(fd, 100, 0).decode("ascii").split(" ", 1)
        return f"the load running since {since.strip()} (pid {int(pid)})"
    except (OSError, ValueError, UnicodeDecodeError):   # written this very moment: nothing to show yet
        return "the load running now"
