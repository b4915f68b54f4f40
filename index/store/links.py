"""Link-check results in the catalog store: the latest state of each URL and its history.

Two tables of their own in catalog.sqlite, made here on first use (CREATE TABLE IF NOT
EXISTS), so the store's schema need not know about link checking:

    link_status   one row per URL: state, last HTTP status or error, redirects, the address
                  reached, first and last check, and since when it is broken (NULL when not)
    link_history  one row per check of a URL

Times are SQLite `datetime` text in UTC ('2026-12-02 06:30:00'). It knows nothing of HTTP
(`index.links.check` asks the hosts, `index.links.run` brings the answers here).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from index.links.check import Hop, LinkCheck, LinkState
from index.store.connection import Connection

if TYPE_CHECKING:
    from index.home import Home

__all__ = ["LinkResults", "LinkStatus", "utc_now"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS link_status (
    url           TEXT PRIMARY KEY,
    state         TEXT NOT NULL,            -- ok, moved, broken, skipped (index.links.check.LinkState)
    status        INTEGER,                  -- last HTTP status; NULL: no answer
    error         TEXT NOT NULL DEFAULT '', -- why there was no answer (timeout, TLS, refused ...)
    redirects     TEXT NOT NULL DEFAULT '[]',  -- JSON [[status, url], ...]
    final_url     TEXT NOT NULL DEFAULT '', -- the address the redirects ended at
    first_checked TEXT NOT NULL,
    last_checked  TEXT NOT NULL,
    broken_since  TEXT,                     -- first check of the current broken spell
    checks        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS link_status_checked ON link_status(last_checked);
CREATE TABLE IF NOT EXISTS link_history (
    url       TEXT NOT NULL,
    checked   TEXT NOT NULL,
    state     TEXT NOT NULL,
    status    INTEGER,
    error     TEXT NOT NULL DEFAULT '',
    final_url TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS link_history_url ON link_history(url, checked);
"""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class LinkStatus:
    """The latest check of one URL as kept in the store."""

    url: str
    state: LinkState
    status: int | None
    error: str
    redirects: tuple[Hop, ...]
    final_url: str
    first_checked: str
    last_checked: str
    broken_since: str | None
    checks: int

    @property
    def outcome(self) -> str:
        """The HTTP status, or the error when there was no answer, in a few words."""
        if self.error:
            return self.error
        return str(self.status) if self.status is not None else ""


class LinkResults:
    """The link-check tables of one catalog store, over a connection of its own (a load may
    write to the store at the same time: SQLite's WAL lets it, we wait up to 30 s for a lock;
    on PostgreSQL (`dsn`) nobody waits)."""

    def __init__(self, store_path: Path, dsn: str = "") -> None:
        self.db: Connection
        if dsn:
            from index.store.postgresql import PostgresConnection  # psycopg only where it is used

            self.db = PostgresConnection(dsn)
        else:
            self.db = sqlite3.connect(str(store_path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(_SCHEMA)

    @classmethod
    def of(cls, home: Home) -> LinkResults:
        """The link-check tables of a home's store, where its `[store]` says."""
        return cls(home.store_path, home.config().store.postgresql)

    def close(self) -> None:
        self.db.close()

    def due(self, urls: Iterable[str], older_than_days: float | None, now: str | None = None) -> list[str]:
        """The URLs to check: all of them (`older_than_days` None), or those never checked or
        last checked more than that many days before `now`."""
        urls = list(dict.fromkeys(urls))
        if older_than_days is None:
            return urls
        moment = datetime.strptime(now or utc_now(), "%Y-%m-%d %H:%M:%S")
        limit = (moment - timedelta(days=older_than_days)).strftime("%Y-%m-%d %H:%M:%S")
        recent = {url for url, checked in self._rows("url, last_checked", urls) if checked >= limit}
        return [url for url in urls if url not in recent]

    def record(self, checks: Iterable[LinkCheck], now: str | None = None) -> int:
        """Keep the checks (one transaction); a URL broken before stays broken since its first
        broken check, one that works again loses its `broken_since`. Returns how many."""
        now = now or utc_now()
        count = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for check in checks:
                redirects = json.dumps([[hop.status, hop.url] for hop in check.redirects])
                broken = now if check.state is LinkState.BROKEN else None
                self.db.execute(
                    "INSERT INTO link_status (url, state, status, error, redirects, final_url, first_checked,"
                    " last_checked, broken_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (url) DO UPDATE SET state = excluded.state, status = excluded.status,"
                    " error = excluded.error, redirects = excluded.redirects, final_url = excluded.final_url,"
                    " last_checked = excluded.last_checked, checks = link_status.checks + 1,"
                    " broken_since = CASE WHEN excluded.broken_since IS NULL THEN NULL"
                    " ELSE coalesce(link_status.broken_since, excluded.broken_since) END",
                    (check.url, check.state.value, check.status, check.error, redirects, check.final_url, now, now,
                     broken))
                self.db.execute("INSERT INTO link_history (url, checked, state, status, error, final_url)"
                                " VALUES (?, ?, ?, ?, ?, ?)",
                                (check.url, now, check.state.value, check.status, check.error, check.final_url))
                count += 1
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return count

    def statuses(self, urls: Iterable[str]) -> dict[str, LinkStatus]:
        """URL -> its latest check, for the URLs that were ever checked."""
        columns = "url, state, status, error, redirects, final_url, first_checked, last_checked, broken_since, checks"
        found = {}
        for row in self._rows(columns, list(dict.fromkeys(urls))):
            url, state, status, error, redirects, final_url, first, last, broken, checks = row
            hops = tuple(Hop(code, where) for code, where in json.loads(redirects))
            found[url] = LinkStatus(url, LinkState(state), status, error, hops, final_url, first, last, broken, checks)
        return found

    def history(self, url: str) -> list[tuple[str, str, int | None, str]]:
        """(checked, state, status, error) of every check of `url`, oldest first."""
        return self.db.execute("SELECT checked, state, status, error FROM link_history WHERE url = ?"
                               " ORDER BY checked, rowid", (url,)).fetchall()

    def _rows(self, columns: str, urls: list[str]) -> list[tuple]:
        rows = []
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self.db.execute(f"SELECT {columns} FROM link_status WHERE url IN ({marks})", chunk).fetchall()
        return rows
