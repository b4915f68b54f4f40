"""Failed-login counts that every worker process of one server shares: a small SQLite file that
`unikat serve` makes (`LoginCounts.create`) in a temporary directory before forking the workers
and removes when they are gone.

`zserver.logins.LoginGuard` decides what a failure means (the window, the lockout); this module
only keeps, per (kind, value) key – ("user", name) or ("address", client address) – the times of
the recent failures and until when the key is locked out, so that W workers together allow a
guesser what one worker allows, not W times as much. A file of its own, not the catalog store:
a load's long write transaction must never hold up a worker refusing a login.

Times are wall-clock seconds (every worker must read the same clock); like the counts of one
process, they end with the server. An update is one short IMMEDIATE transaction, so two workers
counting the same key at once lose neither failure.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

__all__ = ["Count", "LoginCounts"]

Count = tuple[tuple[float, ...], float]
"""(times of recent failures, oldest first; locked until) of one key."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    kind          TEXT NOT NULL,               -- user or address
    value         TEXT NOT NULL,
    failures      TEXT NOT NULL DEFAULT '',    -- times of recent failures, space-separated
    locked_until  REAL NOT NULL DEFAULT 0,
    last_failure  REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS login_failures_last ON login_failures(last_failure);
"""


class LoginCounts:
    """The shared counts, opened by each worker after it is forked (a connection is not shared)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=2.0, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA synchronous = OFF")    # counts, not records: a crash may lose the last ones

    @classmethod
    def create(cls, path: Path) -> LoginCounts:
        """Make the file (WAL, which it keeps, and the table): once, before the workers open it."""
        counts = cls(path)
        counts.db.execute("PRAGMA journal_mode = WAL")
        counts.db.executescript(_SCHEMA)
        return counts

    def get(self, key: tuple[str, str]) -> Count | None:
        row = self.db.execute("SELECT failures, locked_until FROM login_failures WHERE kind = ? AND value = ?",
                              key).fetchone()
        return None if row is None else (_times(row[0]), row[1])

    def update(self, key: tuple[str, str], change: Callable[[Count | None], Count]) -> None:
        """Replace the count of `key` by `change(count)` in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            failures, locked_until = change(self.get(key))
            self.db.execute("INSERT OR REPLACE INTO login_failures VALUES (?, ?, ?, ?, ?)",
                            (*key, " ".join(repr(t) for t in failures), locked_until,
                             max(failures, default=locked_until)))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def remove(self, key: tuple[str, str]) -> None:
        self.db.execute("DELETE FROM login_failures WHERE kind = ? AND value = ?", key)

    def forget(self, now: float, window: float, keep: int) -> None:
        """Keep at most `keep` keys: drop those with nothing left to count, then the oldest not
        locked out."""
        if self.db.execute("SELECT count(*) FROM login_failures").fetchone()[0] <= keep:
            return
        self.db.execute("DELETE FROM login_failures WHERE locked_until <= ? AND last_failure <= ?",
                        (now, now - window))
        self.db.execute("DELETE FROM login_failures WHERE (kind, value) IN (SELECT kind, value FROM"
                        " login_failures WHERE locked_until <= ? ORDER BY last_failure LIMIT max(0, (SELECT"
                        " count(*) FROM login_failures) - ?))", (now, keep))

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM login_failures").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def _times(text: str) -> tuple[float, ...]:
    return tuple(float(t) for t in text.split())
