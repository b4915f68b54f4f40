"""Searching the Whoosh index: the only module that runs Whoosh searchers.

A `Hits` is a snapshot: the searcher it came from plus the matching document numbers in
their order. Document numbers are turned into ISNs through a column, so nothing reads the
stored fields of every hit; only the brief entries of a page are read.
"""

from __future__ import annotations

import json
import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

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
from index.engines.facets import FACETS, FacetColumn, FacetColumns, FacetCounts, Widening
from index.engines.whoosh.compile import compile_query
from index.engines.whoosh.keytable import TABLE_FIELDS, KeyTable
from index.query import Node
from index.searchkeys import queryterms
from index.searchkeys.normalize import normalize


@dataclass
class Hits:
    searcher: Searcher
    docnums: list[int]
    query: wq.Query
    scores: dict[int, float] = field(default_factory=dict)
    node: Node | None = None      # the query that found them

    def __len__(self) -> int:
        return len(self.docnums)

    @property
    def words(self) -> list[ranking.QueryWord]:
        """The words that rank these hits, worked out only for a ranking (most searches have none)."""
        return ranking.query_words(self.node) if self.node is not None else []


OCCURRENCES_CACHE = 32
"""Words whose position codes a searcher keeps for ranking (frequent words are asked for again;
reading them back from Whoosh costs more than the rest of the ranking)."""

SORT_COLUMNS = {SortField.TITLE: "sort_title", SortField.AUTHOR: "sort_author", SortField.YEAR: "sort_year"}


