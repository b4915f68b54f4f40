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
from dataclasses import dataclass

from index import errors
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
from index.searchkeys.normalize import normalize
from index.searchkeys.spec import BY_NAME, IndexKind, IndexSpec

MAX_EXPANSION = 20_000


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
        spec = BY_NAME.get(term.index)
        if spec is None:
            raise errors.UnknownSearchKey(term.index)
        if spec.kind is IndexKind.YEAR:
            return self.year(term)
        if term.relation is Relation.NE:
            positive = as_sql(self.term(Term(**{**term.__dict__, "relation": Relation.EQ})))
            return _combine("EXCEPT", Sql("SELECT isn FROM control"), positive)
        if term.relation not in (Relation.EQ, Relation.RELEVANCE):
            raise errors.UnsupportedRelation(f"{term.relation.value} on {term.index}")
        if spec.kind is IndexKind.KEY:
            return self.key(spec, term)
        return self.words(spec, term)

    def words(self, spec: IndexSpec, term: Term) -> Compiled:
        masked = term.truncation is Truncation.MASKED
        text = normalize(term.text, keep_masks=masked)
        if not text.strip("*? "):
            raise errors.MalformedTerm(f"empty term for {term.index}")
        whole = term.completeness is Completeness.COMPLETE_FIELD or term.structure is Structure.KEY
        if (whole or term.position is Position.FIRST_IN_FIELD) and not spec.exact:
            raise errors.UnsupportedCompleteness(f"{term.index} has no whole-field keys")
        if whole:
            return self.whole_key(spec.name, text, term.truncation)
        if term.position is Position.FIRST_IN_FIELD:
            if term.truncation is Truncation.RIGHT:
                return self.keys("key >= ? AND key < ?", spec.name, text, text + "\U0010ffff")
            if term.truncation is not Truncation.NONE:
                raise errors.UnsupportedTruncation("only right truncation with first-in-field")
            return self.keys("(key = ? OR (key >= ? AND key < ?))", spec.name, text, text + " ",
                             text + " \U0010ffff")
        words = text.split()
        if term.structure is Structure.PHRASE and len(words) > 1:
            if term.truncation not in (Truncation.NONE, Truncation.RIGHT):
                raise errors.UnsupportedTruncation("phrases truncate on the right only here")
            star = "*" if term.truncation is Truncation.RIGHT else ""
            expression = f"{spec.name} : {quote(' '.join(words))}{star}"
        else:
            parts = [self.word(spec.name, word, term.truncation) for word in words]
            joiner = " OR " if term.relation is Relation.RELEVANCE else " AND "
            expression = f"{spec.name} : ({joiner.join(parts)})"
        self.positive.append(expression)
        return Fts(expression)

    def word(self, column: str, word: str, truncation: Truncation) -> str:
        if truncation is Truncation.NONE or (truncation is Truncation.MASKED and not any(c in word for c in "*?")):
            return quote(word)
        if truncation is Truncation.RIGHT:
            return quote(word) + "*"
        pattern = {Truncation.LEFT: "*" + word, Truncation.BOTH: "*" + word + "*", Truncation.MASKED: word}[truncation]
        terms = [row[0] for row in self.db.execute(
            "SELECT term FROM vocabulary WHERE col = ? AND term GLOB ? LIMIT ?",
            (column, pattern.replace("[", "[[]"), MAX_EXPANSION + 1))]
        if len(terms) > MAX_EXPANSION:
            raise errors.TooManyTerms(f"more than {MAX_EXPANSION} terms match {pattern}")
        return "(" + " OR ".join(quote(t) for t in terms) + ")" if terms else quote("\u00b6\u00b6")

    def keys(self, condition: str, field: str, *params: object) -> Sql:
        return Sql(f"SELECT isn FROM keys WHERE field = ? AND {condition}", (field, *params))

    def whole_key(self, field: str, text: str, truncation: Truncation) -> Sql:
        if truncation is Truncation.NONE or (truncation is Truncation.MASKED and not any(c in text for c in "*?")):
            return self.keys("key = ?", field, text)
        if truncation is Truncation.RIGHT:
            return self.keys("key >= ? AND key < ?", field, text, text + "\U0010ffff")
        pattern = {Truncation.LEFT: "*" + text, Truncation.BOTH: "*" + text + "*", Truncation.MASKED: text}[truncation]
        return self.keys("key GLOB ?", field, pattern.replace("[", "[[]"))

    def key(self, spec: IndexSpec, term: Term) -> Sql:
        from index.engine.compile import _key_forms

        if term.structure is Structure.PHRASE and len(term.text.split()) > 1 and spec.name in ("isbn", "issn"):
            raise errors.UnsupportedStructure(f"phrase on {spec.name}")
        if spec.name == "isn":
            if term.truncation is not Truncation.NONE or not term.text.strip().isdigit():
                raise errors.MalformedTerm(f"ISN must be a number: {term.text!r}")
            return Sql("SELECT isn FROM control WHERE isn = ?", (int(term.text),))
        if term.truncation is not Truncation.NONE:
            text = normalize(term.text, keep_masks=True).replace(" ", "")
            if not text.strip("*?"):
                raise errors.MalformedTerm(f"empty term for {spec.name}")
            return self.whole_key(spec.name, text, term.truncation)
        forms = _key_forms(spec.name, term.text)
        if not forms:
            raise errors.MalformedTerm(f"{term.text!r} is not a valid {spec.label}")
        marks = ",".join("?" * len(forms))
        return self.keys(f"key IN ({marks})", spec.name, *forms)

    def year(self, term: Term) -> Sql:
        if term.truncation is not Truncation.NONE:
            raise errors.UnsupportedTruncation("no truncation on years")
        text = term.text.strip()
        low, sep, high = text.partition("-")
        if sep and low.strip().isdigit() and high.strip().isdigit():
            if term.relation is not Relation.EQ:
                raise errors.UnsupportedRelation("a year range takes no relation")
            return self.keys("key >= ? AND key <= ?", "year", f"{int(low):04d}", f"{int(high):04d}")
        if not text.isdigit() or len(text) > 4:
            raise errors.MalformedTerm(f"not a year: {term.text!r}")
        year = f"{int(text):04d}"
        if term.relation is Relation.NE:
            return _combine("EXCEPT", Sql("SELECT isn FROM control"), self.keys("key = ?", "year", year))
        operator = {Relation.EQ: "=", Relation.RELEVANCE: "=", Relation.LT: "<", Relation.LE: "<=",
                    Relation.GE: ">=", Relation.GT: ">"}[term.relation]
        return self.keys(f"key {operator} ?", "year", year)

    # -- proximity -----------------------------------------------------------------------------
    def prox(self, node: Prox) -> Compiled:
        if node.relation not in (Relation.LE, Relation.LT):
            raise errors.UnsupportedProximity(f"proximity relation {node.relation.value} (this engine: <= and <)")
        left, right = node.left, node.right
        if not (isinstance(left, Term) and isinstance(right, Term)):
            raise errors.UnsupportedProximity("proximity needs a search term on each side")
        spec = BY_NAME.get(left.index)
        if left.index != right.index or spec is None or spec.kind is not IndexKind.WORDS:
            raise errors.UnsupportedProximity("proximity needs two terms of the same word index")
        if node.unit is not ProximityUnit.WORD:
            raise errors.UnsupportedProximity("this engine measures proximity in words only")
        distance = node.distance - 1 if node.relation is Relation.LT else node.distance
        if distance < 1:
            raise errors.UnsupportedProximity("distance below one")
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
