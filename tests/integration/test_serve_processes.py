"""The processes of `unikat serve`: its workers end with it, even when it is killed (kill -9)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from test_yaz_client import start_serving

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running, not gone and not a zombie (this container's init may not reap orphans)."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def test_workers_die_with_a_killed_supervisor(sample_home) -> None:
    server = start_serving(sample_home, workers=2)
    workers = _children(server.process.pid)
    assert len(workers) == 2, workers
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived the killed supervisor"
