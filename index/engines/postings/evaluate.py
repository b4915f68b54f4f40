"""The neutral query tree (`index.query`) answered as sorted ISN arrays.

Each node becomes a sorted, duplicate-free int64 array of ISNs; AND, OR and NOT are numpy set
operations. Phrases and proximity work on position codes (`ISN << 32 | position`): the words of
a phrase are adjacent when the codes of word k, less k, meet those of word 0. What a term means
is decided in `index.searchkeys.queryterms`, as for the other engines, so all answer alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from index.engines.base import Budget, Translator
from index.engines.postings.layout import POSITION_BITS, exact_field
from index.query import And, Node, Prox, Relation, Term, Truncation
from index.searchkeys import queryterms
from index.searchkeys.normalize import normalize
from index.searchkeys.queryterms import WordsKind
from index.searchkeys.spec import BY_NAME, IndexKind, IndexSpec

EMPTY = np.zeros(0, dtype=np.int64)


class Lexicon(Protocol):
    """What evaluation needs from the open index (`index.engines.postings.searcher`)."""

    def docs(self, field: str, term: str) -> np.ndarray: ...
    def positions(self, field: str, term: str) -> np.ndarray: ...
    def terms(self, field: str, low: str, high: str, limit: int | None = None) -> list[str]: ...
    def matching_terms(self, field: str, glob: str, limit: int | None = None) -> list[str]: ...
    def all_isns(self) -> np.ndarray: ...
    def years(self) -> tuple[np.ndarray, np.ndarray]: ...


# Two long sorted arrays of values from a dense range (ISNs, not position codes) are combined
# through a bitmap (linear) rather than by binary search (n log m) or by sorting their
# concatenation (np.intersect1d and co.).
_BITMAP_FROM = 4096


def _dense(left: np.ndarray, right: np.ndarray) -> bool:
    return min(len(left), len(right)) >= _BITMAP_FROM and max(left[-1], right[-1]) < 64 * (len(left) + len(right))


def _bitmap(*arrays: np.ndarray) -> np.ndarray:
    marks = np.zeros(max(int(a[-1]) for a in arrays) + 1, dtype=bool)
    marks[arrays[0]] = True
    return marks


def intersect(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if len(left) > len(right):
        left, right = right, left
    if not len(left):
        return EMPTY
    if _dense(left, right):
        marks = _bitmap(right, left)
        return left[marks[left]]
    at = np.searchsorted(right, left)
    at[at == len(right)] = 0
    return left[right[at] == left]


def union(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if not len(left):
        return right
    if not len(right):
        return left
    if _dense(left, right):
        marks = _bitmap(left, right)
        marks[right] = True
        return np.flatnonzero(marks).astype(np.int64)
    return distinct(np.sort(np.concatenate((left, right))))


def difference(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if not len(left) or not len(right):
        return left
    if _dense(left, right):
        marks = _bitmap(right, left)
        return left[~marks[left]]
    at = np.searchsorted(right, left)
    at[at == len(right)] = 0
    return left[right[at] != left]


def distinct(ordered: np.ndarray) -> np.ndarray:
    """A sorted array without its repeats (cheaper than np.unique, which hashes)."""
    if len(ordered) < 2:
        return ordered
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first]


def runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how often each occurs."""
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def unite(parts: list[np.ndarray]) -> np.ndarray:
    parts = [part for part in parts if len(part)]
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    return distinct(np.sort(np.concatenate(parts)))


def isns_of(codes: np.ndarray) -> np.ndarray:
    """The distinct ISNs of sorted position codes."""
    return distinct(codes >> POSITION_BITS)


# Posting lists read between two checks of the budget (each is a lookup and a read, ~20 us).
_CHECK_EVERY = 64


