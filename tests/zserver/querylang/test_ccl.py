"""CCL text -> Type-1 query, written as PQF for readability (PQF itself is tested apart)."""

from __future__ import annotations

from pathlib import Path

import asn1tools
import pytest

from zserver.querylang.ccl import DEFAULT_QUALIFIERS, CclProfile, parse_ccl
from zserver.querylang.errors import (
    QuerySyntaxError,
    QueryTooComplex,
    TruncationNotAllowed,
    UnknownQualifier,
)
from zserver.querylang.pqf import parse_pqf, rpn_to_pqf

DEFAULT = [
    ("dylan", "@attr 1=1016 @attr 4=2 dylan"),
    ("bob dylan",
     "@and @attr 1=1016 @attr 4=2 bob @attr 1=1016 @attr 4=2 dylan"),
    ('"bob dylan"', '@attr 1=1016 @attr 4=1 "bob dylan"'),
    ("dylan or zimmerman",
     "@or @attr 1=1016 @attr 4=2 dylan @attr 1=1016 @attr 4=2 zimmerman"),
    ("ti=water and au=smith",
     "@and @attr 1=4 @attr 4=2 water @attr 1=1003 @attr 4=2 smith"),
    ("TI=water AND Au=smith",
     "@and @attr 1=4 @attr 4=2 water @attr 1=1003 @attr 4=2 smith"),
    ("ti=self portrait", '@attr 1=4 @attr 4=1 "self portrait"'),
    ("ti,au=dylan", "@or @attr 1=4 @attr 4=2 dylan @attr 1=1003 @attr 4=2 dylan"),
    ("au=(bob dylan and slow train coming)",
     '@and @attr 1=1003 @attr 4=1 "bob dylan" @attr 1=1003 @attr 4=1 "slow train coming"'),
    ("year>1980 and (ti=((self portrait)))",
     '@and @attr 1=31 @attr 4=4 @attr 2=5 1980 @attr 1=4 @attr 4=1 "self portrait"'),
    # booleans have one precedence and group to the left, as in YAZ
    ("a or b and c not d",
     "@not @and @or @attr 1=1016 @attr 4=2 a @attr 1=1016 @attr 4=2 b"
     " @attr 1=1016 @attr 4=2 c @attr 1=1016 @attr 4=2 d"),
    ("a and (b or c)",
     "@and @attr 1=1016 @attr 4=2 a @or @attr 1=1016 @attr 4=2 b @attr 1=1016 @attr 4=2 c"),
    # relations and ranges on an ordered qualifier
    ("year=1990", "@attr 1=31 @attr 4=4 @attr 2=3 1990"),
    ("year<1990", "@attr 1=31 @attr 4=4 @attr 2=1 1990"),
    ("year<=1990", "@attr 1=31 @attr 4=4 @attr 2=2 1990"),
    ("year>=1990", "@attr 1=31 @attr 4=4 @attr 2=4 1990"),
    ("year<>1990", "@attr 1=31 @attr 4=4 @attr 2=6 1990"),
    ("year=1990-2000",
     "@and @attr 1=31 @attr 4=4 @attr 2=4 1990 @attr 1=31 @attr 4=4 @attr 2=2 2000"),
    ("year=1990 - 2000",
     "@and @attr 1=31 @attr 4=4 @attr 2=4 1990 @attr 1=31 @attr 4=4 @attr 2=2 2000"),
    ("year=1990-", "@attr 1=31 @attr 4=4 @attr 2=4 1990"),
    ("year=-2000", "@attr 1=31 @attr 4=4 @attr 2=2 2000"),
    # truncation and masking
    ("ti=comput?", "@attr 1=4 @attr 4=2 @attr 5=1 comput"),
    ("ti=?puter", "@attr 1=4 @attr 4=2 @attr 5=2 puter"),
    ("ti=?pute?", "@attr 1=4 @attr 4=2 @attr 5=3 pute"),
    ("ti=water poll?", '@attr 1=4 @attr 4=1 @attr 5=1 "water poll"'),
    ("ti=wom#n", "@attr 1=4 @attr 4=2 @attr 5=104 wom#n"),
    ("ti=colo?r", "@attr 1=4 @attr 4=2 @attr 5=104 colo?r"),
    ('ti="what?"', "@attr 1=4 @attr 4=2 what?"),
    ("isbn=3-16-148410?", "@attr 1=7 @attr 5=1 3-16-148410"),
    ("issn=0028-0836", "@attr 1=8 0028-0836"),
    ("lang=ger", "@attr 1=54 ger"),
    ("lccn=2001012345", "@attr 1=9 2001012345"),
    ("pub=penguin", "@attr 1=1018 @attr 4=2 penguin"),
    ("su=rivers", "@attr 1=21 @attr 4=2 rivers"),
    ("any=rivers", "@attr 1=1016 @attr 4=2 rivers"),
    # result sets and proximity
    ("set=1", "@set 1"),
    ("(dylan and bob) or set=r1",
     "@or @and @attr 1=1016 @attr 4=2 dylan @attr 1=1016 @attr 4=2 bob @set r1"),
    ("a % b", "@prox 0 1 0 2 k 2 @attr 1=1016 @attr 4=2 a @attr 1=1016 @attr 4=2 b"),
    ("a %3 b", "@prox 0 3 0 2 k 2 @attr 1=1016 @attr 4=2 a @attr 1=1016 @attr 4=2 b"),
    ("a ! b", "@prox 0 1 1 2 k 2 @attr 1=1016 @attr 4=2 a @attr 1=1016 @attr 4=2 b"),
    ("a !2 b", "@prox 0 2 1 2 k 2 @attr 1=1016 @attr 4=2 a @attr 1=1016 @attr 4=2 b"),
    ("a prox b", "@prox 0 1 0 2 k 2 @attr 1=1016 @attr 4=2 a @attr 1=1016 @attr 4=2 b"),
    ("ti=a % b",
     "@prox 0 1 0 2 k 2 @attr 1=4 @attr 4=2 a @attr 1=4 @attr 4=2 b"),
    # keywords only as whole words
    ("andrew or settle",
     "@or @attr 1=1016 @attr 4=2 andrew @attr 1=1016 @attr 4=2 settle"),
    ('"and"', "@attr 1=1016 @attr 4=2 and"),
]


