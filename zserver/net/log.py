"""The server's log: one line per event on stderr, shared by the supervisor and its workers.

This module owns the log line's form (local time with milliseconds, role, process id, text)
and nothing else; callers pass `log` functions around so tests can collect lines instead.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import datetime

__all__ = ["Log", "stderr_log"]

Log = Callable[[str], None]
"""Where a component writes its log lines."""


_second: tuple[int, str] = (-1, "")


def _stamp(now: float) -> str:
    """Local time with milliseconds and offset, as `datetime.isoformat` writes it; the part
    up to the second is formatted once per second (a busy worker logs thousands of lines)."""
    global _second
    second = int(now)
    if _second[0] != second:
        local = datetime.fromtimestamp(second).astimezone()
        offset = local.isoformat()[19:]
        _second = (second, local.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d" + offset)
    return _second[1] % int((now - second) * 1000)


def stderr_log(line: str, role: str = "worker") -> None:
    """One log line on stderr: local time, role and process id, the line. Written with one
    write(2), so lines of processes sharing stderr do not interleave (up to PIPE_BUF)."""
    sys.stderr.flush()
    os.write(sys.stderr.fileno(), f"{_stamp(time.time())} {role} {os.getpid()} {line}\n".encode("utf-8", "replace"))
