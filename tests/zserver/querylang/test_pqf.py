"""PQF text -> rpn.Query and back; YAZ's manual examples and Zebra's test queries as input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zserver.querylang.errors import QuerySyntaxError, QueryTooComplex
from zserver.querylang.pqf import parse_pqf, rpn_to_pqf
from zserver.querylang.rpn import (
    BIB1_OID,
    Attribute,
    AttributesPlusTerm,
    ComplexValue,
    Operator,
    Proximity,
    Query,
    ResultSetId,
    RpnOp,
    TermType,
)

GILS = "1.2.840.10003.3.5"
ZEBRA_TESTS = Path(__file__).resolve().parents[4] / "shared/data/github/indexdata+idzebra/test"


def apt(term: str, *attributes: tuple[int, int | str] | Attribute,
        term_type: TermType = TermType.GENERAL) -> AttributesPlusTerm:
    return AttributesPlusTerm(
        tuple(a if isinstance(a, Attribute) else Attribute(*a) for a in attributes),
        term, term_type)


def q(root, attribute_set: str = BIB1_OID) -> Query:
    return Query(attribute_set, root)


PARSES = [
    ("dylan", q(apt("dylan"))),
    ('"bob dylan"', q(apt("bob dylan"))),
    ("{bob dylan}", q(apt("bob dylan"))),
    ("@attr 1=4 computer", q(apt("computer", (1, 4)))),
    ("@attr 1=4 @attr 4=1 \"self portrait\"", q(apt("self portrait", (1, 4), (4, 1)))),
    ("@attr 1=title computer", q(apt("computer", (1, "title")))),
    ("@attr 1=/book/title computer", q(apt("computer", (1, "/book/title")))),
    ("@attr gils 1=2008 Copenhagen", q(apt("Copenhagen", Attribute(1, 2008, GILS)))),
    ("@attrset gils @attr 1=2000 company", q(apt("company", (1, 2000)), GILS)),
    ("@attrset exp1 @attr 1=1 CategoryList",
     q(apt("CategoryList", (1, 1)), "1.2.840.10003.3.2")),
    ("@attrset 1.2.840.10003.3.5 x", q(apt("x"), GILS)),
    ("@or \"dylan\" \"zimmerman\"", q(RpnOp(Operator.OR, apt("dylan"), apt("zimmerman")))),
    ("@and @or dylan zimmerman when",
     q(RpnOp(Operator.AND, RpnOp(Operator.OR, apt("dylan"), apt("zimmerman")), apt("when")))),
    ("@not a b", q(RpnOp(Operator.AND_NOT, apt("a"), apt("b")))),
    ("@AND a b", q(RpnOp(Operator.AND, apt("a"), apt("b")))),
    ("@set Result-1", q(ResultSetId("Result-1"))),
    ("@and @set seta @set setb", q(RpnOp(Operator.AND, ResultSetId("seta"), ResultSetId("setb")))),
    ("@prox 0 3 1 2 k 2 dylan zimmerman",
     q(RpnOp(Operator.PROX, apt("dylan"), apt("zimmerman"),
             Proximity(distance=3, ordered=True, relation_type=2, unit=2)))),
    ("@prox void 1 0 3 private 7 a b",
     q(RpnOp(Operator.PROX, apt("a"), apt("b"),
             Proximity(distance=1, ordered=False, relation_type=3, unit=7, private_unit=True,
                       exclusion=None)))),
    ("@prox 1 0 0 0 known 8 a b",
     q(RpnOp(Operator.PROX, apt("a"), apt("b"),
             Proximity(distance=0, ordered=False, relation_type=0, unit=8, exclusion=True)))),
    ('@term string "a UTF-8 string, maybe?"',
     q(apt("a UTF-8 string, maybe?", term_type=TermType.CHARACTER_STRING))),
    ("@term numeric 42", q(apt("42", term_type=TermType.NUMERIC))),
    # @term changes the term type for the rest of the query, as in YAZ
    ("@and @term string a b",
     q(RpnOp(Operator.AND, apt("a", term_type=TermType.CHARACTER_STRING),
             apt("b", term_type=TermType.CHARACTER_STRING)))),
    # attributes apply to every term below; an inner one of the same type wins
    ("@attr 4=1 @and @attr 1=1 \"bob dylan\" @attr 1=4 \"slow train coming\"",
     q(RpnOp(Operator.AND, apt("bob dylan", (4, 1), (1, 1)),
             apt("slow train coming", (4, 1), (1, 4))))),
    ("@attr 1=4 @attr 1=1003 x", q(apt("x", (1, 1003)))),
    ("@and @attr 2=4 @attr gils 1=2038 -114 @attr 2=2 @attr gils 1=2039 -109",
     q(RpnOp(Operator.AND, apt("-114", (2, 4), Attribute(1, 2038, GILS)),
             apt("-109", (2, 2), Attribute(1, 2039, GILS))))),
    # escapes in terms, quoted and not
    (r'"say \"hi\""', q(apt('say "hi"'))),
    (r"a\ b", q(apt("a b"))),
    (r'"tab\there"', q(apt("tab\there"))),
    (r'"\x41\101"', q(apt("AA"))),
    ('"@and"', q(apt("@and"))),
    ('""', q(apt(""))),
    ("  spaced   ", q(apt("spaced"))),
    ("@attr 1=Author {valen, line}", q(apt("valen, line", (1, "Author")))),
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_parse(text: str, expected: Query) -> None:
    assert parse_pqf(text) == expected


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_round_trip(text: str, expected: Query) -> None:
    assert parse_pqf(rpn_to_pqf(expected)) == expected


def test_rpn_to_pqf_is_plain() -> None:
    query = parse_pqf('@and @attr 1=4 @attr 5=1 comp @set "my set"')
    assert rpn_to_pqf(query) == '@and @attr 1=4 @attr 5=1 comp @set "my set"'


@pytest.mark.parametrize("query", [
    q(apt("x", Attribute(1, ComplexValue((4, "title"))))),
    q(apt("x", (1, "4"))),
    q(apt("x", (1, 4), (1, 5))),
])
def test_rpn_to_pqf_refuses_what_pqf_cannot_say(query: Query) -> None:
    with pytest.raises(ValueError):
        rpn_to_pqf(query)


BAD = [
    ("", 0),
    ("@and a", 6),
    ("@attr 1=4", 9),
    ("@attr x=4 a", 6),
    ("@attr 1= a", 6),
    ("@attr nosuchset 1=4 a", 6),
    ("@attrset nosuchset a", 9),
    ("a b", 2),
    ("@and a b c", 9),
    ('"unterminated', 0),
    ("{unterminated", 0),
    ("@prox 0 x 1 2 k 2 a b", 8),
    ("@prox 2 1 1 2 k 2 a b", 6),
    ("@prox 0 1 5 2 k 2 a b", 10),
    ("@prox 0 1 1 2 z 2 a b", 14),
    ("@prox 0 1 1 2 k", 15),
    ("@term weird a", 6),
    ("@term numeric abc", 14),
    ("@and @attrset gils a b", 5),
    ("@set", 4),
]


@pytest.mark.parametrize(("text", "position"), BAD)
def test_syntax_errors(text: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_pqf(text)
    assert caught.value.position == position


def _zebra_queries() -> list[str]:
    """PQF queries of Zebra's own tests (C string literals starting with @)."""
    if not ZEBRA_TESTS.is_dir():
        return []
    found = set()
    for path in sorted(ZEBRA_TESTS.rglob("*.c")):
        source = path.read_text(encoding="latin-1")
        for match in re.finditer(r'(?:"(?:[^"\\\n]|\\.)*"\s*)+', source):
            text = "".join(re.findall(r'"((?:[^"\\\n]|\\.)*)"', match.group(0)))
            if text.startswith("@") and re.search(r"@(attr|and|or|not|prox|set) ", text):
                found.add(text)
    return sorted(found)