@pytest.mark.parametrize(("text", "pqf"), DEFAULT)
def test_default_profile(text: str, pqf: str) -> None:
    assert parse_ccl(text) == parse_pqf(pqf), rpn_to_pqf(parse_ccl(text))


PROFILE = CclProfile({
    "ti": "u=4 s=1",
    "au": "u=1 s=1",
    "term": "s=105",
    "ranked": "r=102",
    "date": "u=30 r=o",
    "name": "pn cn",
    "pn": "1=1004 t=n",
    "cn": "u=1005 s=ol",
    "titlestr": "u=title p=1 c=3",
    "geo": "gils,1=2038 bib-1,2=3",
})

CUSTOM = [
    ("x", "@attr 4=105 x"),
    ("ti=knuth computer", '@attr 1=4 @attr 4=1 "knuth computer"'),
    ("ti,ranked=knuth", "@or @attr 1=4 @attr 4=1 knuth @attr 2=102 knuth"),
    ("date>1980", "@attr 1=30 @attr 2=5 1980"),
    # r=o: only a dash between blanks is a range
    ("date=1980-1990", "@attr 1=30 @attr 2=3 1980-1990"),
    ("date=1980 - 1990", "@and @attr 1=30 @attr 2=4 1980 @attr 1=30 @attr 2=2 1990"),
    ("date=-1980", "@attr 1=30 @attr 2=3 -1980"),
    # an alias ORs its qualifiers
    ("name=smith", "@or @attr 1=1004 @attr 5=100 smith @attr 1=1005 smith"),
    ("cn=acme corp", "@or @attr 1=1005 acme @attr 1=1005 corp"),
    ("titlestr=x", "@attr 1=title @attr 3=1 @attr 6=3 x"),
    ("geo=-114", "@attr gils 1=2038 @attr bib-1 2=3 -114"),
]