class Evaluator(Translator[np.ndarray]):
    def __init__(self, lexicon: Lexicon, resolve_set: Callable[[str], np.ndarray], budget: Budget) -> None:
        self.lexicon = lexicon
        self.resolve_set = resolve_set
        self.budget = budget

    def conjunction(self, node: And) -> np.ndarray:
        if _is_year(node.right):    # a limit: check the years of the other side's titles only
            return self.year(node.right, self.translate(node.left))
        if _is_year(node.left):
            return self.year(node.left, self.translate(node.right))
        return super().conjunction(node)

    def all_of(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return intersect(left, right)

    def any_of(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return union(left, right)

    def but_not(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return difference(left, right)

    def everything(self) -> np.ndarray:
        return self.lexicon.all_isns()

    def result_set(self, name: str) -> np.ndarray:
        return self.resolve_set(name)

    # -- terms -------------------------------------------------------------------------------
    def words(self, spec: IndexSpec, term: Term, plan: queryterms.WordsPlan) -> np.ndarray:
        if plan.kind is WordsKind.WHOLE:
            return self.whole_key(exact_field(spec.name), plan.text, plan.truncation)
        if plan.kind is WordsKind.FIRST:
            field, text = exact_field(spec.name), plan.text
            if plan.truncation is Truncation.RIGHT:
                return self.prefixed(field, text)
            return union(self.lexicon.docs(field, text), self.prefixed(field, text + " "))
        if plan.kind is WordsKind.PHRASE:
            return isns_of(self.phrase(spec.name, plan.words, plan.truncation))
        found = [self.word(spec.name, word, plan.truncation) for word in plan.words]
        result = found[0]
        for other in found[1:]:
            result = union(result, other) if term.relation is Relation.RELEVANCE else intersect(result, other)
        return result

    def expansions(self, field: str, word: str, truncation: Truncation) -> list[str]:
        """The terms a truncated or masked word stands for, within the budget's limits (the
        lexicon is asked for one more than may be taken, so a left truncation stops early)."""
        limit = self.budget.limits.truncation_terms + 1
        if truncation is Truncation.RIGHT:
            terms = self.lexicon.terms(field, word, word + "\U0010ffff", limit)
        else:
            terms = self.lexicon.matching_terms(field, queryterms.glob_pattern(queryterms.pattern(word, truncation)),
                                                limit)
        return self.budget.expand(word + "*" if truncation is Truncation.RIGHT else queryterms.pattern(word, truncation),
                                  terms)

    def docs_of(self, field: str, terms: list[str]) -> np.ndarray:
        """The titles of any of `terms`, read within the budget."""
        return unite([self.lexicon.docs(field, term) for term in self.budget.every(terms, _CHECK_EVERY)])

    def word(self, field: str, word: str, truncation: Truncation) -> np.ndarray:
        if not queryterms.is_masked(word, truncation):
            return self.lexicon.docs(field, word)
        return self.docs_of(field, self.expansions(field, word, truncation))

    def word_positions(self, field: str, word: str, truncation: Truncation) -> np.ndarray:
        if not queryterms.is_masked(word, truncation):
            return self.lexicon.positions(field, word)
        terms = self.budget.every(self.expansions(field, word, truncation), _CHECK_EVERY)
        parts = [self.lexicon.positions(field, term) for term in terms]
        parts = [part for part in parts if len(part)]
        return np.sort(np.concatenate(parts)) if parts else EMPTY

    def phrase(self, field: str, words: list[str], truncation: Truncation) -> np.ndarray:
        """Position codes where the phrase starts."""
        starts = self.lexicon.positions(field, words[0])
        for offset, word in enumerate(words[1:], start=1):
            if not len(starts):
                return EMPTY
            last = offset == len(words) - 1
            following = self.word_positions(field, word, truncation if last else Truncation.NONE)
            starts = intersect(starts, following - offset)
        return starts

    def prefixed(self, field: str, prefix: str) -> np.ndarray:
        # whole keys (as the key table of the Whoosh engine has them): not counted as expanded
        # words, at most one key a title per field, read within the budget's time
        return self.docs_of(field, self.lexicon.terms(field, prefix, prefix + "\U0010ffff"))

    def whole_key(self, field: str, text: str, truncation: Truncation) -> np.ndarray:
        if not queryterms.is_masked(text, truncation):
            return self.lexicon.docs(field, text)
        if truncation is Truncation.RIGHT:
            return self.prefixed(field, text)
        terms = self.lexicon.matching_terms(field, queryterms.glob_pattern(queryterms.pattern(text, truncation)))
        return self.docs_of(field, terms)

    def key(self, spec: IndexSpec, term: Term) -> np.ndarray:
        if spec.name == "isn":
            wanted = np.array([queryterms.isn_value(term)], dtype=np.int64)
            return intersect(wanted, self.lexicon.all_isns())
        if term.truncation is not Truncation.NONE:
            return self.whole_key(spec.name, queryterms.truncated_key(spec, term), term.truncation)
        return unite([self.lexicon.docs(spec.name, form) for form in queryterms.key_forms(spec, term.text)])

    def year(self, node: Node, within: np.ndarray | None = None) -> np.ndarray:
        """Titles with a year in the term's range (an And of year terms: in every range), of
        those `within` when given."""
        if isinstance(node, And):
            return self.year(node.right, self.year(node.left, within))
        assert isinstance(node, Term)
        years = queryterms.year_range(node)
        isns, values = self.lexicon.years()
        candidates = self.lexicon.all_isns() if within is None else within
        if within is not None and len(within) * 8 < len(isns):   # few candidates: look only at their years
            first, last = np.searchsorted(isns, within, "left"), np.searchsorted(isns, within, "right")
            counts = last - first
            starts = np.repeat(first - np.cumsum(counts) + counts, counts)
            rows = starts + np.arange(int(counts.sum()))
            isns, values = isns[rows], values[rows]
        inside = np.ones(len(isns), dtype=bool)
        if years.low is not None:
            inside &= values > int(years.low) if years.low_exclusive else values >= int(years.low)
        if years.high is not None:
            inside &= values < int(years.high) if years.high_exclusive else values <= int(years.high)
        found = distinct(isns[inside])
        if years.negated:
            return difference(candidates, found)
        return found if within is None else intersect(found, within)

    # -- proximity -----------------------------------------------------------------------------
    def prox(self, node: Prox) -> np.ndarray:
        window = queryterms.proximity_window(node)
        first, first_length = self.span_operand(window.spec.name, window.left)
        second, second_length = self.span_operand(window.spec.name, window.right)
        near = _spans_within(first, first_length, second, window.low, window.high)
        if not window.ordered:
            near = union(near, _spans_within(second, second_length, first, window.low, window.high))
        if node.exclusion:
            return difference(intersect(isns_of(first), isns_of(second)), near)
        return near


    def span_operand(self, field: str, term: Term) -> tuple[np.ndarray, int]:
        """The position codes where a proximity operand's span starts, and its length in words:
        its words as a phrase, or any one of them for a relevance term (as Whoosh's spans)."""
        words = normalize(term.text).split()
        if term.relation is Relation.RELEVANCE and len(words) > 1:
            return np.unique(np.concatenate([self.lexicon.positions(field, word) for word in words])), 1
        return self.phrase(field, words, Truncation.NONE), len(words)


def _is_year(node: Node) -> bool:
    if isinstance(node, And):
        return _is_year(node.left) and _is_year(node.right)
    return isinstance(node, Term) and node.index in BY_NAME and BY_NAME[node.index].kind is IndexKind.YEAR


def _spans_within(first: np.ndarray, length: int, second: np.ndarray, low: int, high: int) -> np.ndarray:
    """ISNs where a span of `second` starts at or after one of `first` (spans of `length` words
    starting at these codes) and lies `low` … `high` words from it, counted as Whoosh's spans do:
    from the end of the first to the start of the second, 0 when they overlap."""
    if not len(first) or not len(second):
        return EMPTY
    end = first + (length - 1)
    at = np.searchsorted(second, end + low if low > 0 else first, side="left")
    inside = at < len(second)
    near = np.zeros(len(first), dtype=bool)
    near[inside] = second[at[inside]] <= end[inside] + high
    return distinct(first[near] >> POSITION_BITS)
