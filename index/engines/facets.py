"""Facets: how many titles of a whole result have each value of a field, for every engine.

Counts are exact over the whole result, never over its first hits (Koha counts the first 20 to
100). Each engine keeps, per facet field, a `FacetColumn`: the (title, value) pairs of every
title, sorted by title, built once per opened index from what the engine already stores (the
posting arrays' lexicon slices; Whoosh's key fields and key table). Counting a result is then
one vectorized pass: mark the result's titles, pick the pairs of marked titles, `bincount` their
value ids. The engine only says which titles (ISNs or its own document numbers) a result holds.

Which field each facet counts (`FACETS`), the order and window of the values a client asks for
(`FacetRequest`, `select`) and the decades derived from years are decided here, once, so every
engine and protocol answers alike. Values are the index's keys as a search finds them (a facet
value searched in its index finds exactly its count): normalized keys for names, subjects and
series, four-digit years, `1990-1999` for a decade (a year range a search takes as one term).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

FACETS: dict[str, str] = {
    "library": "library", "language": "language", "year": "year", "decade": "year",
    "material_type": "material_type", "author": "author", "subject": "subject", "series": "series",
}
"""Facet name -> the search index whose keys it counts (a decade counts years)."""

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
"""Values of one facet a client may ask for at once (Zebra allows 1000 terms a scan)."""


class FacetSort(Enum):
    COUNT = "count"                 # most titles first, ties in key order
    ALPHANUMERIC = "alphanumeric"   # in key order


@dataclass(frozen=True)
class FacetRequest:
    """One facet a client asks for: `limit` values from the `start`-th (1-based) in `sort` order."""

    name: str
    limit: int = DEFAULT_LIMIT
    start: int = 1
    sort: FacetSort = FacetSort.COUNT

    def __post_init__(self) -> None:
        if self.name not in FACETS:
            raise ValueError(f"no facet {self.name!r} (facets: {', '.join(FACETS)})")
        if not 0 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"a facet limit is 0 to {MAX_LIMIT}, not {self.limit}")
        if self.start < 1:
            raise ValueError(f"a facet start is 1 or more, not {self.start}")


@dataclass(frozen=True)
class FacetTerm:
    term: str
    count: int


@dataclass(frozen=True)
class Facet:
    """The chosen values of one facet with their counts; `distinct` is how many values the
    result has in all (for paging)."""

    name: str
    terms: tuple[FacetTerm, ...]
    distinct: int


@dataclass(frozen=True)
class FacetCounts:
    """Titles of a result per value of one facet: `counts[i]` titles have `terms[i]` (terms in
    key order, zero counts included)."""

    terms: Sequence[str]
    counts: np.ndarray


_EMPTY = np.zeros(0, dtype=np.int64)


class FacetColumn:
    """The (title, value id) pairs of one facet field, sorted by title. Titles are whatever
    numbers an engine's results hold (ISNs, document numbers); values are ids into `terms`."""

    def __init__(self, docs: np.ndarray, values: np.ndarray, terms: Sequence[str]) -> None:
        order = np.argsort(docs, kind="stable")
        self.docs = np.asarray(docs, dtype=np.int64)[order]
        self.values = np.asarray(values, dtype=np.int64)[order]
        self.terms = list(terms)

    @classmethod
    def from_postings(cls, postings: Iterable[tuple[str, np.ndarray]]) -> FacetColumn:
        """A column from (term, titles of that term) pairs."""
        terms, docs, owners = [], [_EMPTY], [_EMPTY]
        for term, found in postings:
            if len(found):
                docs.append(np.asarray(found, dtype=np.int64))
                owners.append(np.full(len(found), len(terms), dtype=np.int64))
                terms.append(term)
        return cls.from_runs(terms, np.concatenate(docs), np.concatenate(owners))

    @classmethod
    def from_runs(cls, terms: Sequence[str], docs: np.ndarray, owners: np.ndarray) -> FacetColumn:
        """A column from titles `docs` and the index in `terms` of each one's term; a term given
        twice in `terms` (by two index segments) is one value."""
        if all(map(str.__lt__, terms, terms[1:])):   # one index segment: distinct and in key order
            return cls(docs, owners, terms)
        ids: dict[str, int] = {}
        value_of = np.array([ids.setdefault(term, len(ids)) for term in terms], dtype=np.int64)
        values = value_of[owners] if len(owners) else _EMPTY
        return cls._in_key_order(np.asarray(docs, dtype=np.int64), values, list(ids))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, int]]) -> FacetColumn:
        """A column from (term, title) pairs."""
        ids: dict[str, int] = {}
        docs, values = [], []
        for term, doc in pairs:
            docs.append(doc)
            values.append(ids.setdefault(term, len(ids)))
        return cls._in_key_order(np.array(docs, dtype=np.int64), np.array(values, dtype=np.int64), list(ids))

    @classmethod
    def _in_key_order(cls, docs: np.ndarray, values: np.ndarray, terms: list[str]) -> FacetColumn:
        """Renumber the values so that ids follow the terms' order (alphanumeric order is id order)."""
        order = sorted(range(len(terms)), key=terms.__getitem__)
        rank = np.empty(len(terms), dtype=np.int64)
        rank[np.array(order, dtype=np.int64)] = np.arange(len(terms), dtype=np.int64)
        return cls(docs, rank[values] if len(values) else values, [terms[i] for i in order])

    def decades(self) -> FacetColumn:
        """This column of years as decades (`1990-1999`); a title with two years of one decade
        counts once in it."""
        years = np.array([int(term) for term in self.terms], dtype=np.int64)
        decade = years[self.values] // 10 if len(self.values) else _EMPTY
        starts = np.unique(decade)
        ids = np.searchsorted(starts, decade)
        pairs = np.unique(self.docs * len(starts) + ids)    # one (title, decade) pair each
        docs, ids = np.divmod(pairs, max(len(starts), 1))
        return FacetColumn(docs, ids, [f"{start * 10:04d}-{start * 10 + 9:04d}" for start in starts.tolist()])

    def widened(self, members: Mapping[str, Sequence[str]]) -> FacetColumn:
        """This column with each title of a term in `members` (a consortium's sigel) also
        counted under each of that term's members; a title counts once under a member however
        many of its consortia hold it (`index.consortia`: a consortium's holding is every
        member's)."""
        terms = list(self.terms)
        ids = {term: at for at, term in enumerate(terms)}
        docs, values = [self.docs], [self.values]
        for group, group_members in members.items():
            if group not in ids:
                continue
            held = self.docs[self.values == ids[group]]
            for member in group_members:
                member_id = ids.setdefault(member, len(terms))
                if member_id == len(terms):
                    terms.append(member)
                docs.append(held)
                values.append(np.full(len(held), member_id, dtype=np.int64))
        pairs = np.unique(np.stack([np.concatenate(docs), np.concatenate(values)], axis=1), axis=0)
        return FacetColumn._in_key_order(pairs[:, 0], pairs[:, 1], terms)

    def counts(self, hits: np.ndarray) -> FacetCounts:
        """Titles of `hits` (distinct, any order) per value."""
        hits = np.asarray(hits, dtype=np.int64)
        if not len(hits) or not len(self.docs):
            return FacetCounts(self.terms, np.zeros(len(self.terms), dtype=np.int64))
        if len(hits) * 16 < len(self.docs):
            # a small result: binary-search each hit's run of pairs rather than pass over all pairs
            first = np.searchsorted(self.docs, hits, "left")
            runs = np.searchsorted(self.docs, hits, "right") - first
            rows = np.repeat(first - np.cumsum(runs) + runs, runs) + np.arange(int(runs.sum()))
            chosen = self.values[rows]
        else:
            marks = np.zeros(max(int(self.docs[-1]), int(hits.max())) + 1, dtype=bool)
            marks[hits] = True
            chosen = self.values[marks[self.docs]]
        return FacetCounts(self.terms, np.bincount(chosen, minlength=len(self.terms)))


