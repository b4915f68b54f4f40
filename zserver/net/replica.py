"""A search host that follows the index a catalog publishes in its store (`unikat serve --replica-of`).

The host never builds an index: before serving, `prepare` writes the home's unikat.toml from
the newest published generation when it has none (`index.replicas.replica_config`), waits for a
first generation and takes it; while serving, a `Follower` thread in the supervisor (never in a
worker) takes each newer generation, and the workers' engines pick it up at their next refresh.
It must not know what an index file means, nor touch the reactor.
"""

from __future__ import annotations

import threading
import time
import traceback

from psycopg import OperationalError  # the store unreachable: a condition, not a bug

from index import replicas
from index.home import Home
from index.store import index_files
from index.store.postgresql import PostgresConnection
from zserver.net.log import Log

__all__ = ["Follower", "ReplicaHomeError", "prepare"]


class ReplicaHomeError(Exception):
    """The home cannot follow that store (its unikat.toml names another one)."""


def prepare(home: Home, dsn: str, log: Log, poll: float) -> None:
    """Make `home` a search host of the catalog whose store is at `dsn`, holding its newest
    published index; waits (logging why, once) until a first generation exists."""
    if home.exists():
        store = home.config().store
        if store.backend != "postgresql" or store.dsn != dsn:
            raise ReplicaHomeError(f"{home.config_path} keeps its store elsewhere ([store] dsn); --replica-of"
                                   " needs the same dsn, or a home without unikat.toml")
    else:
        home.root.mkdir(parents=True, exist_ok=True)
        db = PostgresConnection(dsn)
        try:
            published = _wait(lambda: index_files.latest_config(db), log, poll)
        finally:
            db.close()
        home.config_path.write_text(replicas.replica_config(published, dsn), encoding="utf-8")
        log(f"replica: wrote {home.config_path} from the publishing catalog's")
    db = PostgresConnection(dsn)
    try:
        taken = _wait(lambda: _first_sync(home, db), log, poll)
    finally:
        db.close()
    if isinstance(taken, replicas.Taken):
        log(f"replica: {taken}")


def _first_sync(home: Home, db: PostgresConnection) -> replicas.Taken | bool | None:
    """What a first sync took; True when the home already holds the newest generation; None
    while nothing is published."""
    taken = replicas.sync(home, db)
    if taken is None and replicas.home_generation(home) == 0:
        return None
    return taken or True


def _wait(attempt, log: Log, poll: float):
    """The first result of `attempt()` that is not None, tried every `poll` seconds."""
    told = False
    while (result := attempt()) is None:
        if not told:
            log("replica: no index published in the store yet; waiting (run 'unikat load' or 'unikat index'"
                " on a loading host of this catalog)")
            told = True
        time.sleep(poll)
    return result


class Follower:
    """A thread that syncs `home` every `poll` seconds until `stop`. A failed sync (the store
    unreachable, a damaged blob) is logged and tried again; the index served stays as it was."""

    def __init__(self, home: Home, dsn: str, poll: float, log: Log) -> None:
        self.home = home
        self.dsn = dsn
        self.poll = poll
        self.log = log
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replica", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        db: PostgresConnection | None = None
        while not self._stopping.wait(self.poll):
            try:
                db = db or PostgresConnection(self.dsn)
                taken = replicas.sync(self.home, db)
                if taken is not None:
                    self.log(f"replica: {taken}")
            except Exception as error:   # a thread that dies quietly would stop following for good
                self.log(f"replica: sync failed, trying again in {self.poll:g} s: {error}")
                if not isinstance(error, (replicas.ReplicaError, OperationalError)):
                    self.log(traceback.format_exc().rstrip())
                if db is not None:
                    db.close()   # a new connection next time: this one may be broken
                    db = None
        if db is not None:
            db.close()