ZEBRA_QUERIES = _zebra_queries()


@pytest.mark.skipif(not ZEBRA_QUERIES, reason="Zebra's test sources (../shared/data) absent")
@pytest.mark.parametrize("text", ZEBRA_QUERIES)
def test_zebra_test_queries_parse_and_round_trip(text: str) -> None:
    query = parse_pqf(text)
    assert parse_pqf(rpn_to_pqf(query)) == query


def test_zebra_prox_query_shape() -> None:
    query = parse_pqf("@prox 0 0 0 0 k 8 @attr 1=Author {leary ian} @attr 1=Relator-term medarb")
    assert query.root == RpnOp(
        Operator.PROX, apt("leary ian", (1, "Author")), apt("medarb", (1, "Relator-term")),
        Proximity(distance=0, ordered=False, relation_type=0, unit=8))


def test_long_or_chain_is_fine() -> None:
    query = parse_pqf("@or @attr 1=7 a " * 150 + "@attr 1=7 b")
    assert parse_pqf(rpn_to_pqf(query)) == query


@pytest.mark.parametrize("text", ["@or a " * 5000 + "b", "@attr 1=4 " * 5000 + "x"])
def test_too_deep_is_refused(text: str) -> None:
    with pytest.raises(QueryTooComplex):
        parse_pqf(text)
