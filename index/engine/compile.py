"""The one translator from the neutral query tree (`index.query`) to Whoosh queries.

Every combination it cannot honour raises an `index.errors` class; it never silently searches
something else. Search terms are normalized exactly as the search keys were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from whoosh import query as wq
from whoosh.matching import ListMatcher
from whoosh.query import spans

from index import errors
from index.engine.schema import FIELD_GAP
from index.query import (
    AllRecords,
    And,
    AndNot,
    Completeness,
    Node,
    Or,
    Position,
    Prox,
    ProximityUnit,
    Relation,
    ResultSetRef,
    Structure,
    Term,
    Truncation,
)
from index.searchkeys.normalize import normalize, normalize_isbn, normalize_issn, normalize_lccn, normalize_number
from index.searchkeys.spec import BY_NAME, IndexKind, IndexSpec

MAX_EXPANSION = 20_000  # terms a truncated or masked term may expand to
MAX_PHRASE_EXPANSION = 2_000  # words the truncated end of a phrase may expand to


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
        return ListMatcher(self.docnums, all_weights=1.0) if self.docnums else wq.NullQuery.matcher(searcher)


ResolveSet = Callable[[str], Sequence[int]]


class KeyLookup(Protocol):
    """The key table, answering with document numbers (see index.engine.keytable)."""

    def equal(self, field: str, key: str) -> Sequence[int]: ...
    def prefix(self, field: str, prefix: str) -> Sequence[int]: ...
    def first_words(self, field: str, words: str) -> Sequence[int]: ...
    def glob(self, field: str, masked: str) -> Sequence[int]: ...


def compile_query(node: Node, resolve_set: ResolveSet, keys: KeyLookup, reader=None) -> wq.Query:
    """Translate `node`; `resolve_set(name)` gives the docnums of an earlier result set, `keys`
    looks up whole keys. With a `reader`, truncated words are checked against MAX_EXPANSION.
    """
    return _Compiler(resolve_set, keys, reader).compile(node)


class _Compiler:
    def __init__(self, resolve_set: ResolveSet, keys: KeyLookup, reader) -> None:
        self.resolve_set = resolve_set
        self.keys = keys
        self.reader = reader

    def compile(self, node: Node) -> wq.Query:
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, And):
            return wq.And([self.compile(node.left), self.compile(node.right)])
        if isinstance(node, Or):
            return wq.Or([self.compile(node.left), self.compile(node.right)])
        if isinstance(node, AndNot):
            return wq.AndNot(self.compile(node.left), self.compile(node.right))
        if isinstance(node, Prox):
            return self.prox(node)
        if isinstance(node, ResultSetRef):
            return DocnumSet(self.resolve_set(node.name))
        if isinstance(node, AllRecords):
            return wq.Every()
        raise TypeError(f"not a query node: {node!r}")

    # -- terms ---------------------------------------------------------------------------
    def term(self, term: Term) -> wq.Query:
        spec = BY_NAME.get(term.index)
        if spec is None:
            raise errors.UnknownSearchKey(term.index)
        if spec.kind is IndexKind.YEAR:
            return self.year(term)
        if term.relation is Relation.NE:
            return wq.AndNot(wq.Every(), self.term(_with(term, relation=Relation.EQ)))
        if term.relation not in (Relation.EQ, Relation.RELEVANCE):
            raise errors.UnsupportedRelation(f"{term.relation.value} on {term.index}")
        if spec.kind is IndexKind.KEY:
            return self.key(spec, term)
        return self.words(spec, term)

    def words(self, spec: IndexSpec, term: Term) -> wq.Query:
        masked = term.truncation is Truncation.MASKED
        text = normalize(term.text, keep_masks=masked)
        if not text.strip("*? "):
            raise errors.MalformedTerm(f"empty term for {term.index}")
        whole = term.completeness is Completeness.COMPLETE_FIELD or term.structure is Structure.KEY
        if (whole or term.position is Position.FIRST_IN_FIELD) and not spec.exact:
            raise errors.UnsupportedCompleteness(f"{term.index} has no whole-field keys")
        if whole:
            return self.table_lookup(spec.name, text, term.truncation)
        if term.position is Position.FIRST_IN_FIELD:
            if term.truncation is Truncation.RIGHT:
                return DocnumSet(self.keys.prefix(spec.name, text))
            if term.truncation is not Truncation.NONE:
                raise errors.UnsupportedTruncation("only right truncation with first-in-field")
            return DocnumSet(self.keys.first_words(spec.name, text))
        if term.structure is Structure.PHRASE and len(text.split()) > 1:
            if term.truncation is Truncation.NONE:
                return wq.Phrase(spec.name, text.split())
            return self.truncated_phrase(spec.name, text.split(), term.truncation)
        words = [self.truncated(spec.name, word, term.truncation) for word in text.split()]
        if len(words) == 1:
            return words[0]
        if term.relation is Relation.RELEVANCE:
            return wq.Or(words)
        return wq.And(words)

    def truncated(self, field: str, text: str, truncation: Truncation) -> wq.Query:
        if truncation is Truncation.NONE:
            return wq.Term(field, text)
        if truncation is Truncation.RIGHT:
            return self.expand(wq.Prefix(field, text))
        pattern = {Truncation.LEFT: "*" + text, Truncation.BOTH: "*" + text + "*", Truncation.MASKED: text}[truncation]
        if truncation is Truncation.MASKED and "*" not in pattern and "?" not in pattern:
            return wq.Term(field, text)
        return self.expand(wq.Wildcard(field, pattern))

    def table_lookup(self, field: str, text: str, truncation: Truncation) -> wq.Query:
        """Whole keys from the key table; truncation works on the whole key."""
        if truncation is Truncation.NONE or (truncation is Truncation.MASKED and not any(c in text for c in "*?")):
            return DocnumSet(self.keys.equal(field, text))
        if truncation is Truncation.RIGHT:
            return DocnumSet(self.keys.prefix(field, text))
        pattern = {Truncation.LEFT: "*" + text, Truncation.BOTH: "*" + text + "*", Truncation.MASKED: text}[truncation]
        return DocnumSet(self.keys.glob(field, pattern))

    def truncated_phrase(self, field: str, words: list[str], truncation: Truncation) -> wq.Query:
        """A phrase whose last word is right-truncated: the OR of the phrases of its expansions
        (Whoosh's span queries fail on multi-term parts)."""
        if truncation is not Truncation.RIGHT:
            raise errors.UnsupportedTruncation("phrases truncate on the right only")
        if self.reader is None:
            return wq.And([wq.Term(field, w) for w in words[:-1]] + [wq.Prefix(field, words[-1])])
        endings = [text.decode("utf-8") for text in wq.Prefix(field, words[-1])._btexts(self.reader)]
        if len(endings) > MAX_PHRASE_EXPANSION:
            raise errors.TooManyTerms(f"more than {MAX_PHRASE_EXPANSION} words begin with {words[-1]!r}")
        return wq.Or([wq.Phrase(field, words[:-1] + [ending]) for ending in endings]) if endings else wq.NullQuery

    def expand(self, query: wq.Query) -> wq.Query:
        if self.reader is not None:
            count = 0
            for _ in query._btexts(self.reader):
                count += 1
                if count > MAX_EXPANSION:
                    raise errors.TooManyTerms(f"more than {MAX_EXPANSION} terms match {query!r}")
        return query

    def key(self, spec: IndexSpec, term: Term) -> wq.Query:
        if term.structure is Structure.PHRASE and len(term.text.split()) > 1 and spec.name in ("isbn", "issn"):
            raise errors.UnsupportedStructure(f"phrase on {spec.name}")
        if spec.name == "isn":
            if term.truncation is not Truncation.NONE or not term.text.strip().isdigit():
                raise errors.MalformedTerm(f"ISN must be a number: {term.text!r}")
            value = int(term.text)
            return wq.NumericRange("isn", value, value)
        if term.truncation is not Truncation.NONE:
            text = normalize(term.text, keep_masks=True).replace(" ", "")
            if not text.strip("*?"):
                raise errors.MalformedTerm(f"empty term for {spec.name}")
            if spec.table:
                return self.table_lookup(spec.name, text, term.truncation)
            return self.truncated(spec.name, text, term.truncation)
        forms = _key_forms(spec.name, term.text)
        if not forms:
            raise errors.MalformedTerm(f"{term.text!r} is not a valid {spec.label}")
        if spec.table:
            return DocnumSet([docnum for form in forms for docnum in self.keys.equal(spec.name, form)])
        return wq.Or([wq.Term(spec.name, form) for form in forms]) if len(forms) > 1 else wq.Term(spec.name, forms[0])

    def year(self, term: Term) -> wq.Query:
        if term.truncation is not Truncation.NONE:
            raise errors.UnsupportedTruncation("no truncation on years")
        text = term.text.strip()
        low, sep, high = text.partition("-")
        if sep and low.strip().isdigit() and high.strip().isdigit():
            if term.relation is not Relation.EQ:
                raise errors.UnsupportedRelation("a year range takes no relation")
            return wq.TermRange("year", _year(low), _year(high))
        if not text.isdigit() or len(text) > 4:
            raise errors.MalformedTerm(f"not a year: {term.text!r}")
        year = _year(text)
        if term.relation is Relation.NE:
            return wq.AndNot(wq.Every(), wq.Term("year", year))
        if term.relation in (Relation.EQ, Relation.RELEVANCE):
            return wq.Term("year", year)
        start, end, startexcl, endexcl = {
            Relation.LT: (None, year, False, True), Relation.LE: (None, year, False, False),
            Relation.GE: (year, None, False, False), Relation.GT: (year, None, True, False),
        }[term.relation]
        return wq.TermRange("year", start, end, startexcl=startexcl, endexcl=endexcl)

    # -- proximity -----------------------------------------------------------------------
    def prox(self, node: Prox) -> wq.Query:
        if node.relation not in (Relation.LE, Relation.LT, Relation.EQ):
            raise errors.UnsupportedProximity(f"proximity relation {node.relation.value}")
        left, right = node.left, node.right
        if not (isinstance(left, Term) and isinstance(right, Term)):
            raise errors.UnsupportedProximity("proximity needs a search term on each side")
        if left.index != right.index or BY_NAME.get(left.index, None) is None \
                or BY_NAME[left.index].kind is not IndexKind.WORDS:
            raise errors.UnsupportedProximity("proximity needs two terms of the same word index")
        distance = node.distance - 1 if node.relation is Relation.LT else node.distance
        if node.unit is ProximityUnit.FIELD:
            distance = distance * FIELD_GAP + FIELD_GAP - 1
        if distance < 0:
            raise errors.UnsupportedProximity("distance below zero")
        subqueries = [self._span_part(left), self._span_part(right)]
        mindist = distance if node.relation is Relation.EQ else 1
        near = spans.SpanNear2(subqueries, slop=max(distance, 1), ordered=node.ordered, mindist=max(mindist, 0))
        if node.exclusion:
            return wq.AndNot(wq.And(subqueries), near)
        return near

    def _span_part(self, term: Term) -> wq.Query:
        query = self.term(term)
        if isinstance(query, wq.And):  # several words: keep them adjacent in the span
            return spans.SpanNear2(list(query.subqueries), slop=1, ordered=True)
        return query


def _key_forms(index: str, text: str) -> list[str]:
    if index == "isbn":
        return normalize_isbn(text)
    if index == "issn":
        return [f for f in [normalize_issn(text)] if f]
    if index == "lccn":
        return [f for f in [normalize_lccn(text)] if f]
    if index in ("lc_call_number",):
        return [f for f in [normalize(text)] if f]
    if index == "identifier":
        forms = normalize_isbn(text) + [normalize_issn(text), normalize_lccn(text), normalize_number(text)]
        return list(dict.fromkeys(f for f in forms if f))
    return [f for f in [normalize_number(text)] if f]


def _year(text: str) -> str:
    return f"{int(text):04d}"


def _with(term: Term, **changes) -> Term:
    from dataclasses import replace

    return replace(term, **changes)
