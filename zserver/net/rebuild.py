"""Building a missing index beside a running server.

`unikat serve` on a home without an index of the current layout (deleted, never built, an
older layout) used to build it before listening: the port stayed closed for the whole build
(61 s at 20,000 records). Now it listens at once and runs `unikat index` in a child process
(`start`): that takes the home's load lock like any index build (waiting for a load that runs),
builds the index beside the served one and swaps it in. Meanwhile the workers' catalogs answer
searches with `IndexUnavailable` (`index.engines.missing`) and take the index up at their next
refresh, without a restart. The child dies with the server (`children.tie_to_parent`); a
build that fails is logged and leaves the server answering "temporarily unavailable" until
`unikat index` is run by hand.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from index.home import Home
from index.loading import children
from zserver.net.log import Log

__all__ = ["start", "watch"]


def start(home: Home, log: Log) -> subprocess.Popen:
    """Start `unikat index` for `home` in a child process; its progress goes to our stderr."""
    process = subprocess.Popen([sys.executable, "-m", "zserver", "--home", str(home.root), "index"],
                               stdin=subprocess.DEVNULL, stdout=sys.stderr, preexec_fn=children.tie_to_parent)
    log(f"no index of the current layout: building it beside the server (pid {process.pid});"
        " searches are 'temporarily unavailable' until it is done")
    return process


def ended(status: int, log: Log) -> None:
    """Say how the build ended (`status`: its exit status)."""
    if status == 0:
        log("index built; the workers take it up within a second")
    else:
        log(f"the index build failed (exit status {status}); searches stay unavailable: run 'unikat index'")


def watch(process: subprocess.Popen, log: Log) -> None:
    """Wait for the build in a thread and say how it ended (a server without a supervisor
    process, which would otherwise reap it)."""
    threading.Thread(target=lambda: ended(process.wait(), log), name="index-build", daemon=True).start()
