"""The posting-array engine as `Catalog` uses it: result sets are sorted ISN arrays.

Segment files are read a slice at a time (pread), through the kernel's page cache that all
worker processes share. `refresh` takes up a new
segment (an update) or a new directory (a full rebuild) at most as often as `Catalog` asks.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.engines import ranking
from index.engines.base import (
    RELEVANCE,
    Brief,
    Budget,
    QueryLimits,
    ResolveSet,
    ScanEntry,
    SortField,
    SortKey,
    scan_window,
    sort_order,
)
from index.engines.facets import FacetColumns, FacetCounts, Widening
from index.engines.postings import controltable, facetcolumns
from index.engines.postings.evaluate import EMPTY, Evaluator, unite
from index.engines.postings.layout import (
    LEXICON,
    POSITION_BITS,
    connect,
    docs_path,
    exact_field,
    lengths_path,
    positions_path,
)
from index.query import Node
from index.searchkeys import queryterms
from index.searchkeys.normalize import normalize
from index.searchkeys.spec import IndexKind

LEXICON_CACHE = 20_000
"""Lexicon rows a worker keeps (a few MB)."""
LEXICON_KEY = 512
"""... for terms up to this many characters: a client's 4 MB term is looked up, not kept."""

_SQL_STEPS = 100_000   # SQLite virtual-machine steps between two checks of a search's budget (~ms)


@dataclass
class ArrayHits:
    isns: np.ndarray              # in result order
    node: Node | None = None      # the query that found them

    @property
    def words(self) -> list[ranking.QueryWord]:
        """The words that rank these hits, worked out only for a ranking (most searches have none)."""
        return ranking.query_words(self.node) if self.node is not None else []

    def __len__(self) -> int:
        return len(self.isns)