class Engine:
    """An open Whoosh index directory."""

    def __init__(self, directory, limits: QueryLimits = QueryLimits()) -> None:
        self.limits = limits
        self._index = whoosh_index.open_dir(str(directory))
        self._searcher = self._index.searcher()
        self._lexicons: dict[str, list[bytes]] = {}   # scan's sorted terms per field, for this searcher
        self._docnums: dict[int, int] | None = None   # ISN -> docnum in this searcher
        self._out_of_order: dict[int, int] | None = None   # docnum -> ISN where updates broke ISN order
        self._years: tuple[list[str], list[list[int]]] | None = None   # year keys, docnums of each
        self._facets = FacetColumns(self._facet_column)   # facet columns of this searcher, by docnum
        self._lengths: ranking.LengthTable | None = None   # field lengths of live titles, by ISN
        self._isns: np.ndarray | None = None   # docnum -> ISN, -1 for a deleted document
        self._occurrences: dict[tuple[str, str], np.ndarray] = {}   # recently ranked words' position codes
        self._directory = Path(directory)
        self._inode = os.stat(self._directory).st_ino   # a full rebuild puts a new directory here
        self._keys = KeyTable(self._directory, readonly=True)

    def close(self) -> None:
        self._keys.close()
        self._searcher.close()
        self._index.close()

    def _docnum_map(self) -> dict[int, int]:
        if self._docnums is None:
            reader = self._searcher.reader()
            column = _column(reader, "isn")
            self._docnums = {column[docnum]: docnum for docnum in reader.all_doc_ids()}
        return self._docnums

    def _in_isn_order(self, docnums: list[int]) -> list[int]:
        """`docnums` (ascending) in the order of their ISNs. A full build adds titles in ISN
        order; an update re-adds changed titles at the end, and then the order needs the ISNs."""
        if self._out_of_order is None:
            docnums_by_isn = self._docnum_map()
            isns = list(docnums_by_isn)   # in docnum order: the dict was filled so
            in_order = all(a < b for a, b in zip(isns, isns[1:], strict=False))
            self._out_of_order = {} if in_order else {d: isn for isn, d in docnums_by_isn.items()}
        isn_of = self._out_of_order
        return sorted(docnums, key=isn_of.__getitem__) if isn_of else docnums

    def _as_docnums(self, isns: Iterable[int]) -> list[int]:
        docnums = self._docnum_map()
        return [docnums[isn] for isn in isns if isn in docnums]

    # KeyLookup for the compiler: the key table's ISNs as this searcher's docnums
    def equal(self, field: str, key: str) -> list[int]:
        return self._as_docnums(self._keys.equal(field, key))

    def prefix(self, field: str, prefix: str) -> list[int]:
        return self._as_docnums(self._keys.prefix(field, prefix))

    def first_words(self, field: str, words: str) -> list[int]:
        return self._as_docnums(self._keys.first_words(field, words))

    def glob(self, field: str, masked: str) -> list[int]:
        return self._as_docnums(self._keys.glob(field, masked))

    def between(self, field: str, low: str | None, high: str | None, *, low_exclusive: bool = False,
                high_exclusive: bool = False) -> list[int]:
        if field != "year":
            return self._as_docnums(self._keys.between(field, low, high, low_exclusive=low_exclusive,
                                                       high_exclusive=high_exclusive))
        # Year ranges are frequent and wide (a limit on every search): the docnums of each year
        # are kept per searcher, so a range is a concatenation, not a query.
        keys, docnums = self._year_lists()
        first = 0 if low is None else (bisect_right if low_exclusive else bisect_left)(keys, low)
        last = len(keys) if high is None else (bisect_left if high_exclusive else bisect_right)(keys, high)
        return [docnum for per_year in docnums[first:last] for docnum in per_year]

    def _year_lists(self) -> tuple[list[str], list[list[int]]]:
        if self._years is None:
            by_year: dict[str, list[int]] = {}
            mapping = self._docnum_map()
            for key, isn in self._keys.db.execute("SELECT key, isn FROM keys WHERE field = 'year' ORDER BY key"):
                if isn in mapping:
                    by_year.setdefault(key, []).append(mapping[isn])
            self._years = (list(by_year), list(by_year.values()))
        return self._years

    def refresh(self) -> bool:
        """Take up an update (a new generation) or a rebuild (a new directory) committed since
        the last refresh; cheap when there is none. True when there was one.

        A new searcher, not Whoosh's `Searcher.refresh()`: that reuses the reader of every segment
        it already had (matched by segment id), with the deletions the segment had then, so titles
        an update replaced or deleted were still found; and whoosh-reloaded 2.7.5 keeps the readers
        of segments a merge removed. The old searcher stays open for the hits taken from it.
        """
        try:
            inode = os.stat(self._directory).st_ino
            if inode == self._inode and self._index.latest_generation() == self._searcher.reader().generation():
                return False
        except FileNotFoundError:   # a rebuild is just swapping directories
            return False
        self._index = whoosh_index.open_dir(str(self._directory))
        self._inode = inode
        self._searcher = self._index.searcher()
        self._lexicons = {}
        self._docnums = None
        self._out_of_order = None
        self._years = None
        self._facets = FacetColumns(self._facet_column)
        self._lengths = None
        self._isns = None
        self._occurrences = {}
        self._keys.close()   # a full rebuild replaces the directory: reopen the table there
        self._keys = KeyTable(self._directory, readonly=True)
        return True

    @property
    def searcher(self) -> Searcher:
        return self._searcher

    def search(self, node: Node, resolve_set: ResolveSet, *, ranked: bool = False) -> Hits:
        searcher = self._searcher
        budget = Budget(self.limits)
        try:
            query = compile_query(node, lambda name: self.docnums_of_isns(resolve_set(name)), self, searcher.reader(),
                                  budget)
            docnums = self._in_isn_order(sorted(set(_docs(query, searcher, budget))))
            hits = Hits(searcher, docnums, query, node=node)
        finally:
            budget.close()   # ranking is not within the search's seconds (as a later relevance sort)
        return self.sort(hits, [RELEVANCE]) if ranked else hits

    # -- ranking statistics (index.engines.ranking.Statistics), of this searcher -------------------
    def occurrences(self, field_name: str, word: str) -> np.ndarray:
        key = (field_name, word)
        codes = self._occurrences.get(key)
        if codes is None:
            if len(self._occurrences) >= OCCURRENCES_CACHE:
                self._occurrences.clear()
            codes = self._occurrences[key] = self._read_occurrences(field_name, word)
        return codes

    def _read_occurrences(self, field_name: str, word: str) -> np.ndarray:
        """Decoding positions is most of the cost of ranking here: the loop only collects them."""
        reader = self._searcher.reader()
        if field_name not in reader.indexed_field_names():
            return np.zeros(0, dtype=np.int64)
        try:
            postings = reader.postings(field_name, word)
        except TermNotFound:
            return np.zeros(0, dtype=np.int64)
        docnums, counts, positions = array("q"), array("q"), array("q")
        for docnum, found in postings.items_as("positions"):
            docnums.append(docnum)
            counts.append(len(found))
            positions.extend(found)
        isns = self._isn_array()[np.frombuffer(docnums, dtype=np.int64)] if docnums else np.zeros(0, np.int64)
        codes = (np.repeat(isns, np.frombuffer(counts, dtype=np.int64)) << ranking.POSITION_BITS) \
            | (np.frombuffer(positions, dtype=np.int64) if positions else np.zeros(0, np.int64))
        return np.sort(codes[codes >= 0])   # deleted documents have ISN -1

    def _isn_array(self) -> np.ndarray:
        """docnum -> ISN of this searcher's documents, -1 for a deleted one."""
        if self._isns is None:
            reader = self._searcher.reader()
            self._isns = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            for isn, docnum in self._docnum_map().items():
                self._isns[docnum] = isn
        return self._isns

    def length_table(self) -> ranking.LengthTable:
        if self._lengths is None:
            docnums = self._docnum_map()   # ISN -> docnum of the live documents, in docnum order
            width = len(ranking.LENGTH_FIELDS)
            length_column = _column(self._searcher.reader(), "lengths")
            isns = np.fromiter(docnums, dtype=np.int64, count=len(docnums))
            table = np.frombuffer(b"".join(length_column[d] for d in docnums.values()),
                                  dtype=np.uint16).reshape(-1, width)
            order = np.argsort(isns, kind="stable")
            self._lengths = ranking.LengthTable(isns[order], table[order])
        return self._lengths

    def docnums_of_isns(self, hits: Hits) -> list[int]:
        """The docnums in the current searcher of the titles in `hits` (from an older snapshot)."""
        if hits.searcher is self._searcher:
            return hits.docnums
        return self._as_docnums(isns_of(hits, 0, len(hits.docnums)))

    def sort(self, hits: Hits, keys: Sequence[SortKey]) -> Hits:
        """A new `Hits` in the order of `keys`."""
        docnums = hits.docnums
        scores = hits.scores

        def column(field: SortField):
            nonlocal scores
            if field is SortField.RELEVANCE:
                if not scores:
                    # by ISN: the statistics are the current searcher's, the hits may be older
                    found = ranking.scores(self, np.array(isns_of(hits, 0, len(docnums)), dtype=np.int64), hits.words)
                    scores = dict(zip(docnums, found.tolist(), strict=True))
                return lambda at: scores.get(docnums[at], 0.0)
            values = _column(hits.searcher.reader(), SORT_COLUMNS[field])
            return lambda at: values[docnums[at]]

        order = sort_order(len(docnums), keys, column)
        return Hits(hits.searcher, [docnums[at] for at in order], hits.query, scores, hits.node)

    def scan(self, index: str, start: str, *, count: int, preferred_position: int = 1) -> tuple[list[ScanEntry], int]:
        """Terms of `index` around `start`: returns the entries and the position of `start` in them (1-based).

        Scans the whole-field keys of word indexes (what a librarian browses) and the keys of key
        indexes, with the number of titles each key occurs in.
        """
        spec = queryterms.scannable(index)
        start_key = normalize(start)
        wanted_before = max(preferred_position - 1, 0)
        if spec.exact_keys_in_table:
            before, after = self._keys.scan(index, start_key, wanted_before, count)
            return scan_window(before, after, count, preferred_position)
        reader = self._searcher.reader()
        if index not in reader.indexed_field_names():
            return [], 1
        all_terms = self._lexicons.get(index)
        if all_terms is None:
            all_terms = self._lexicons[index] = list(reader.lexicon(index))
        at = bisect_left(all_terms, start_key.encode("utf-8"))

        def entries(positions: range, wanted: int) -> list[tuple[str, int]]:
            found = []
            for position in positions:
                if len(found) == wanted:
                    break
                term = all_terms[position]
                if titles := self._titles_with(index, term):   # a term only deleted titles had is not listed
                    found.append((term.decode("utf-8"), titles))
            return found

        before = entries(range(at - 1, -1, -1), wanted_before)
        after = entries(range(at, len(all_terms)), count)
        return scan_window(before, after, count, preferred_position)

    def _titles_with(self, index: str, term: bytes) -> int:
        """The live titles whose `index` holds `term`. Whoosh's document frequency also counts
        the documents an update deleted (a replaced title's old version too)."""
        reader = self._searcher.reader()
        if not reader.has_deletions():
            return reader.doc_frequency(index, term)
        docnums = np.fromiter(reader.postings(index, term).all_ids(), dtype=np.int64)
        return int(np.count_nonzero(self._isn_array()[docnums] >= 0))

    def isns(self, hits: Hits, start: int, count: int) -> list[int]:
        return isns_of(hits, start, count)

    def briefs(self, hits: Hits, start: int, count: int) -> list[Brief]:
        return briefs_of(hits, start, count)

    def facet_counts(self, hits: Hits, facet: str, widen: Widening | None = None) -> FacetCounts:
        """Titles of `hits` per value of `facet` (`index.engines.facets`); `widen` counts the
        titles of some values under others too (a consortium's under its members)."""
        if hits.searcher is not self._searcher:   # hits of an older snapshot: count them in this one
            hits = Hits(self._searcher, self.docnums_of_isns(hits), hits.query)
        return self._facets.get(facet, widen).counts(np.fromiter(hits.docnums, dtype=np.int64, count=len(hits.docnums)))

    def _facet_column(self, facet: str) -> FacetColumn:
        """The (docnum, value) pairs of `facet`: from the key table (whole keys, years) or
        from the Whoosh field of a low-cardinality code (library, language, material type)."""
        index = FACETS[facet]
        if index in TABLE_FIELDS:
            docnums = self._docnum_map()
            rows = self._keys.db.execute("SELECT key, isn FROM keys WHERE field = ?", (index,))
            if index == "year":
                rows = ((f"{int(key):04d}", isn) for key, isn in rows if key.isdigit())
            column = FacetColumn.from_pairs((key, docnums[isn]) for key, isn in rows if isn in docnums)
            return column.decades() if facet == "decade" else column
        reader = self._searcher.reader()
        if index not in reader.indexed_field_names():
            return FacetColumn.from_pairs(())
        return FacetColumn.from_postings(
            (term.decode("utf-8"), np.fromiter(reader.postings(index, term).all_ids(), dtype=np.int64))
            for term in reader.lexicon(index))


