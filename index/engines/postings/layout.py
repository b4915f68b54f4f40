"""What the posting-array engine keeps on disk, in one directory.

    lexicon.sqlite   terms     (field, term, segment) -> slices of the segment's arrays
                     segments  one row per segment (a full build is segment 1; each update adds one)
                     dropped   (isn, segment): the ISN's postings in segments before `segment` are void
                     control   the index-control entry of each title: sort keys and the brief display
    N.docs           int64 ISNs, one sorted run per term of segment N
    N.positions      int64 codes `ISN << 32 | position`, one sorted run per word term of segment N
    N.lengths        int32 rows (ISN, words of each ranked field) of segment N's titles, ascending
                     ISN: the field lengths relevance ranking needs (`index.engines.ranking`)

Fields: every word index by its name (its words, with positions); `<name>=` for the whole keys
of a word index (exact search, first-in-field, Scan); key indexes and `year` (four digits) by
their names, whole keys without positions. The keys of one title in one index follow each other
with a gap of GAP positions, so phrases and proximity stay inside one field occurrence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.engines.postings import controltable
from index.searchkeys.spec import INDEXES, IndexKind

LEXICON = "lexicon.sqlite"
POSITION_BITS = 32
GAP = 1 << 12              # positions between two keys of one index in one title
WORD_FIELDS = tuple(spec.name for spec in INDEXES if spec.kind is IndexKind.WORDS)
EXACT_FIELDS = tuple(spec.name for spec in INDEXES if spec.kind is IndexKind.WORDS and spec.exact)
KEY_FIELDS = tuple(spec.name for spec in INDEXES if spec.kind in (IndexKind.KEY, IndexKind.YEAR) and spec.name != "isn")

SCHEMA = """
CREATE TABLE IF NOT EXISTS terms (
    field        TEXT NOT NULL,
    term         TEXT NOT NULL,
    segment      INTEGER NOT NULL,
    docs_at      INTEGER NOT NULL,
    docs         INTEGER NOT NULL,
    positions_at INTEGER NOT NULL,
    positions    INTEGER NOT NULL,
    PRIMARY KEY (field, term, segment)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY, titles INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dropped (isn INTEGER NOT NULL, segment INTEGER NOT NULL);
""" + controltable.SCHEMA


def exact_field(name: str) -> str:
    """The lexicon field of a word index's whole keys."""
    return name + "="


def docs_path(directory: Path, segment: int) -> Path:
    return directory / f"{segment}.docs"


def positions_path(directory: Path, segment: int) -> Path:
    return directory / f"{segment}.positions"


def lengths_path(directory: Path, segment: int) -> Path:
    return directory / f"{segment}.lengths"


def read_runs(read: Callable[[slice], np.ndarray], at: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The runs of `counts` values at offsets `at` of one segment file, one after another, read
    at once: `read(slice)` gives those values of the file (the runs of one field's terms are
    neighbours, so the span holding them all is about as long as they are)."""
    low, high = int(at.min()), int((at + counts).max())
    span = read(slice(low, high))
    ends = np.cumsum(counts)
    return span[np.repeat(at - low - (ends - counts), counts) + np.arange(int(ends[-1]))]


def connect(directory: Path, *, readonly: bool = False) -> sqlite3.Connection:
    path = directory / LEXICON
    if readonly:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    directory.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(SCHEMA)
    return db