Widening = Mapping[str, Sequence[str]]
"""Values that also count under others (a consortium's key -> its members' keys)."""


class FacetColumns:
    """An engine's facet columns, each built on first use by `build(facet)` and kept until the
    engine drops this cache (when its index changes); widened columns are kept per widening."""

    def __init__(self, build: Callable[[str], FacetColumn]) -> None:
        self._build = build
        self._columns: dict[tuple[str, tuple], FacetColumn] = {}

    def get(self, facet: str, widen: Widening | None = None) -> FacetColumn:
        key = (facet, tuple(sorted((group, tuple(members)) for group, members in (widen or {}).items())))
        column = self._columns.get(key)
        if column is None:
            column = self.get(facet).widened(widen) if key[1] else self._build(facet)
            self._columns[key] = column
        return column

    def built(self) -> list[FacetColumn]:
        return list(self._columns.values())


def select(name: str, counts: FacetCounts, request: FacetRequest) -> Facet:
    """The values `request` asks for, from the counts of a whole result (values no title of the
    result has are left out)."""
    present = np.flatnonzero(counts.counts)
    distinct = len(present)
    wanted = request.start - 1 + request.limit
    if request.sort is FacetSort.COUNT and len(present) > wanted:
        # Only the first `wanted` in count order are needed: those above the wanted-th count,
        # and of those equal to it the first ones in key order. (A full sort of a name facet's
        # 100,000 values cost more than counting them.)
        values = counts.counts[present]
        # the wanted-th largest count, from the histogram of counts (np.partition is slow on
        # the many equal small counts of a name facet)
        at_least = np.cumsum(np.bincount(values)[::-1])   # at_least[k]: values with count >= max - k
        threshold = len(at_least) - 1 - int(np.searchsorted(at_least, wanted)) if wanted else values.max() + 1
        above, equal = present[values > threshold], present[values == threshold]
        present = np.concatenate([above, equal[:max(wanted - len(above), 0)]])
    if request.sort is FacetSort.COUNT:
        # most titles first; ties keep key order (ids are in key order, the sort is stable)
        present = present[np.argsort(-counts.counts[present], kind="stable")]
    chosen = present[request.start - 1:wanted]
    terms = tuple(FacetTerm(counts.terms[i], int(counts.counts[i])) for i in chosen.tolist())
    return Facet(name, terms, distinct)
