"""Relevance ranking: the one model every engine ranks by.

A ranked search (a term with Z39.50 relation 102 or CQL `=/relevant`, a sort by relevance or
score, the web page's default order) puts its hits in the order of the score below. The engines
only supply statistics (`Statistics`: the position codes of a word in a field, every title's
field lengths); the score is computed here, on ISNs and `ISN << 32 | position` codes, so both
engines give the same scores and the same order.

The model is BM25F (Robertson and Zaragoza, "The Probabilistic Relevance Framework", 2009) with
three bonuses for the places of the words:

Query words. Every word of a positive term on a word index (not the right side of a NOT, not a
`<>` term), normalized as the keys are. Truncated and masked terms find titles but do not rank
them (they stand for many words); identifier, code, year and library terms only select.

Fields. A word searched in `any` (the web page, cql.serverChoice, Bib-1 Use 1016) is counted in
`title` (title proper, uniform, variant and series titles), `author`, `subject` and `any` (every
field, notes too) with the weights `ANY_FIELDS`: an occurrence in a title counts 4 + 1, in an
author 2 + 1, in a subject 1 + 1, in a note or any other field 1. A word searched in one index
(title, author, subject, ...) is counted in that index alone, weight 1.

Per query word w and title d, with tf_f(d) the occurrences of w in field f of d, len_f(d) the
words of f in d and avglen_f their mean over the catalog:

    tf'(d)  = sum over f of  W_f * tf_f(d) / (1 - B + B * len_f(d) / avglen_f)
    bm25(d) = idf(w) * tf'(d) * (K1 + 1) / (K1 + tf'(d))
    idf(w)  = ln(1 + (N - df + 0.5) / (df + 0.5))

N is the number of titles, df the titles with w in the searched index.

Phrase and proximity. For two query words next to each other in the query (same index):

    + PROXIMITY * min(idf(a), idf(b)) * max over f of (W_f / W_max) * closeness_f(d)

closeness is 1 when b directly follows a in one occurrence of field f, 1/2 when they are at most
NEAR words apart (either order), else 0.

First in field. A query word among the first FIRST_WORDS words of a field (its first occurrence:
245 for titles, the main entry for authors; `any` has no meaningful order and is left out):

    + FIRST * idf(w) * max over such f of (W_f / W_max)

The score of d is the sum of these over the query's words and pairs. Titles with equal scores
stay in ISN order (both engines list hits in ISN order before ranking).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.query import And, AndNot, Node, Or, Prox, Relation, Term, Truncation
from index.searchkeys import queryterms
from index.searchkeys.extract import TitleKeys
from index.searchkeys.spec import BY_NAME, INDEXES, IndexKind

K1 = 1.2
B = 0.75
ANY_FIELDS = {"title": 4.0, "author": 2.0, "subject": 1.0, "any": 1.0}
PROXIMITY = 1.0
NEAR = 4
FIRST = 0.5
FIRST_WORDS = 2   # a leading article ("The", "A") leaves the word second

LENGTH_FIELDS = tuple(spec.name for spec in INDEXES if spec.kind is IndexKind.WORDS)
"""The fields whose length (words) every title stores for ranking, in this order."""
LONGEST = 0xFFFF   # a field length is stored in 16 bits: longer fields count as this long

POSITION_BITS = 32
_POSITION_MASK = (1 << POSITION_BITS) - 1


@dataclass(frozen=True)
class QueryWord:
    index: str   # the word index searched
    word: str    # normalized


class LengthTable:
    """Every title's field lengths: `isns` ascending, `lengths` one row per title and one column
    per LENGTH_FIELDS, and their `averages` over the catalog, taken once with the table (a mean
    over a million titles takes some 30 ms: not work for each ranked search)."""

    def __init__(self, isns: np.ndarray, lengths: np.ndarray) -> None:
        self.isns = isns
        self.lengths = lengths
        self.averages = lengths.mean(axis=0) if len(lengths) else np.zeros(len(LENGTH_FIELDS))


class Statistics(Protocol):
    """What an engine supplies for ranking; both about the titles the index holds now."""

    def occurrences(self, field: str, word: str) -> np.ndarray:
        """Sorted position codes (`ISN << 32 | position`) of `word` in `field`; a field's
        keys in one title are numbered one after another with a gap of more than NEAR."""
        ...

    def length_table(self) -> LengthTable:
        ...


def field_lengths(title: TitleKeys) -> list[int]:
    """The words of each of LENGTH_FIELDS in `title` (what an index build stores)."""
    return [min(sum(len(key.split()) for key in title.keys.get(name, ())), LONGEST) for name in LENGTH_FIELDS]


def fields_of(index: str) -> dict[str, float]:
    """The fields a word searched in `index` is counted in, with their weights."""
    return dict(ANY_FIELDS) if index == "any" else {index: 1.0}


def query_words(node: Node) -> list[QueryWord]:
    """The words that rank the hits of `node`, in query order (see the module docstring)."""
    return list(_words(node))


def _words(node: Node) -> Iterator[QueryWord]:
    if isinstance(node, Term):
        spec = BY_NAME.get(node.index)
        if spec is None or spec.kind is not IndexKind.WORDS or node.relation is Relation.NE:
            return
        if node.truncation is not Truncation.NONE and queryterms.is_masked(node.text, node.truncation):
            return
        for word in queryterms.plan_words(spec, node).words:
            yield QueryWord(node.index, word)
    elif isinstance(node, AndNot):
        yield from _words(node.left)
    elif isinstance(node, (And, Or, Prox)):
        yield from _words(node.left)
        yield from _words(node.right)


RANKED_WORDS = 64
"""The first words of a query that rank its hits: each costs a pass over its postings, and a
query of thousands of words (a pasted text) ranked by all of them held a worker for 25 s."""


def scores(stats: Statistics, isns: np.ndarray, words: Sequence[QueryWord]) -> np.ndarray:
    """The score of each title of `isns` (distinct, any order) for the first RANKED_WORDS of `words`."""
    words = words[:RANKED_WORDS]
    isns = np.asarray(isns, dtype=np.int64)
    total = np.zeros(len(isns))
    if not len(isns) or not words:
        return total
    table = stats.length_table()
    titles = max(len(table.isns), 1)
    hits = _Hits(isns)
    row = _lookup(table.isns, isns)
    lengths = np.zeros((len(isns), len(LENGTH_FIELDS)))   # each hit's field lengths
    lengths[row >= 0] = table.lengths[row[row >= 0]]
    read: dict[tuple[str, str], tuple[int, np.ndarray]] = {}

    def occurrences(field: str, word: str) -> tuple[int, np.ndarray]:
        """The number of titles with `word` in `field`, and its codes in the hits' titles: the
        others change no hit's score (proximity is within a title), so the rest of the work is
        on the hits alone."""
        key = (field, word)
        if key not in read:
            codes = stats.occurrences(field, word)
            read[key] = _count_distinct(codes >> POSITION_BITS), hits.keep(codes)
        return read[key]

    idf: dict[QueryWord, float] = {}
    for word in dict.fromkeys(words):
        df = occurrences(word.index, word.word)[0]
        idf[word] = math.log(1 + (titles - df + 0.5) / (df + 0.5))
        fields = fields_of(word.index)
        heaviest = max(fields.values())
        weighted = np.zeros(len(isns))
        first = np.zeros(len(isns))
        for field, weight in fields.items():
            codes = occurrences(field, word.word)[1]
            if not len(codes):
                continue
            column = LENGTH_FIELDS.index(field)
            average = float(table.averages[column]) or 1.0
            weighted += weight * hits.counts(codes >> POSITION_BITS) / (1 - B + B * lengths[:, column] / average)
            if field != "any":
                leading = codes[(codes & _POSITION_MASK) < FIRST_WORDS] >> POSITION_BITS
                first = np.maximum(first, np.where(hits.member(leading), weight / heaviest, 0.0))
        total += idf[word] * weighted * (K1 + 1) / (K1 + weighted)
        total += FIRST * idf[word] * first
    for left, right in zip(words, words[1:], strict=False):
        if left.index != right.index or left.word == right.word:
            continue
        fields = fields_of(left.index)
        heaviest = max(fields.values())
        best = np.zeros(len(isns))
        for field, weight in fields.items():
            a, b = occurrences(field, left.word)[1], occurrences(field, right.word)[1]
            if not len(a) or not len(b):
                continue
            adjacent = hits.member(_sorted_common(a + 1, b) >> POSITION_BITS)
            near = hits.member(_within(a, b)) | hits.member(_within(b, a))
            closeness = np.where(adjacent, 1.0, np.where(near, 0.5, 0.0))
            best = np.maximum(best, weight / heaviest * closeness)
        total += PROXIMITY * min(idf[left], idf[right]) * best
    return total


class _Hits:
    """The titles being scored, found by ISN in one array (ISNs are dense, as the engines'
    bitmaps take them): a word's occurrences are counted and marked per hit in one pass over
    them, rather than by binary searches of every hit in them (most of the cost of ranking a
    large result)."""

    def __init__(self, isns: np.ndarray) -> None:
        self.size = len(isns)
        self._row = np.full(int(isns.max()) + 2, -1, dtype=np.int32)   # the last: every ISN beyond
        self._row[isns] = np.arange(len(isns))

    def keep(self, codes: np.ndarray) -> np.ndarray:
        """The position codes of `codes` in the hits' titles."""
        return codes[self._row[np.minimum(codes >> POSITION_BITS, len(self._row) - 1)] >= 0]

    def _rows(self, titles: np.ndarray) -> np.ndarray:
        """The hit row of each of `titles` that is a hit (repeats kept)."""
        rows = self._row[np.minimum(titles, len(self._row) - 1)]
        return rows[rows >= 0]

    def counts(self, titles: np.ndarray) -> np.ndarray:
        """How often each hit occurs among `titles`."""
        return np.bincount(self._rows(titles), minlength=self.size).astype(float)

    def member(self, titles: np.ndarray) -> np.ndarray:
        """Whether each hit is among `titles`."""
        found = np.zeros(self.size, dtype=bool)
        found[self._rows(titles)] = True
        return found


def _count_distinct(ordered: np.ndarray) -> int:
    """The number of distinct values of a sorted array."""
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1 if len(ordered) else 0


def _lookup(sorted_values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The index of each of `wanted` in `sorted_values`, -1 where absent."""
    if not len(sorted_values):
        return np.full(len(wanted), -1, dtype=np.int64)
    at = np.searchsorted(sorted_values, wanted)
    at[at == len(sorted_values)] = 0
    return np.where(sorted_values[at] == wanted, at, -1)


def _member(sorted_values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    return _lookup(sorted_values, wanted) >= 0


def _sorted_common(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The values of sorted `left` also in sorted `right`."""
    return left[_member(right, left)]


def _within(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """ISNs where a code of `second` follows one of `first` by 1 … NEAR positions."""
    at = np.searchsorted(second, first, side="right")
    inside = at < len(second)
    gap = second[at[inside]] - first[inside]
    return first[inside][(gap > 0) & (gap <= NEAR)] >> POSITION_BITS