@pytest.mark.parametrize(("text", "pqf"), CUSTOM)
def test_configured_profile(text: str, pqf: str) -> None:
    assert parse_ccl(text, PROFILE) == parse_pqf(pqf), rpn_to_pqf(parse_ccl(text, PROFILE))


BAD = [
    ("", QuerySyntaxError, 0),
    ("ti=", QuerySyntaxError, 3),
    ("(dylan", QuerySyntaxError, 6),
    ("dylan)", QuerySyntaxError, 5),
    ("dylan and", QuerySyntaxError, 9),
    ("and dylan", QuerySyntaxError, 0),
    ("a or and", QuerySyntaxError, 5),
    ('"dylan', QuerySyntaxError, 0),
    ("ti>3", QuerySyntaxError, 2),
    ("set=", QuerySyntaxError, 4),
    ("year=-", QuerySyntaxError, 5),          # a range without bounds (found by fuzz/queries.py)
    ("ti=a or year = - ", QuerySyntaxError, 15),
    ("xx=water", UnknownQualifier, 0),
    ("ti,xx=water", UnknownQualifier, 3),
    ("isbn=?123", TruncationNotAllowed, 5),
    ("isbn=12#4", TruncationNotAllowed, 5),
    ("lang=ger?", TruncationNotAllowed, 5),
]


@pytest.mark.parametrize(("text", "error", "position"), BAD)
def test_errors(text: str, error: type[Exception], position: int) -> None:
    with pytest.raises(error) as caught:
        parse_ccl(text)
    assert type(caught.value) is error
    assert caught.value.position == position


def test_unknown_qualifier_names_it() -> None:
    with pytest.raises(UnknownQualifier) as caught:
        parse_ccl("ti=a and foo=b")
    assert caught.value.qualifier == "foo"
    assert caught.value.position == 9


@pytest.mark.parametrize("table", [
    {"ti": "x=4"},
    {"ti": "u="},
    {"ti": "nosuchset,1=4"},
    {"au": "pn cn"},
])
def test_bad_profile_lines(table: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        CclProfile(table)


def test_default_table_has_the_documented_qualifiers() -> None:
    assert set(DEFAULT_QUALIFIERS) >= {
        "ti", "au", "su", "isbn", "issn", "year", "any", "pub", "lang", "lccn", "term"}


def test_long_or_chain_is_fine() -> None:
    assert parse_ccl(" or ".join(f"isbn={n}" for n in range(150))).root.op.value == "or"


@pytest.mark.parametrize("text", [" or ".join(["a"] * 5000), "(" * 3000 + "a" + ")" * 3000])
def test_too_deep_is_refused(text: str) -> None:
    with pytest.raises(QueryTooComplex):
        parse_ccl(text)


def test_type_2_query_sent_by_yaz_client() -> None:
    """yaz-client's `querytype ccl` sends the CCL text as a Type-2 query (captured PDU)."""
    path = Path(__file__).resolve().parents[2] / "data/pdus/search-ccl-03-c-searchRequest.ber"
    asn1 = Path("/usr/share/yaz/z39.50/z3950v3.asn")
    if not path.exists() or not asn1.exists():
        pytest.skip("captured PDU or YAZ's z3950v3.asn absent")
    text = asn1.read_text(encoding="latin-1")
    spec = asn1tools.compile_string(text[:text.index("END -- IR DEFINITIONS")] + "END\n", "ber")
    _, pdu = spec.decode("PDU", path.read_bytes())
    assert pdu["query"] == ("type-2", b"ti=computer and au=knuth")
    assert parse_ccl(pdu["query"][1].decode()) == parse_pqf(
        "@and @attr 1=4 @attr 4=2 computer @attr 1=1003 @attr 4=2 knuth")