# Matches taken between two checks of the budget (a match of a large Or costs a few us).
_CHECK_EVERY = 1024


def _docs(query: wq.Query, searcher: Searcher, budget: Budget) -> list[int]:
    """The docnums `query` matches (Query.docs), taken within `budget`."""
    try:
        matcher = query.matcher(searcher, searcher.boolean_context())
    except TermNotFound:
        return []
    return list(budget.every(matcher.all_ids(), _CHECK_EVERY))


def _column(reader, name: str):
    """The column `name` of `reader`. An index without a document (a catalog served before its
    first load) has Whoosh's EmptyReader, which has no columns at all: an empty one."""
    if reader.doc_count_all() == 0:
        return []
    return reader.column_reader(name)


def isns_of(hits: Hits, start: int, count: int) -> list[int]:
    """ISNs of hits[start:start+count] (0-based slice)."""
    column = _column(hits.searcher.reader(), "isn")
    return [column[d] for d in hits.docnums[start:start + count]]


def briefs_of(hits: Hits, start: int, count: int) -> list[Brief]:
    """Brief entries (index-control data) of hits[start:start+count]."""
    briefs = []
    for docnum in hits.docnums[start:start + count]:
        stored = hits.searcher.stored_fields(docnum)
        title, author, year, imprint, mtype, language = json.loads(stored["brief"])
        briefs.append(Brief(stored["isn"], title, author, year, imprint, mtype, language))
    return briefs
