"""Whole-field keys in an SQLite table beside the Whoosh index: key → ISNs.

Whoosh pays about a tenth of a millisecond for every distinct term it writes, and most whole
keys are distinct per title (exact titles and names, call numbers, control numbers, standard
numbers); a range of years is an OR of hundreds of long posting lists that Whoosh walks
document by document (seconds at 100,000 titles). Kept in one clustered SQLite table instead,
they cost microseconds to write, and a sorted table is exactly what exact search, truncation on
whole keys, year ranges and Scan need. Word indexes and low-cardinality codes stay in Whoosh.
The table is rebuilt from the same search keys as the Whoosh index and lives in the index
directory, so the two are always replaced together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from index.searchkeys.extract import TitleKeys
from index.searchkeys.queryterms import glob_pattern
from index.searchkeys.spec import INDEXES

FILE_NAME = "keys.sqlite"
# Indexes whose whole keys live here: every exact (whole-field) key, and high-cardinality codes.
TABLE_FIELDS = frozenset(spec.name for spec in INDEXES if spec.exact_keys_in_table)

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    field TEXT NOT NULL,
    key   TEXT NOT NULL,
    isn   INTEGER NOT NULL,
    PRIMARY KEY (field, key, isn)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_by_isn ON keys (isn);
"""


def _rows(titles: Iterable[TitleKeys]) -> Iterable[tuple[str, str, int]]:
    for title in titles:
        for name in TABLE_FIELDS:
            for key in title.keys.get(name, ()):
                yield name, key, title.isn


class KeyTable:
    def __init__(self, directory: Path, *, readonly: bool = False) -> None:
        path = directory / FILE_NAME
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.db = sqlite3.connect(str(path), check_same_thread=False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, titles: Iterable[TitleKeys]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)", _rows(titles))

    def replace(self, titles: list[TitleKeys], deleted: Iterable[int] = ()) -> None:
        """Replace the keys of `titles` and drop those of `deleted` ISNs, in one transaction."""
        gone = [(isn,) for isn in deleted] + [(title.isn,) for title in titles]
        with self.db:
            self.db.executemany("DELETE FROM keys WHERE isn = ?", gone)
            self.db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)", _rows(titles))

    # -- lookups: each returns the ISNs of matching keys ----------------------------------------
    def equal(self, field: str, key: str) -> list[int]:
        return [row[0] for row in self.db.execute("SELECT isn FROM keys WHERE field = ? AND key = ?", (field, key))]

    def prefix(self, field: str, prefix: str) -> list[int]:
        return [row[0] for row in self.db.execute(
            "SELECT isn FROM keys WHERE field = ? AND key >= ? AND key < ?", (field, prefix, prefix + "\U0010ffff"))]

    def first_words(self, field: str, words: str) -> list[int]:
        """Keys that are `words` or begin with them as whole words (first-in-field)."""
        return [row[0] for row in self.db.execute(
            "SELECT isn FROM keys WHERE field = ? AND (key = ? OR (key >= ? AND key < ?))",
            (field, words, words + " ", words + " \U0010ffff"))]

    def between(self, field: str, low: str | None, high: str | None, *, low_exclusive: bool = False,
                high_exclusive: bool = False) -> list[int]:
        """ISNs with a key in the range (None: open end); for years, four-digit keys."""
        conditions, params = ["field = ?"], [field]
        if low is not None:
            conditions.append("key > ?" if low_exclusive else "key >= ?")
            params.append(low)
        if high is not None:
            conditions.append("key < ?" if high_exclusive else "key <= ?")
            params.append(high)
        return [row[0] for row in self.db.execute(f"SELECT DISTINCT isn FROM keys WHERE {' AND '.join(conditions)}", params)]

    def glob(self, field: str, masked: str) -> list[int]:
        return [row[0] for row in self.db.execute(
            "SELECT isn FROM keys WHERE field = ? AND key GLOB ?", (field, glob_pattern(masked)))]

    # -- scan ---------------------------------------------------------------------------------
    def scan(self, field: str, start: str, before: int, after: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """(key, titles) pairs: up to `before` keys below `start` (nearest first), up to `after` from it on."""
        below = self.db.execute(
            "SELECT key, count(*) FROM keys WHERE field = ? AND key < ? GROUP BY key ORDER BY key DESC LIMIT ?",
            (field, start, before)).fetchall()
        above = self.db.execute(
            "SELECT key, count(*) FROM keys WHERE field = ? AND key >= ? GROUP BY key ORDER BY key LIMIT ?",
            (field, start, after)).fetchall()
        return below, above
