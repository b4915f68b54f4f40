"""Whole-store copies for backups: SQLite's online backup API, the copy's integrity check and
the counts a backup promises.

`copy` reads the live store inside one read transaction (WAL: writers go on, the copy is the
snapshot at its start) in steps of pages, calling back after each step (the caller logs and
pauses there); `restore` copies a backup's file into a home's store the same way, so a server
with the store open sees the new content. What a backup directory holds, checksums, rotation
and locking are `index.backup`'s; this module knows only SQLite files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index.store.connection import Connection, connection

if TYPE_CHECKING:
    from index.store.catalog import CatalogStore

__all__ = ["Damaged", "checked_counts", "copy", "counts", "restore"]

STEP_PAGES = 1024   # 4 MiB a step with SQLite's default page size

Step = Callable[[int, int, int], None]
"""Called after each step of a copy with (pages in the store, pages remaining, pages in all)."""


class Damaged(Exception):
    """A copy fails `PRAGMA integrity_check`; `problems` are the lines it gave."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:3]))
        self.problems = problems


def counts(store: Connection | CatalogStore) -> dict:
    """What a backup promises: titles, records, holdings, per library, loads, deleted titles."""
    db = connection(store)
    one = lambda sql: db.execute(sql).fetchone()[0]   # noqa: E731 - a local shorthand
    return {
        "titles": one("SELECT count(*) FROM titles"),
        "records": one("SELECT count(*) FROM records"),
        "holdings": one("SELECT count(*) FROM holdings"),
        "loads": one("SELECT count(*) FROM loads"),
        "deleted_titles": one("SELECT count(*) FROM deleted_titles"),
        "records_per_library": dict(db.execute("SELECT library, count(*) FROM records GROUP BY library ORDER BY 1")),
        "holdings_per_library": dict(db.execute("SELECT library, count(*) FROM holdings GROUP BY library ORDER BY 1")),
    }


def copy(source: Path, target: Path, step: Step) -> dict:
    """Copy the store at `source` to the new file `target` (one self-contained file, no -wal
    beside it) inside one read transaction; the copy's counts."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    dst = sqlite3.connect(str(target), isolation_level=None)
    try:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()   # the snapshot starts here
        total = src.execute("PRAGMA page_count").fetchone()[0]
        src.backup(dst, pages=STEP_PAGES, progress=lambda status, remaining, pages: step(total, remaining, pages))
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode = DELETE")
        copied = counts(dst)
    finally:
        src.close()
        dst.close()
    return copied


def checked_counts(copied: Path) -> dict:
    """The counts of the copy at `copied` (opened read-only, as immutable) once `PRAGMA
    integrity_check` finds nothing; Damaged when it does, sqlite3.DatabaseError when the file
    is no SQLite database or lacks the store's tables."""
    db = sqlite3.connect(f"file:{copied}?mode=ro&immutable=1", uri=True)
    try:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise Damaged(result)
        return counts(db)
    finally:
        db.close()


def restore(copied: Path, store_path: Path) -> None:
    """Copy the backup's store file `copied` over the store at `store_path` (backup API)."""
    src = sqlite3.connect(f"file:{copied}?mode=ro&immutable=1", uri=True)
    dst = sqlite3.connect(str(store_path))
    try:
        src.backup(dst, pages=STEP_PAGES)
    finally:
        src.close()
        dst.close()
