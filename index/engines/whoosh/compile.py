"""The one translator from the neutral query tree (`index.query`) to Whoosh queries.

Every combination it cannot honour raises an `index.errors` class; it never silently searches
something else. Search terms are normalized exactly as the search keys were.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from whoosh import query as wq
from whoosh.matching import AndNotMatcher, ListMatcher
from whoosh.query import spans
from whoosh.reading import TermNotFound
from whoosh.searching import SearchContext

from index import errors
from index.engines.base import Budget, Translator
from index.engines.whoosh.schema import FIELD_GAP
from index.query import Node, Prox, Relation, Term, Truncation
from index.searchkeys import queryterms
from index.searchkeys.queryterms import WordsKind
from index.searchkeys.spec import IndexSpec

MAX_PHRASE_EXPANSION = 2_000  # words the truncated end of a phrase may expand to
# proximity spans reach at most NEAR_WORDS words: never into the next occurrence of a field
assert queryterms.NEAR_WORDS <= FIELD_GAP


class _AndNotMatcher(AndNotMatcher):
    def _find_first(self) -> None:
        # whoosh-reloaded 2.7.5 skips the excluded side forward only when both sides start on the
        # same document, so an excluded document before which the other side starts got through.
        if self.a.is_active() and self.b.is_active():
            self._find_next()


class ExactAndNot(wq.AndNot):
    """Whoosh's AndNot with a correct first match (see _AndNotMatcher)."""

    def matcher(self, searcher, context=None):
        return _AndNotMatcher(self.a.matcher(searcher, context), self.b.matcher(searcher, searcher.boolean_context()))


class DocnumSet(wq.Query):
    """Matches a fixed set of documents: an earlier result set used as an operand."""

    def __init__(self, docnums: Sequence[int]) -> None:
        self.docnums = sorted(set(docnums))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocnumSet) and other.docnums == self.docnums

    def __hash__(self) -> int:
        return hash(tuple(self.docnums))

    def __repr__(self) -> str:
        return f"DocnumSet({len(self.docnums)} docs)"

    def estimate_size(self, ixreader) -> int:
        return len(self.docnums)

    def docs(self, searcher, deleting=False):
        return iter(self.docnums)

    def matcher(self, searcher, context=None):
        # the top-level searcher's docnums: queries run on it alone (ranking is index.engines.ranking,
        # not Whoosh's per-segment collector)
        return ListMatcher(self.docnums, all_weights=1.0) if self.docnums else wq.NullQuery.matcher(searcher)


class CheckedTerm(wq.Term):
    """A term of an expanded word: its matcher is opened within the search's budget."""

    def __init__(self, fieldname: str, btext: bytes, budget: Budget) -> None:
        super().__init__(fieldname, btext)
        self.budget = budget

    def matcher(self, searcher, context=None):
        self.budget.check()
        return super().matcher(searcher, context)


class Expanded(wq.MultiTerm):
    """A truncated or masked word, with the index terms it stands for looked up once, when
    compiled. Whoosh's Prefix and Wildcard walk the lexicon again for every size estimate and
    matcher, and an Or of them asks each for its estimate again at every level of the tree:
    `a* or b* or ... or p*` spent most of its 13 s (10,000 titles) there. Scores as Prefix and
    Wildcard do (constant per term)."""

    constantscore = True

    def __init__(self, fieldname: str, text: str, btexts: list[bytes], budget: Budget) -> None:
        self.fieldname = fieldname
        self.text = text
        self.btexts = btexts
        self.budget = budget
        self.boost = 1.0
        self._size: int | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expanded) and (other.fieldname, other.text, other.btexts) == \
            (self.fieldname, self.text, self.btexts)

    def __hash__(self) -> int:
        return hash((self.fieldname, self.text, len(self.btexts)))

    def __repr__(self) -> str:
        return f"Expanded({self.fieldname!r}, {self.text!r}, {len(self.btexts)} terms)"

    def field(self) -> str:
        return self.fieldname

    def _btexts(self, ixreader):
        return self.btexts

    def estimate_size(self, ixreader) -> int:
        if self._size is None:
            self._size = sum(ixreader.doc_frequency(self.fieldname, btext) for btext in self.budget.every(self.btexts))
        return self._size

    def matcher(self, searcher, context=None):
        if not self.btexts:
            return wq.NullQuery.matcher(searcher)
        if context is not None and context.weighting is None and not context.needs_current:
            docnums = self._docnums(searcher.reader())
            return ListMatcher(docnums, all_weights=1.0) if docnums else wq.NullQuery.matcher(searcher)
        terms = [CheckedTerm(self.fieldname, btext, self.budget) for btext in self.btexts]
        if len(terms) == 1:
            return terms[0].matcher(searcher, context)
        # as MultiTerm does for a constant score: the terms' weights do not matter
        context = context.set(weighting=None) if context else SearchContext(weighting=None)
        return wq.Or(terms).matcher(searcher, context)

    def _docnums(self, reader) -> list[int]:
        """The documents of any of the terms, read a term at a time within the budget: when only
        which documents match counts (not a score), one list is far cheaper than a union of
        thousands of matchers (`a*` on 10,000 titles: 2,600 terms)."""
        found: set[int] = set()
        for btext in self.budget.every(self.btexts, 64):
            try:
                found.update(reader.postings(self.fieldname, btext).all_ids())
            except TermNotFound:   # the terms come from this reader's lexicon: not expected
                continue
        return sorted(found)


