"""The SQLite engine's index file: FTS5 for words, the key table for whole keys, a control table.

One file, `index.sqlite`, holds everything a search needs:

    words    FTS5, one column per word index (title, author, subject, ..., any), positions kept;
             the keys of one title are joined with a separator token so a phrase stays inside
             one field occurrence. The `ascii` tokenizer splits on ASCII separators only, so
             pre-normalized keys of every script stay whole words (marks included).
    keys     whole keys: exact keys of word indexes, every KEY index, and years (four digits)
    control  the index-control entry of each title: sort keys and the brief display

It is built from the same search keys as the Whoosh index and replaced or updated the same way;
updates are ordinary transactions, so readers see them at their next query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from index import controltable
from index.engine import keytable
from index.searchkeys.extract import TitleKeys
from index.searchkeys.spec import INDEXES, IndexKind

FILE_NAME = "index.sqlite"
WORD_COLUMNS = tuple(spec.name for spec in INDEXES if spec.kind is IndexKind.WORDS)
KEY_FIELDS = tuple(spec.name for spec in INDEXES
                   if spec.exact_keys_in_table or spec.kind in (IndexKind.KEY, IndexKind.YEAR))
SEPARATOR = " \u00b6 "   # a token of its own between two keys of one field

_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5({", ".join(WORD_COLUMNS)}, tokenize = 'ascii');
CREATE VIRTUAL TABLE IF NOT EXISTS vocabulary USING fts5vocab(words, 'col');
""" + keytable.SCHEMA + controltable.SCHEMA


def connect(directory: Path, *, readonly: bool = False) -> sqlite3.Connection:
    path = directory / FILE_NAME
    if readonly:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(_SCHEMA)
    return db


def _key_value(field: str, key: str) -> str:
    return f"{int(key):04d}" if field == "year" else key


def _write(db: sqlite3.Connection, titles: Iterable[TitleKeys]) -> int:
    count = 0
    columns = ", ".join(WORD_COLUMNS)
    insert_words = f"INSERT INTO words (rowid, {columns}) VALUES (?, {', '.join('?' * len(WORD_COLUMNS))})"
    for title in titles:
        count += 1
        db.execute(insert_words, [title.isn, *(SEPARATOR.join(title.keys.get(c, ())) for c in WORD_COLUMNS)])
        db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)",
                       [(field, _key_value(field, key), title.isn)
                        for field in KEY_FIELDS for key in title.keys.get(field, ()) if key])
        controltable.write(db, [title])
    return count


def build(directory: Path, titles: Iterable[TitleKeys]) -> int:
    """Build an index file in the new, empty `directory`; returns the number of titles."""
    db = connect(directory)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    with db:
        count = _write(db, titles)
    db.execute("INSERT INTO words (words) VALUES ('optimize')")
    db.commit()
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    return count


def update(directory: Path, changed: Iterable[TitleKeys], deleted: Iterable[int] = ()) -> int:
    """Replace `changed` titles and remove `deleted` ISNs in one transaction; returns titles written."""
    changed = list(changed)
    gone = [(isn,) for isn in deleted] + [(title.isn,) for title in changed]
    db = connect(directory)
    try:
        with db:
            db.executemany("DELETE FROM words WHERE rowid = ?", gone)
            db.executemany("DELETE FROM keys WHERE isn = ?", gone)
            db.executemany("DELETE FROM control WHERE isn = ?", gone)
            return _write(db, changed)
    finally:
        db.close()
