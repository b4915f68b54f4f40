"""The one-clause scanner (`cql._one_clause`) gives lark's tree, positions included, or steps
aside: over hand-picked hard cases and 30,000 random texts built from the grammar's pieces."""

from __future__ import annotations

import random

import pytest

from zserver.querylang import cql
from zserver.querylang.cql import SERVER_CHOICE, CqlQuery, SearchClause
from zserver.querylang.errors import QuerySyntaxError
from zserver.querylang.grammar import parse_text


def lark(text: str) -> CqlQuery | None:
    """lark's tree of `text`, or None where lark refuses it."""
    try:
        return cql._ToAst().transform(parse_text(cql._parser(), text))
    except QuerySyntaxError:
        return None


def assert_same_as_lark(text: str) -> bool:
    """The scanner's tree is lark's (with the same position); True when the scanner took it."""
    fast = cql._one_clause(text)
    if fast is None:
        return False
    slow = lark(text)
    assert slow is not None, f"the scanner took {text!r}, which lark refuses"
    assert fast == slow, text
    assert fast.root.position == slow.root.position, text
    return True


@pytest.mark.parametrize(("text", "clause"), [
    ('dc.title = "water"', SearchClause("dc.title", "=", "water", (), 0)),
    ("water", SearchClause(SERVER_CHOICE, "=", "water", (), 0)),
    ('  "war and peace" ', SearchClause(SERVER_CHOICE, "=", "war and peace", (), 2)),
    ('dc.creator any "smith jones"', SearchClause("dc.creator", "any", "smith jones", (), 0)),
    ("bath.isbn==0-19-852663-6", SearchClause("bath.isbn", "==", "0-19-852663-6", (), 0)),
    ('title any"x"', SearchClause("title", "any", "x", (), 0)),
    ('a <> "q\\"r"', SearchClause("a", "<>", 'q\\"r', (), 0)),
    ("\n\tdc.date >= 1990\r\n", SearchClause("dc.date", ">=", "1990", (), 2)),
    ("histor*", SearchClause(SERVER_CHOICE, "=", "histor*", (), 0)),
])
def test_common_queries_take_the_scanner_and_give_lark_s_tree(text: str, clause: SearchClause) -> None:
    assert cql._one_clause(text) == CqlQuery(clause)
    assert cql._one_clause(text).root.position == clause.position
    assert assert_same_as_lark(text)
    assert cql.parse_cql(text) == CqlQuery(clause)


@pytest.mark.parametrize("text", [
    "", "   ", "a b", "a = b c", "and", "a = and", "OR = b", "a sortBy b", "a and b", "a/x=1",
    "(a)", "> dc = x a", '"unterminated', 'a = "b', "a\vb", "a\u00a0= b", "a = b sortby c", "a = = b",
    "=", "a =", '"a""b"', 'a "b" c', "a\u3000b",
])
def test_anything_else_goes_to_lark(text: str) -> None:
    assert cql._one_clause(text) is None


_PIECES = ["a", "dc.title", "any", "exact", "AND", "and", "or", "Not", "prox", "sortBy", "sortbyx", "andy", "x*",
           "?", "ü", "\\", "\\\"", '"x"', '"a b"', '"q\\"r"', '"unterminated', '""', '"a\nb"', "=", "==", "<>", "<=",
           ">=", "<", ">", "/", "(", ")", "\u00a0", "\v", "\x85"]
_SPACES = ["", " ", "  ", "\t", "\n", "\r\n", "\f", "\v", "\u3000", "\x1c"]


def test_random_texts_give_lark_s_tree_or_go_to_lark() -> None:
    chance = random.Random(20261204)
    taken = 0
    for _ in range(30_000):
        pieces = [chance.choice(_PIECES) for _ in range(chance.randint(1, 4))]
        text = chance.choice(_SPACES) + "".join(piece + chance.choice(_SPACES) for piece in pieces)
        taken += assert_same_as_lark(text)
    assert taken > 1_000   # the scanner was really exercised (1,673 of them with this seed)
