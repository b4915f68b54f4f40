"""The neutral query tree: every query language (Type-1 RPN, PQF, CCL, CQL) becomes these nodes.

This module owns the vocabulary of searching; it knows no protocol codes (Bib-1, SRU) and no
engine (Whoosh). `zserver` maps protocol attributes onto these nodes; `index.engines.whoosh.compile`
turns them into engine queries. Every node is a frozen dataclass, so trees compare by value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum


class Relation(Enum):
    LT = "<"
    LE = "<="
    EQ = "="
    GE = ">="
    GT = ">"
    NE = "<>"
    RELEVANCE = "relevance"


class Structure(Enum):
    PHRASE = "phrase"          # the words in this order, adjacent
    WORD = "word"              # one word (several words: all of them, any order)
    WORD_LIST = "word-list"    # all of the words, any order
    PHRASE_LIST = "phrase-list"  # any of the comma-separated phrases... here: all phrases
    KEY = "key"                # a normalized key compared whole (standard numbers)
    YEAR = "year"              # a four-digit year, comparable by relation
    NUMERIC = "numeric"


class Truncation(Enum):
    NONE = "none"
    RIGHT = "right"            # term*
    LEFT = "left"              # *term
    BOTH = "both"              # *term*
    MASKED = "masked"          # `*` any run, `?` one character, written into the term text


class Position(Enum):
    ANY = "any"
    FIRST_IN_FIELD = "first-in-field"


class Completeness(Enum):
    INCOMPLETE = "incomplete"  # the term may be part of the field
    COMPLETE_FIELD = "complete-field"  # the term is the whole field (an exact key)


@dataclass(frozen=True)
class Term:
    """Search `text` in the logical index `index` (a name from `index.searchkeys.spec`).

    For Truncation.MASKED, `*` stands for any run of characters and `?` for exactly one.
    """

    index: str
    text: str
    relation: Relation = Relation.EQ
    structure: Structure = Structure.WORD_LIST
    truncation: Truncation = Truncation.NONE
    position: Position = Position.ANY
    completeness: Completeness = Completeness.INCOMPLETE


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class AndNot:
    left: Node
    right: Node


class ProximityUnit(Enum):
    WORD = "word"
    FIELD = "field"   # same occurrence of a field (we index each field as its own key)


@dataclass(frozen=True)
class Prox:
    """`left` within `distance` units of `right`; `ordered` keeps left before right.

    relation is one of LT, LE, EQ, GE, GT, NE, applied to the distance.
    """

    left: Node
    right: Node
    distance: int = 1
    ordered: bool = True
    relation: Relation = Relation.LE
    unit: ProximityUnit = ProximityUnit.WORD
    exclusion: bool = False


@dataclass(frozen=True)
class ResultSetRef:
    """An earlier result set of the same session, by name (`@set name`, cql.resultSetId)."""

    name: str


@dataclass(frozen=True)
class AllRecords:
    """Every record of the database (cql.allRecords = 1)."""


Node = Term | And | Or | AndNot | Prox | ResultSetRef | AllRecords


def map_terms(node: Node, change: Callable[[Term], Node]) -> Node:
    """`node` with each term replaced by what `change` makes of it (the rewrites before the
    engine: consortia, editions, retired title numbers); a part without a changed term is
    kept as the same object."""
    if isinstance(node, Term):
        return change(node)
    if isinstance(node, And | Or | AndNot | Prox):
        left, right = map_terms(node.left, change), map_terms(node.right, change)
        return node if left is node.left and right is node.right else replace(node, left=left, right=right)
    return node
