"""The server's log: one line per event on stderr, shared by the supervisor and its workers.

This module owns the log line's form (local time with milliseconds, role, process id, text)
and nothing else; callers pass `log` functions around so tests can collect lines instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime

__all__ = ["Log", "stderr_log"]

Log = Callable[[str], None]
"""Where a component writes its log lines."""


def stderr_log(line: str, role: str = "worker") -> None:
    """One log line on stderr: local time, role and process id, the line. Written with one
    write(2), so lines of processes sharing stderr do not interleave (up to PIPE_BUF)."""
    stamp = datetime.now().astimezone().isoformat(timespec="milliseconds")
    sys.stderr.flush()
    os.write(sys.stderr.fileno(), f"{stamp} {role} {os.getpid()} {line}\n".encode("utf-8", "replace"))
