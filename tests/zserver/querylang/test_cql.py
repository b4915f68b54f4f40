"""CQL 1.2 text -> CQL syntax tree, and YAZ's CQL sample queries (pass/fail)."""

from __future__ import annotations

import pytest
from conftest import CQL_1_2_OVERRIDES, YAZ_TESTS, yaz_cql_samples

from zserver.querylang.cql import (
    SERVER_CHOICE,
    BooleanClause,
    CqlQuery,
    Modifier,
    PrefixAssignment,
    Prefixed,
    SearchClause,
    SortKey,
    parse_cql,
)
from zserver.querylang.errors import QuerySyntaxError, QueryTooComplex


def bare(term: str) -> SearchClause:
    return SearchClause(SERVER_CHOICE, "=", term)


def clause(index: str, relation: str, term: str, *modifiers: Modifier) -> SearchClause:
    return SearchClause(index, relation, term, modifiers)


PARSES = [
    ("cat", CqlQuery(bare("cat"))),
    ('"cat"', CqlQuery(bare("cat"))),
    ('""', CqlQuery(bare(""))),
    ("comp.os.linux", CqlQuery(bare("comp.os.linux"))),
    ('"prox/distance<3/unit=word"', CqlQuery(bare("prox/distance<3/unit=word"))),
    ("((dog))", CqlQuery(bare("dog"))),
    ("all", CqlQuery(bare("all"))),
    ("prox", CqlQuery(bare("prox"))),
    ("title = fish", CqlQuery(clause("title", "=", "fish"))),
    ("dc.title == \"fish\"", CqlQuery(clause("dc.title", "==", "fish"))),
    ("title any fish", CqlQuery(clause("title", "any", "fish"))),
    ("title ANY fish", CqlQuery(clause("title", "ANY", "fish"))),
    ("title <> fish", CqlQuery(clause("title", "<>", "fish"))),
    ("dc.date within \"1990 2000\"", CqlQuery(clause("dc.date", "within", "1990 2000"))),
    ("title cql.adj \"a b\"", CqlQuery(clause("title", "cql.adj", "a b"))),
    ("dc.title any/stem fish", CqlQuery(clause("dc.title", "any", "fish", Modifier("stem")))),
    ("dc.title =/rel.algorithm=CORI squid",
     CqlQuery(clause("dc.title", "=", "squid", Modifier("rel.algorithm", "=", "CORI")))),
    ('creator any/f.foo/b.bar>1 "sanderson taylor"',
     CqlQuery(clause("creator", "any", "sanderson taylor", Modifier("f.foo"),
                     Modifier("b.bar", ">", "1")))),
    ('title =/locale="de DE" x',
     CqlQuery(clause("title", "=", "x", Modifier("locale", "=", "de DE")))),
    # keywords are terms where a term may stand
    ("and b c", CqlQuery(clause("and", "b", "c"))),
    ("fred and any", CqlQuery(BooleanClause("and", bare("fred"), bare("any")))),
    ("title = and", CqlQuery(clause("title", "=", "and"))),
    # booleans: one precedence, grouped to the left
    ("a or b and c not d",
     CqlQuery(BooleanClause("not", BooleanClause("and", BooleanClause(
         "or", bare("a"), bare("b")), bare("c")), bare("d")))),
    ("a OR b", CqlQuery(BooleanClause("or", bare("a"), bare("b")))),
    ("a and (b or c)",
     CqlQuery(BooleanClause("and", bare("a"), BooleanClause("or", bare("b"), bare("c"))))),
    ("cat prox/distance=3/unit=word/ordered hat",
     CqlQuery(BooleanClause("prox", bare("cat"), bare("hat"), (
         Modifier("distance", "=", "3"), Modifier("unit", "=", "word"),
         Modifier("ordered"))))),
    ("a and/rel.SumOfScores b",
     CqlQuery(BooleanClause("and", bare("a"), bare("b"), (Modifier("rel.SumOfScores"),)))),
    # terms keep their escapes and masking characters
    (r'"^cat says \"fish\""', CqlQuery(bare(r'^cat says \"fish\"'))),
    ("cat?dog*", CqlQuery(bare("cat?dog*"))),
    # prefix assignments
    ('> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.title = fish',
     CqlQuery(clause("dc.title", "=", "fish"), (),
              (PrefixAssignment("dc", "info:srw/cql-context-set/1/dc-v1.1"),))),
    ('> "info:srw/cql-context-set/1/dc-v1.1" title = fish',
     CqlQuery(clause("title", "=", "fish"), (),
              (PrefixAssignment(None, "info:srw/cql-context-set/1/dc-v1.1"),))),
    ("> any > any = exact any > any",
     CqlQuery(clause("any", ">", "any"), (),
              (PrefixAssignment(None, "any"), PrefixAssignment("any", "exact")))),
    ('a and (> x = "urn:x" x.t = b)',
     CqlQuery(BooleanClause("and", bare("a"), Prefixed(
         (PrefixAssignment("x", "urn:x"),), clause("x.t", "=", "b"))))),
    # sortBy
    ("a sortby title",
     CqlQuery(bare("a"), (SortKey("title"),))),
    ("a or b sortBy title/ascending author",
     CqlQuery(BooleanClause("or", bare("a"), bare("b")),
              (SortKey("title", (Modifier("ascending"),)), SortKey("author")))),
    ("dc.title any fish sortBy dc.date/sort.descending/sort.missingHigh",
     CqlQuery(clause("dc.title", "any", "fish"), (
         SortKey("dc.date", (Modifier("sort.descending"), Modifier("sort.missingHigh"))),))),
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_parse(text: str, expected: CqlQuery) -> None:
    assert parse_cql(text) == expected


def test_positions() -> None:
    query = parse_cql('a and/x  dc.title any/y "b c" sortby t/z')
    assert query.root.position == 2
    assert query.root.modifiers[0].position == 5
    assert query.root.right.position == 9
    assert query.root.right.modifiers[0].position == 21
    assert query.sort_keys[0].position == 37
    assert query.sort_keys[0].modifiers[0].position == 38


BAD = [
    ("", 0),
    ("   ", 0),
    ("<", 0),
    ("===", 0),
    ("missingClause or", 16),
    ("missingTerm any", 15),
    ("()", 1),
    ("(missingParen", 13),
    ("missingParen any fish)", 21),
    ("(emptyParens or ())", 17),
    ('title = ("illegal parentheses")', 8),
    ('> illegal="urn:missingQuery" ', 29),
    ('"unterminated', 0),
    ("a b", 3),
    ("a and", 5),
    ("a sortby", 8),
    ("title = fish/x", 12),
]


@pytest.mark.parametrize(("text", "position"), BAD)
def test_syntax_errors(text: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_cql(text)
    assert caught.value.position == position


YAZ_SAMPLES = yaz_cql_samples()


@pytest.mark.skipif(not YAZ_SAMPLES, reason="YAZ's CQL test data (../shared/data) absent")
@pytest.mark.parametrize(("case", "text", "must_fail"), YAZ_SAMPLES,
                         ids=[case for case, _, _ in YAZ_SAMPLES])
def test_yaz_cql_samples(case: str, text: str, must_fail: bool) -> None:
    must_fail = CQL_1_2_OVERRIDES.get(case, must_fail)
    if must_fail:
        with pytest.raises(QuerySyntaxError):
            parse_cql(text)
    else:
        parse_cql(text)


def test_yaz_samples_were_found() -> None:
    if not YAZ_TESTS.exists():
        pytest.skip("YAZ's CQL test data (../shared/data) absent")
    assert len(YAZ_SAMPLES) > 70


def test_long_or_chain_is_fine() -> None:
    query = parse_cql(" or ".join(f"bath.isbn={n}" for n in range(150)))
    assert query.root.operator == "or"


@pytest.mark.parametrize("text", [" or ".join(["a"] * 5000), "(" * 3000 + "a" + ")" * 3000])
def test_too_deep_is_refused(text: str) -> None:
    with pytest.raises(QueryTooComplex):
        parse_cql(text)
