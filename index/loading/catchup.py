"""Bringing the index up to date beside a running server, after it wrote to the store itself
(a Z39.50 Update): what `unikat index` does after a load, for the few titles an update touched.

`IndexCatchUp.wanted()` returns at once; a thread of its own runs `unikat index` (incremental:
`index.loading.indexing.update`, the pending titles only) in a child process, as
`zserver.net.rebuild` does for a missing index, so the server's reactor never waits for index
work and the GIL stays free of it. The child takes the home's load lock like every index build,
so it waits for a load under way (whose own index update then takes up our titles too). Updates
that come while a run is under way are taken up by one more run after it: never more than one
child at a time, none when nothing was asked for. The child dies with the server
(`children.tie_to_parent`); the workers' catalogs take the new index up at their next refresh
(`index.search.REFRESH_SECONDS`).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

from index.home import Home
from index.loading import children

__all__ = ["IndexCatchUp"]


class IndexCatchUp:
    """Index runs for one home, asked for by `wanted`, one child process at a time."""

    def __init__(self, home: Home, log: Callable[[str], None] | None = None) -> None:
        self.home = home
        self.log = log or (lambda line: None)
        self._asked = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.runs = 0   # finished runs, for tests and the log

    def wanted(self) -> None:
        """Ask for an index run (a store write marked titles pending); returns at once."""
        with self._lock:
            self._asked.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="index-catch-up", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._asked.wait()
            self._asked.clear()   # what is asked from now on needs one more run
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "zserver", "--home", str(self.home.root), "index"],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  preexec_fn=children.tie_to_parent, check=False)
            self.runs += 1
            if done.returncode == 0:
                self.log(f"index caught up after an update in {time.monotonic() - started:.1f}s:"
                         f" {done.stdout.strip()}")
            else:
                self.log(f"index update after an update failed (exit status {done.returncode}):"
                         f" {done.stderr.strip()[-500:]}; run 'unikat index'")
