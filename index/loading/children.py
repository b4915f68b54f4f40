"""Worker processes that end with the process that forked them, however it ends.

A load forks processes twice: the record workers (`pipeline`) and, on Whoosh, the index writer's
own processes (`MpWriter`). A worker blocked on its task queue never notices that its main process
was killed (`kill -9`, the OOM killer): it would wait for ever, holding its memory (four Whoosh
writers held ~930 MB). Inside `ending_with_us()`, each forked child asks the kernel to kill it
when its parent dies (Linux `PR_SET_PDEATHSIG`), set in the child right after the fork, so it
covers processes forked by libraries too. Where there is no prctl, `supported` is False and
callers watch their parent instead (`pipeline`).
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ending_with_us", "supported", "tie_to_parent"]

_PR_SET_PDEATHSIG = 1


def _find_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):   # not Linux
        return None


_prctl = _find_prctl()
supported = _prctl is not None

_parent = 0   # the process whose children must end with it (0: none; inherited by the child)


@contextmanager
def ending_with_us() -> Iterator[None]:
    """Processes this process forks in the block are killed (SIGKILL) when it dies. The kernel
    ties this to the forking thread: fork from the thread that will live as long as the work."""
    global _parent
    outer, _parent = _parent, os.getpid()
    try:
        yield
    finally:
        _parent = outer


def tie_to_parent() -> None:
    """As `subprocess.Popen(preexec_fn=...)`: the new program is killed when the process that
    started it dies (the signal setting survives exec)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _in_child() -> None:
    global _parent
    parent, _parent = _parent, 0   # the child's own children are not ours to tie
    if not parent or _prctl is None:
        return
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:   # the parent died before we asked: nobody will send the signal
        os._exit(1)


os.register_at_fork(after_in_child=_in_child)
