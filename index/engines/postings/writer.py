"""Builds the posting-array engine's files: a full build (one segment) or an update (one more).

A segment is built in memory: every (field, term) gets an id, every occurrence appends the id
and its code (`ISN << 32 | position`) to two flat arrays; numpy then sorts by (term, code) and
cuts the runs. That is one Python loop over the words and a few array operations, not a
per-document write.
"""

from __future__ import annotations

import itertools
import sqlite3
from array import array
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from index.engines.postings import controltable
from index.engines.postings.layout import (
    EXACT_FIELDS,
    GAP,
    KEY_FIELDS,
    POSITION_BITS,
    WORD_FIELDS,
    connect,
    docs_path,
    exact_field,
    positions_path,
)
from index.searchkeys.extract import TitleKeys

MAX_SEGMENTS = 12   # beyond this many segments an update asks for a full rebuild (see needs_rebuild)


class _Segment:
    """The postings of one segment while it is being built.

    Each occurrence appends a provisional term id and its code; `dict.setdefault` with a running
    counter assigns ids inside C loops (`array.extend(map(...))`), so ids are sparse. `write`
    ranks the terms in lexicon order and renumbers the occurrences by that rank.
    """

    def __init__(self) -> None:
        self.ids: dict[str, dict[str, int]] = {}     # field -> term -> provisional id
        self.counter = itertools.count()
        self.term_ids = array("i")    # provisional ids, one per occurrence (2**31 per segment)
        self.codes = array("q")
        self.titles = 0
        self.last_isn = -1

    def add(self, title: TitleKeys) -> None:
        """Add a title; titles come in ascending ISN order."""
        if title.isn <= self.last_isn:
            raise ValueError(f"titles out of ISN order: {title.isn} after {self.last_isn}")
        self.last_isn = title.isn
        self.titles += 1
        base = title.isn << POSITION_BITS
        term_ids, codes, counter = self.term_ids, self.codes, self.counter
        for name in WORD_FIELDS:
            keys = title.keys.get(name)
            if not keys:
                continue
            assign = self.ids.setdefault(name, {}).setdefault
            position = base
            for key in keys:
                words = key.split()
                term_ids.extend(map(assign, words, counter))
                codes.extend(range(position, position + len(words)))
                position += len(words) + GAP
        for name in EXACT_FIELDS:
            self._keys(exact_field(name), title.keys.get(name), base)
        for name in KEY_FIELDS:
            keys = title.keys.get(name)
            if keys and name == "year":
                keys = [f"{int(key):04d}" for key in keys if key.isdigit()]
            self._keys(name, keys, base)

    def _keys(self, field: str, keys: list[str] | None, base: int) -> None:
        if keys:
            keys = [key for key in keys if key]
            self.term_ids.extend(map(self.ids.setdefault(field, {}).setdefault, keys, self.counter))
            self.codes.extend(itertools.repeat(base, len(keys)))

    def write(self, directory: Path, db: sqlite3.Connection, segment: int) -> None:
        """Write the segment's arrays and its lexicon rows (in the caller's transaction)."""
        fields, terms, provisional, positional = [], [], [], []
        for field in sorted(self.ids):
            ids = self.ids[field]
            ordered = sorted(ids)
            fields.extend(itertools.repeat(field, len(ordered)))
            terms.extend(ordered)
            provisional.extend(map(ids.__getitem__, ordered))
            positional.extend(itertools.repeat(field in WORD_FIELDS, len(ordered)))
        total = len(terms)
        rank = np.zeros(max(provisional, default=-1) + 1, dtype=np.int32)
        rank[np.array(provisional, dtype=np.int64)] = np.arange(total, dtype=np.int32)
        term_ids = rank[np.frombuffer(self.term_ids, dtype=np.int32)] if self.term_ids else np.zeros(0, np.int32)
        del rank, provisional
        # titles were added in ISN order and positions grow within a title, so a stable sort by
        # term leaves each term's codes sorted
        order = np.argsort(term_ids, kind="stable")
        term_ids = term_ids[order]
        codes = np.frombuffer(self.codes, dtype=np.int64)[order] if self.codes else np.zeros(0, np.int64)
        del order
        self.term_ids, self.codes = array("i"), array("q")
        isns = codes >> POSITION_BITS
        first = np.ones(len(codes), dtype=bool)          # first occurrence of a (term, ISN)
        first[1:] = (term_ids[1:] != term_ids[:-1]) | (isns[1:] != isns[:-1])
        docs, doc_terms = isns[first], term_ids[first]
        del isns, first
        kept = np.array(positional, dtype=bool)[term_ids] if len(term_ids) else np.zeros(0, bool)
        positions, position_terms = codes[kept], term_ids[kept]
        del codes, kept, term_ids
        docs_count = np.bincount(doc_terms, minlength=total)
        positions_count = np.bincount(position_terms, minlength=total)
        del doc_terms, position_terms
        docs_at = np.cumsum(docs_count) - docs_count
        positions_at = np.cumsum(positions_count) - positions_count
        docs.astype("<i8").tofile(docs_path(directory, segment))
        positions.astype("<i8").tofile(positions_path(directory, segment))
        db.executemany("INSERT INTO terms VALUES (?, ?, ?, ?, ?, ?, ?)", zip(
            fields, terms, itertools.repeat(segment), docs_at.tolist(), docs_count.tolist(),
            positions_at.tolist(), positions_count.tolist(), strict=False))
        db.execute("INSERT INTO segments VALUES (?, ?)", (segment, self.titles))


def build(directory: Path, titles: Iterable[TitleKeys]) -> int:
    """Build an index in the new, empty `directory` (one segment); returns the number of titles."""
    db = connect(directory)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    segment = _Segment()
    titles = iter(titles)
    with db:
        for batch in iter(lambda: list(itertools.islice(titles, 1000)), []):
            for title in batch:
                segment.add(title)
            controltable.write(db, batch)
        segment.write(directory, db, 1)
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    return segment.titles


def update(directory: Path, changed: Iterable[TitleKeys], deleted: Iterable[int] = ()) -> int:
    """Add a segment with the `changed` titles and void the older postings of them and of
    `deleted`, in one transaction; returns the number of titles written."""
    changed = list(changed)
    gone = sorted(set(deleted) | {title.isn for title in changed})
    db = connect(directory)
    try:
        number = (db.execute("SELECT max(id) FROM segments").fetchone()[0] or 0) + 1
        segment = _Segment()
        for title in sorted(changed, key=lambda t: t.isn):   # the segment needs ISN order
            segment.add(title)
        with db:
            segment.write(directory, db, number)   # files first: readers only see committed rows
            db.executemany("INSERT INTO dropped VALUES (?, ?)", [(isn, number) for isn in gone])
            db.executemany("DELETE FROM control WHERE isn = ?", [(isn,) for isn in gone])
            controltable.write(db, changed)
        return len(changed)
    finally:
        db.close()


def needs_rebuild(directory: Path) -> bool:
    """Whether updates have added so many segments that searches slow down (rebuild to merge)."""
    db = connect(directory, readonly=True)
    try:
        return db.execute("SELECT count(*) FROM segments").fetchone()[0] > MAX_SEGMENTS
    finally:
        db.close()
