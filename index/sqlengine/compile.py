"""The neutral query tree (`index.query`) as SQL over the SQLite engine's index file.

A subtree of word terms joined by AND/OR/NOT becomes one FTS5 MATCH expression (FTS5 evaluates
it in C). Everything else (whole keys, years, earlier result sets, mixed subtrees) becomes a
compound SELECT of ISNs: INTERSECT, UNION, EXCEPT. Semantics follow `index.engine.compile`,
the Whoosh translator; what this engine cannot honour raises the same `index.errors`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from index import errors
from index.query import (
    AllRecords,
    And,
    AndNot,
    Node,
    Or,
    Prox,
    Relation,
    ResultSetRef,
    Term,
    Truncation,
)
from index.searchkeys import queryterms
from index.searchkeys.normalize import normalize
from index.searchkeys.queryterms import WordsKind
from index.searchkeys.spec import IndexKind, IndexSpec


@dataclass(frozen=True)
class Fts:
    """An FTS5 MATCH expression."""

    expression: str


@dataclass(frozen=True)
class Sql:
    """A SELECT yielding one column of ISNs, with its parameters."""

    select: str
    params: tuple = ()


Compiled = Fts | Sql
ResolveSet = Callable[[str], Sequence[int]]


def quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def as_sql(compiled: Compiled) -> Sql:
    if isinstance(compiled, Sql):
        return compiled
    return Sql("SELECT rowid FROM words WHERE words MATCH ?", (compiled.expression,))


def _isn_set(isns: Sequence[int]) -> Sql:
    return Sql("SELECT value FROM json_each(?)", (json.dumps(list(isns)),))


def _combine(operator: str, left: Sql, right: Sql) -> Sql:
    return Sql(f"SELECT * FROM ({left.select}) {operator} SELECT * FROM ({right.select})", left.params + right.params)


class Compiler:
    def __init__(self, db: sqlite3.Connection, resolve_set: ResolveSet) -> None:
        self.db = db
        self.resolve_set = resolve_set
        self.positive: list[str] = []    # FTS expressions that rank a result (relevance)

    def compile(self, node: Node) -> Compiled:
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, (And, Or, AndNot)):
            left, right = self.compile(node.left), self.compile(node.right)
            if isinstance(left, Fts) and isinstance(right, Fts):
                word = {And: "AND", Or: "OR", AndNot: "NOT"}[type(node)]
                return Fts(f"({left.expression}) {word} ({right.expression})")
            operator = {And: "INTERSECT", Or: "UNION", AndNot: "EXCEPT"}[type(node)]
            return _combine(operator, as_sql(left), as_sql(right))
        if isinstance(node, Prox):
            return self.prox(node)
        if isinstance(node, ResultSetRef):
            return _isn_set(self.resolve_set(node.name))
        if isinstance(node, AllRecords):
            return Sql("SELECT isn FROM control")
        raise TypeError(f"not a query node: {node!r}")

    # -- terms -------------------------------------------------------------------------------
    def term(self, term: Term) -> Compiled:
        spec = queryterms.index_spec(term)
        if spec.kind is IndexKind.YEAR:
            return self.year(term)
        queryterms.check_relation(term)
        if term.relation is Relation.NE:
            return _combine("EXCEPT", Sql("SELECT isn FROM control"), as_sql(self.term(replace(term, relation=Relation.EQ))))
        if spec.kind is IndexKind.KEY:
            return self.key(spec, term)
        return self.words(spec, term, queryterms.plan_words(spec, term))

    def words(self, spec: IndexSpec, term: Term, plan: queryterms.WordsPlan) -> Compiled:
        text = plan.text
        if plan.kind is WordsKind.WHOLE:
            return self.whole_key(spec.name, text, plan.truncation)
        if plan.kind is WordsKind.FIRST:
            if plan.truncation is Truncation.RIGHT:
                return self.keys("key >= ? AND key < ?", spec.name, text, text + "\U0010ffff")
            return self.keys("(key = ? OR (key >= ? AND key < ?))", spec.name, text, text + " ", text + " \U0010ffff")
        if plan.kind is WordsKind.PHRASE:
            star = "*" if plan.truncation is Truncation.RIGHT else ""
            expression = f"{spec.name} : {quote(text)}{star}"
        else:
            parts = [self.word(spec.name, word, plan.truncation) for word in plan.words]
            joiner = " OR " if term.relation is Relation.RELEVANCE else " AND "
            expression = f"{spec.name} : ({joiner.join(parts)})"
        self.positive.append(expression)
        return Fts(expression)

    def word(self, column: str, word: str, truncation: Truncation) -> str:
        if not queryterms.is_masked(word, truncation):
            return quote(word)
        if truncation is Truncation.RIGHT:
            return quote(word) + "*"
        terms = [row[0] for row in self.db.execute(
            "SELECT term FROM vocabulary WHERE col = ? AND term GLOB ? LIMIT ?",
            (column, queryterms.glob_pattern(queryterms.pattern(word, truncation)), queryterms.MAX_EXPANSION + 1))]
        if len(terms) > queryterms.MAX_EXPANSION:
            raise errors.TooManyTerms(f"more than {queryterms.MAX_EXPANSION} terms match {word}")
        return "(" + " OR ".join(quote(t) for t in terms) + ")" if terms else quote("\u00b6\u00b6")

    def keys(self, condition: str, field: str, *params: object) -> Sql:
        return Sql(f"SELECT isn FROM keys WHERE field = ? AND {condition}", (field, *params))

    def whole_key(self, field: str, text: str, truncation: Truncation) -> Sql:
        if not queryterms.is_masked(text, truncation):
            return self.keys("key = ?", field, text)
        if truncation is Truncation.RIGHT:
            return self.keys("key >= ? AND key < ?", field, text, text + "\U0010ffff")
        return self.keys("key GLOB ?", field, queryterms.glob_pattern(queryterms.pattern(text, truncation)))

    def key(self, spec: IndexSpec, term: Term) -> Sql:
        queryterms.check_key_structure(spec, term)
        if spec.name == "isn":
            return Sql("SELECT isn FROM control WHERE isn = ?", (queryterms.isn_value(term),))
        if term.truncation is not Truncation.NONE:
            return self.whole_key(spec.name, queryterms.truncated_key(spec, term), term.truncation)
        forms = queryterms.key_forms(spec, term.text)
        return self.keys(f"key IN ({','.join('?' * len(forms))})", spec.name, *forms)

    def year(self, term: Term) -> Sql:
        years = queryterms.year_range(term)
        conditions, params = [], []
        if years.low is not None:
            conditions.append("key > ?" if years.low_exclusive else "key >= ?")
            params.append(years.low)
        if years.high is not None:
            conditions.append("key < ?" if years.high_exclusive else "key <= ?")
            params.append(years.high)
        query = self.keys(" AND ".join(conditions), "year", *params)
        return _combine("EXCEPT", Sql("SELECT isn FROM control"), query) if years.negated else query

    # -- proximity -----------------------------------------------------------------------------
    def prox(self, node: Prox) -> Compiled:
        proximity = queryterms.word_proximity(node)
        spec, left, right, distance = proximity.spec, proximity.left, proximity.right, proximity.distance
        phrases = [quote(normalize(t.text)) for t in (left, right)]
        near = f"{spec.name} : NEAR({phrases[0]} {phrases[1]}, {distance - 1})"
        if node.ordered or node.exclusion:
            return self.ordered_near(spec.name, near, left, right, distance, node)
        self.positive.append(near)
        return Fts(near)

    def ordered_near(self, column: str, near: str, left: Term, right: Term, distance: int, node: Prox) -> Sql:
        """FTS5's NEAR has no order: check the order (and exclusion) on the stored words."""
        first, second = normalize(left.text).split(), normalize(right.text).split()
        both = f"{column} : ({quote(' '.join(first))} AND {quote(' '.join(second))})"
        candidates = near if not node.exclusion else both
        rows = self.db.execute(f"SELECT rowid, {column} FROM words WHERE words MATCH ?", (candidates,))
        isns = [isn for isn, text in rows if _within(text.split(), first, second, distance, node.ordered)
                != node.exclusion]
        return _isn_set(isns)


def _starts(words: list[str], phrase: list[str]) -> list[int]:
    size = len(phrase)
    return [i for i in range(len(words) - size + 1) if words[i:i + size] == phrase]


def _within(words: list[str], first: list[str], second: list[str], distance: int, ordered: bool) -> bool:
    for i in _starts(words, first):
        for j in _starts(words, second):
            gap = j - i if ordered else abs(j - i)
            if 0 < gap <= distance and "\u00b6" not in words[min(i, j):max(i, j)]:
                return True
    return False