class _PostingFile:
    """One segment file of int64 values, read a slice at a time with pread(2).

    Not memory-mapped on purpose: the pages stay in the kernel's page cache, shared by every
    worker and reclaimable, and a worker's memory holds only the slices it is using (as Zebra
    and SQLite read their files)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY) if path.exists() else None

    def __getitem__(self, wanted: slice) -> np.ndarray:
        count = wanted.stop - wanted.start
        if self.fd is None or count <= 0:
            return EMPTY
        data = os.pread(self.fd, 8 * count, 8 * wanted.start)
        return np.frombuffer(data, dtype="<i8").astype(np.int64, copy=False)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@dataclass
class _Segment:
    number: int
    docs: _PostingFile
    positions: _PostingFile
    dropped: np.ndarray     # ISNs whose postings in this segment are void (replaced or deleted later)

    def valid(self, isns: np.ndarray, values: np.ndarray) -> np.ndarray:
        if not len(self.dropped) or not len(values):
            return values
        at = np.searchsorted(self.dropped, isns)
        at[at == len(self.dropped)] = 0
        return values[self.dropped[at] != isns]


class PostingsEngine:
    def __init__(self, directory: Path, limits: QueryLimits = QueryLimits()) -> None:
        self.directory = Path(directory)
        self.limits = limits
        self._open()

    def _open(self) -> None:
        self.db = connect(self.directory, readonly=True)
        self._inode = os.stat(self.directory / LEXICON).st_ino
        self._segments: dict[int, _Segment] = {}
        self._load_segments()

    def _load_segments(self) -> None:
        self._version = self.db.execute("PRAGMA data_version").fetchone()[0]
        self.db.execute("BEGIN")   # one read transaction: segments and drops of the same commit
        try:
            numbers = [row[0] for row in self.db.execute("SELECT id FROM segments ORDER BY id")]
            drops = self.db.execute("SELECT isn, max(segment) FROM dropped GROUP BY isn ORDER BY isn").fetchall()
        finally:
            self.db.execute("COMMIT")
        dropped = np.array(drops, dtype=np.int64).reshape(-1, 2)
        segments = {}
        for number in numbers:
            old = self._segments.get(number)
            docs = old.docs if old else _PostingFile(docs_path(self.directory, number))
            positions = old.positions if old else _PostingFile(positions_path(self.directory, number))
            segments[number] = _Segment(number, docs, positions, dropped[dropped[:, 1] > number, 0])
        for number, old in self._segments.items():
            if number not in segments:   # merged into a new segment (postings.merge): release its files
                old.docs.close()
                old.positions.close()
        self._segments = segments
        self._lexicon: dict[tuple[str, tuple], list[tuple[_Segment, int, int]]] = {}
        self._all: np.ndarray | None = None
        self._years: tuple[np.ndarray, np.ndarray] | None = None
        self._facets = FacetColumns(lambda facet: facetcolumns.column(self.db, self._segments, facet))
        self._lengths: ranking.LengthTable | None = None   # field lengths, for ranking

    def close(self) -> None:
        self.db.close()
        for segment in self._segments.values():
            segment.docs.close()
            segment.positions.close()
        self._segments = {}

    def refresh(self) -> bool:
        """Take up an update (a new segment) or a rebuild (a new directory) committed since;
        True when there was one."""
        try:
            inode = os.stat(self.directory / LEXICON).st_ino
        except FileNotFoundError:   # a rebuild is just swapping directories
            return False
        if inode != self._inode:
            self.close()
            self._open()
        elif self.db.execute("PRAGMA data_version").fetchone()[0] != self._version:
            self._load_segments()
        else:
            return False
        return True

    # -- the lexicon, as evaluation needs it -----------------------------------------------------
    def _rows(self, sql: str, params: tuple) -> list[tuple[_Segment, int, int]]:
        """The lexicon rows of one term; the looked-up ones are kept until the segments change
        (most requests ask for words asked for before, and a lookup costs more than the rest
        of a one-word search)."""
        key = (sql, params)
        rows = self._lexicon.get(key)
        if rows is None:
            if len(self._lexicon) >= LEXICON_CACHE:
                self._lexicon.clear()
            segments = self._segments
            rows = [(segments[number], at, count) for number, at, count in self.db.execute(sql, params)
                    if count and number in segments]
            if sum(len(param) for param in params if isinstance(param, str)) <= LEXICON_KEY:
                self._lexicon[key] = rows
        return rows

    def docs(self, field_name: str, term: str) -> np.ndarray:
        rows = self._rows("SELECT segment, docs_at, docs FROM terms WHERE field = ? AND term = ?", (field_name, term))
        parts = [segment.valid(found, found) for segment, at, count in rows
                 for found in (segment.docs[at:at + count],)]
        return unite(parts)

    def positions(self, field_name: str, term: str) -> np.ndarray:
        rows = self._rows("SELECT segment, positions_at, positions FROM terms WHERE field = ? AND term = ?",
                          (field_name, term))
        parts = [segment.valid(found >> POSITION_BITS, found) for segment, at, count in rows
                 for found in (segment.positions[at:at + count],)]
        parts = [part for part in parts if len(part)]
        if len(parts) <= 1:
            return parts[0] if parts else EMPTY
        return np.sort(np.concatenate(parts))

    def terms(self, field_name: str, low: str, high: str, limit: int | None = None) -> list[str]:
        """Terms of `field_name` from `low` up to but excluding `high` (the first `limit`)."""
        return [row[0] for row in self.db.execute(
            "SELECT DISTINCT term FROM terms WHERE field = ? AND term >= ? AND term < ? ORDER BY term LIMIT ?",
            (field_name, low, high, -1 if limit is None else limit))]

    def matching_terms(self, field_name: str, glob: str, limit: int | None = None) -> list[str]:
        return [row[0] for row in self.db.execute(
            "SELECT DISTINCT term FROM terms WHERE field = ? AND term GLOB ? ORDER BY term LIMIT ?",
            (field_name, glob, -1 if limit is None else limit))]

    def all_isns(self) -> np.ndarray:
        if self._all is None:
            self._all = np.fromiter((row[0] for row in self.db.execute("SELECT isn FROM control ORDER BY isn")),
                                    dtype=np.int64)
        return self._all

    def years(self) -> tuple[np.ndarray, np.ndarray]:
        """(ISN, year) pairs of every title, sorted by ISN: a year range is one masked pass."""
        if self._years is None:
            isns, years = [EMPTY], [EMPTY]
            for year in self.terms("year", "", "\U0010ffff"):
                found = self.docs("year", year)
                isns.append(found)
                years.append(np.full(len(found), int(year), dtype=np.int64))
            isn_column, year_column = np.concatenate(isns), np.concatenate(years)
            order = np.argsort(isn_column, kind="stable")
            self._years = isn_column[order], year_column[order]
        return self._years

    # -- the engine interface --------------------------------------------------------------------
    def search(self, node: Node, resolve_set: ResolveSet, *, ranked: bool = False) -> ArrayHits:
        budget = Budget(self.limits)
        evaluator = Evaluator(self, lambda name: np.sort(resolve_set(name).isns), budget)
        # a lexicon scan (a left truncation reads every term of the field) is one SQL statement:
        # SQLite asks the budget every so many steps and stops the statement when it is spent
        self.db.set_progress_handler(budget.exhausted, _SQL_STEPS)
        try:
            hits = ArrayHits(evaluator.translate(node), node)
        except sqlite3.OperationalError:
            if budget.spent:
                raise budget.error() from None
            raise
        finally:
            self.db.set_progress_handler(None, 0)
        budget.check()
        return self.sort(hits, [RELEVANCE]) if ranked else hits

    # -- ranking statistics (index.engines.ranking.Statistics) -----------------------------------
    def occurrences(self, field_name: str, word: str) -> np.ndarray:
        return self.positions(field_name, word)

    def length_table(self) -> ranking.LengthTable:
        """Every title's field lengths, read once per set of segments (2 bytes a field and title)."""
        if self._lengths is None:
            width = 1 + len(ranking.LENGTH_FIELDS)
            parts = [np.zeros((0, width), dtype=np.int32)]
            for segment in self._segments.values():
                path = lengths_path(self.directory, segment.number)
                rows = np.fromfile(path, dtype="<i4").reshape(-1, width) if path.exists() else parts[0]
                parts.append(rows[segment.valid(rows[:, 0].astype(np.int64), np.arange(len(rows)))])
            table = np.concatenate(parts)
            table = table[np.argsort(table[:, 0], kind="stable")]
            # lengths are capped at 65,535 when built
            self._lengths = ranking.LengthTable(table[:, 0].astype(np.int64), table[:, 1:].astype(np.uint16))
        return self._lengths

    def sort(self, hits: ArrayHits, keys: Sequence[SortKey]) -> ArrayHits:
        isns = hits.isns.tolist()

        def column(field: SortField):
            if field is SortField.RELEVANCE:
                return ranking.scores(self, hits.isns, hits.words).tolist().__getitem__
            values = controltable.sort_values(self.db, isns, field)
            return lambda at: values.get(isns[at], "")

        order = sort_order(len(isns), keys, column)
        return ArrayHits(hits.isns[np.array(order, dtype=np.int64)] if order else hits.isns, hits.node)

    def scan(self, index: str, start: str, *, count: int, preferred_position: int = 1) -> tuple[list[ScanEntry], int]:
        spec = queryterms.scannable(index)
        field_name = exact_field(index) if spec.kind is IndexKind.WORDS and spec.exact else index
        start_key = normalize(start)
        query = ("SELECT term, sum(docs) FROM terms WHERE field = ? AND term {} ? GROUP BY term "
                 "ORDER BY term {} LIMIT ?")
        before = self._scan_side(query.format("<", "DESC"), field_name, start_key, max(preferred_position - 1, 0))
        after = self._scan_side(query.format(">=", "ASC"), field_name, start_key, count)
        return scan_window(before, after, count, preferred_position)

    def _scan_side(self, query: str, field_name: str, start: str, count: int) -> list[tuple[str, int]]:
        if len(self._segments) == 1:
            return self.db.execute(query, (field_name, start, count)).fetchall()
        # updates void older postings: count what is still valid, leave out terms left with none
        pairs = self.db.execute(query, (field_name, start, 2 * count + 10)).fetchall()
        counted = ((term, len(self.docs(field_name, term))) for term, _ in pairs)
        return [(term, hits) for term, hits in counted if hits][:count]

    def isns(self, hits: ArrayHits, start: int, count: int) -> list[int]:
        return hits.isns[start:start + count].tolist()

    def briefs(self, hits: ArrayHits, start: int, count: int) -> list[Brief]:
        return controltable.briefs(self.db, hits.isns[start:start + count].tolist())

    def facet_counts(self, hits: ArrayHits, facet: str, widen: Widening | None = None) -> FacetCounts:
        """Titles of `hits` per value of `facet` (`index.engines.facets`); `widen` counts the
        titles of some values under others too (a consortium's under its members)."""
        return self._facets.get(facet, widen).counts(hits.isns)