ResolveSet = Callable[[str], Sequence[int]]


class KeyLookup(Protocol):
    """The key table, answering with document numbers (see index.engines.whoosh.keytable)."""

    def equal(self, field: str, key: str) -> Sequence[int]: ...
    def prefix(self, field: str, prefix: str) -> Sequence[int]: ...
    def first_words(self, field: str, words: str) -> Sequence[int]: ...
    def glob(self, field: str, masked: str) -> Sequence[int]: ...
    def between(self, field: str, low: str | None, high: str | None, *, low_exclusive: bool = False,
                high_exclusive: bool = False) -> Sequence[int]: ...


def compile_query(node: Node, resolve_set: ResolveSet, keys: KeyLookup, reader, budget: Budget) -> wq.Query:
    """Translate `node`; `resolve_set(name)` gives the docnums of an earlier result set, `keys`
    looks up whole keys, `reader` expands truncated words within the limits of `budget`.
    """
    return _Compiler(resolve_set, keys, reader, budget).translate(node)


def _operands(kind: type[wq.CompoundQuery], query: wq.Query) -> list[wq.Query]:
    """A chain of one operator as one query of many operands: Whoosh recurses once per level
    of a query tree, and a left-deep OR of 163 terms passed Python's recursion limit."""
    return list(query.subqueries) if type(query) is kind else [query]


