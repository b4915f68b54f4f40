"""The index-control table of the posting-array engine.

MELVYL's index control entry of each title (`index.searchkeys.extract.IndexControl`) as one
row: the sort keys and the brief display.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from index.engines.base import Brief, SortField
from index.searchkeys.extract import TitleKeys

SCHEMA = """
CREATE TABLE IF NOT EXISTS control (
    isn         INTEGER PRIMARY KEY,
    sort_title  TEXT NOT NULL,
    sort_author TEXT NOT NULL,
    year        INTEGER NOT NULL,
    brief       TEXT NOT NULL
);
"""
SORT_COLUMNS = {SortField.TITLE: "sort_title", SortField.AUTHOR: "sort_author", SortField.YEAR: "year"}


def rows(titles: Iterable[TitleKeys]) -> Iterable[tuple]:
    for title in titles:
        c = title.control
        brief = json.dumps([c.title, c.author, c.year, c.imprint, c.material_type, c.language], ensure_ascii=False)
        yield title.isn, c.sort_title, c.sort_author, c.year or 0, brief


def write(db: sqlite3.Connection, titles: Iterable[TitleKeys]) -> None:
    """Insert or replace the rows of `titles` (in the caller's transaction)."""
    db.executemany("INSERT OR REPLACE INTO control VALUES (?, ?, ?, ?, ?)", rows(titles))


def _selected(db: sqlite3.Connection, column: str, isns: Sequence[int]) -> dict[int, object]:
    return dict(db.execute(f"SELECT isn, {column} FROM control WHERE isn IN (SELECT value FROM json_each(?))",
                           (json.dumps(list(isns)),)))


def sort_values(db: sqlite3.Connection, isns: Sequence[int], field: SortField) -> dict[int, object]:
    """The sort value of each of `isns` for `field` (title, author or year)."""
    return _selected(db, SORT_COLUMNS[field], isns)


def briefs(db: sqlite3.Connection, isns: Sequence[int]) -> list[Brief]:
    stored = _selected(db, "brief", isns)
    result = []
    for isn in isns:
        title, author, year, imprint, mtype, language = json.loads(stored[isn])
        result.append(Brief(isn, title, author, year, imprint, mtype, language))
    return result