class _Compiler(Translator[wq.Query]):
    def __init__(self, resolve_set: ResolveSet, keys: KeyLookup, reader, budget: Budget) -> None:
        self.resolve_set = resolve_set
        self.keys = keys
        self.reader = reader
        self.budget = budget

    def all_of(self, left: wq.Query, right: wq.Query) -> wq.Query:
        return wq.And(_operands(wq.And, left) + _operands(wq.And, right))

    def any_of(self, left: wq.Query, right: wq.Query) -> wq.Query:
        return wq.Or(_operands(wq.Or, left) + _operands(wq.Or, right))

    def but_not(self, left: wq.Query, right: wq.Query) -> wq.Query:
        return ExactAndNot(left, right)

    def everything(self) -> wq.Query:
        return wq.Every()

    def result_set(self, name: str) -> wq.Query:
        return DocnumSet(self.resolve_set(name))

    # -- terms ---------------------------------------------------------------------------
    def words(self, spec: IndexSpec, term: Term, plan: queryterms.WordsPlan) -> wq.Query:
        if plan.kind is WordsKind.WHOLE:
            return self.table_lookup(spec.name, plan.text, plan.truncation)
        if plan.kind is WordsKind.FIRST:
            if plan.truncation is Truncation.RIGHT:
                return DocnumSet(self.keys.prefix(spec.name, plan.text))
            return DocnumSet(self.keys.first_words(spec.name, plan.text))
        if plan.kind is WordsKind.PHRASE:
            if plan.truncation is Truncation.NONE:
                return wq.Phrase(spec.name, plan.words)
            return self.truncated_phrase(spec.name, plan.words)
        words = [self.truncated(spec.name, word, plan.truncation) for word in plan.words]
        if len(words) == 1:
            return words[0]
        return wq.Or(words) if term.relation is Relation.RELEVANCE else wq.And(words)

    def truncated(self, field: str, text: str, truncation: Truncation) -> wq.Query:
        if not queryterms.is_masked(text, truncation):
            return wq.Term(field, text)
        if truncation is Truncation.RIGHT:
            return self.expand(wq.Prefix(field, text), text + "*")
        masked = queryterms.pattern(text, truncation)
        return self.expand(wq.Wildcard(field, masked), masked)

    def expand(self, query: wq.PatternQuery, shown: str) -> wq.Query:
        """The word of a Prefix or Wildcard with its index terms, within the budget (`shown` is
        the word as refusals name it)."""
        if isinstance(query, wq.Wildcard):
            candidates = self.matching(query)
        else:
            candidates = self.budget.every(query._btexts(self.reader))
        return Expanded(query.fieldname, query.text, self.budget.expand(shown, candidates), self.budget)

    def matching(self, query: wq.Wildcard) -> Iterator[bytes]:
        """The terms a Wildcard matches (as its `_btexts`), the lexicon read within the budget:
        a left truncation reads every term of the field, however few match."""
        pattern = re.compile(query._get_pattern())
        prefix = query._find_prefix(query.text)
        terms = self.reader.expand_prefix(query.fieldname, prefix) if prefix else self.reader.lexicon(query.fieldname)
        for btext in self.budget.every(terms, 4096):
            if pattern.match(btext.decode("utf-8")):
                yield btext

    def table_lookup(self, field: str, text: str, truncation: Truncation) -> wq.Query:
        """Whole keys from the key table; truncation works on the whole key."""
        if not queryterms.is_masked(text, truncation):
            return DocnumSet(self.keys.equal(field, text))
        if truncation is Truncation.RIGHT:
            return DocnumSet(self.keys.prefix(field, text))
        return DocnumSet(self.keys.glob(field, queryterms.pattern(text, truncation)))

    def truncated_phrase(self, field: str, words: list[str]) -> wq.Query:
        """A phrase whose last word is right-truncated: the OR of the phrases of its expansions
        (Whoosh's span queries fail on multi-term parts)."""
        prefix = wq.Prefix(field, words[-1])._btexts(self.reader)
        endings = [text.decode("utf-8") for text in self.budget.expand(words[-1] + "*", self.budget.every(prefix))]
        if len(endings) > MAX_PHRASE_EXPANSION:
            raise errors.TooManyTerms(f"more than {MAX_PHRASE_EXPANSION} words begin with {words[-1]!r}")
        return wq.Or([wq.Phrase(field, words[:-1] + [ending]) for ending in endings]) if endings else wq.NullQuery

    def key(self, spec: IndexSpec, term: Term) -> wq.Query:
        if spec.name == "isn":
            value = queryterms.isn_value(term)
            return wq.NumericRange("isn", value, value)
        if term.truncation is not Truncation.NONE:
            text = queryterms.truncated_key(spec, term)
            if spec.table:
                return self.table_lookup(spec.name, text, term.truncation)
            return self.truncated(spec.name, text, term.truncation)
        forms = queryterms.key_forms(spec, term.text)
        if spec.table:
            return DocnumSet([docnum for form in forms for docnum in self.keys.equal(spec.name, form)])
        return wq.Or([wq.Term(spec.name, form) for form in forms]) if len(forms) > 1 else wq.Term(spec.name, forms[0])

    def year(self, term: Term) -> wq.Query:
        years = queryterms.year_range(term)
        query = DocnumSet(self.keys.between("year", years.low, years.high, low_exclusive=years.low_exclusive,
                                            high_exclusive=years.high_exclusive))
        return self.but_not(self.everything(), query) if years.negated else query

    # -- proximity -----------------------------------------------------------------------
    def prox(self, node: Prox) -> wq.Query:
        window = queryterms.proximity_window(node)
        subqueries = [self._span_part(window.left), self._span_part(window.right)]
        near = spans.SpanNear2(subqueries, slop=window.high, ordered=window.ordered, mindist=window.low)
        if node.exclusion:
            return ExactAndNot(wq.And(subqueries), near)
        return near

    def _span_part(self, term: Term) -> wq.Query:
        query = self.term(term)
        if isinstance(query, wq.And):  # several words: keep them adjacent in the span
            return spans.SpanNear2(list(query.subqueries), slop=1, ordered=True)
        return query
