"""Type-1 queries with Bib-1 attributes (written as PQF) -> index.query trees or diagnostics."""

from __future__ import annotations

import pytest

from index.query import (
    And,
    AndNot,
    Completeness,
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
from zserver.querylang.pqf import parse_pqf
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
from zserver.z3950.attributes import (
    KEY_INDEXES,
    LOGICAL_INDEXES,
    USE_INDEXES,
    Bib1Use,
    rpn_to_query,
    simplify_masked,
)
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic


def words(index: str, text: str, **fields) -> Term:
    return Term(index, text, **fields)


def key(index: str, text: str, **fields) -> Term:
    return Term(index, text, structure=Structure.KEY, **fields)


def year(text: str, relation: Relation = Relation.EQ) -> Term:
    return Term("year", text, relation=relation, structure=Structure.YEAR)


MAPS = [
    ("computer", words("any", "computer")),
    ("@attr 1=4 computer", words("title", "computer")),
    ("@attr 1=1 knuth", words("personal_name", "knuth")),
    ("@attr 1=2 ibm", words("corporate_name", "ibm")),
    ("@attr 1=3 ifla", words("conference_name", "ifla")),
    ("@attr 1=5 lecture", words("series", "lecture")),
    ("@attr 1=7 3161484100", key("isbn", "3161484100")),
    ("@attr 1=8 0028-0836", key("issn", "0028-0836")),
    ("@attr 1=9 2001012345", key("lccn", "2001012345")),
    ("@attr 1=12 A123", key("local_number", "A123")),
    ("@attr 1=13 510", key("dewey", "510")),
    ("@attr 1=16 QA76", key("lc_call_number", "QA76")),
    ("@attr 1=21 rivers", words("subject", "rivers")),
    ("@attr 1=31 1990", year("1990")),
    ("@attr 1=54 ger", key("language", "ger")),
    ("@attr 1=1003 knuth", words("author", "knuth")),
    ("@attr 1=1004 knuth", words("personal_name", "knuth")),
    ("@attr 1=1005 ibm", words("corporate_name", "ibm")),
    ("@attr 1=1007 3161484100", key("identifier", "3161484100")),
    ("@attr 1=1016 x", words("any", "x")),
    ("@attr 1=1018 penguin", words("publisher", "penguin")),
    ("@attr 1=1031 book", key("material_type", "book")),
    ("@attr 1=1032 42", key("isn", "42")),
    ("@attr 1=1035 x", words("any", "x")),
    ("@attr 1=56 HAM", key("library", "HAM")),
    # string Use attributes
    ("@attr 1=title x", words("title", "x")),
    ("@attr 1=Title x", words("title", "x")),
    ("@attr 1=personal_name x", words("personal_name", "x")),
    ("@attr 1=Personal-name x", words("personal_name", "x")),
    ("@attr 1=material-type book", key("material_type", "book")),
    ("@attr 1=oclc 123", key("oclc", "123")),
    ("@attr 1=library HAM", key("library", "HAM")),
    # relations
    ("@attr 1=31 @attr 2=1 1990", year("1990", Relation.LT)),
    ("@attr 1=31 @attr 2=2 1990", year("1990", Relation.LE)),
    ("@attr 1=31 @attr 2=3 1990", year("1990", Relation.EQ)),
    ("@attr 1=31 @attr 2=4 1990", year("1990", Relation.GE)),
    ("@attr 1=31 @attr 2=5 1990", year("1990", Relation.GT)),
    ("@attr 1=31 @attr 2=6 1990", year("1990", Relation.NE)),
    ("@attr 2=102 fish", words("any", "fish", relation=Relation.RELEVANCE)),
    # position
    ("@attr 1=4 @attr 3=1 war", words("title", "war", position=Position.FIRST_IN_FIELD)),
    ("@attr 1=4 @attr 3=2 war", words("title", "war", position=Position.FIRST_IN_FIELD)),
    ("@attr 1=4 @attr 3=3 war", words("title", "war", position=Position.ANY)),
    # structure
    ('@attr 4=1 "a b"', words("any", "a b", structure=Structure.PHRASE)),
    ("@attr 4=2 a", words("any", "a", structure=Structure.WORD)),
    ("@attr 1=4 @attr 4=3 x", words("title", "x", structure=Structure.KEY)),
    ("@attr 1=31 @attr 4=4 1990", year("1990")),
    ("@attr 1=31 @attr 4=5 1990", year("1990")),
    ('@attr 4=6 "a b"', words("any", "a b", structure=Structure.WORD_LIST)),
    ('@attr 4=101 "knuth, donald"', words("any", "knuth, donald", structure=Structure.PHRASE)),
    ('@attr 4=105 "a b"', words("any", "a b", structure=Structure.WORD_LIST)),
    ('@attr 4=106 "a b"', words("any", "a b", structure=Structure.WORD_LIST)),
    ("@attr 1=12 @attr 4=107 A1", key("local_number", "A1")),
    ('@attr 4=108 "a b"', words("any", "a b", structure=Structure.PHRASE)),
    ("@attr 1=1032 @attr 4=109 42", Term("isn", "42", structure=Structure.NUMERIC)),
    # truncation
    ("@attr 5=1 comput", words("any", "comput", truncation=Truncation.RIGHT)),
    ("@attr 5=2 puter", words("any", "puter", truncation=Truncation.LEFT)),
    ("@attr 5=3 pute", words("any", "pute", truncation=Truncation.BOTH)),
    ("@attr 5=100 x", words("any", "x")),
    ("@attr 5=101 wom#n", words("any", "wom*n", truncation=Truncation.MASKED)),
    ("@attr 5=101 comput#", words("any", "comput", truncation=Truncation.RIGHT)),
    ("@attr 5=101 plain", words("any", "plain")),
    ("@attr 5=101 what?#", words("any", "what", truncation=Truncation.RIGHT)),
    ("@attr 5=104 wom#n", words("any", "wom?n", truncation=Truncation.MASKED)),
    ("@attr 5=104 colo?r", words("any", "colo*r", truncation=Truncation.MASKED)),
    ("@attr 5=104 colo?1r", words("any", "colo*r", truncation=Truncation.MASKED)),
    ("@attr 5=104 comput?", words("any", "comput", truncation=Truncation.RIGHT)),
    ("@attr 5=104 ?puter", words("any", "puter", truncation=Truncation.LEFT)),
    ("@attr 5=104 ?pute?", words("any", "pute", truncation=Truncation.BOTH)),
    ("@attr 5=105 wom!n", words("any", "wom?n*", truncation=Truncation.MASKED)),
    ("@attr 5=105 comput", words("any", "comput", truncation=Truncation.RIGHT)),
    ("@attr 5=106 a*b", words("any", "a*b", truncation=Truncation.MASKED)),
    ("@attr 1=31 @attr 5=1 199", Term("year", "199", structure=Structure.YEAR,
                                      truncation=Truncation.RIGHT)),
    # completeness
    ("@attr 6=1 x", words("any", "x")),
    ("@attr 6=2 x", words("any", "x", completeness=Completeness.COMPLETE_FIELD)),
    ('@attr 1=4 @attr 6=3 "the title"',
     words("title", "the title", completeness=Completeness.COMPLETE_FIELD)),
    # the first attribute of a type counts
    ("@attr 1=4 @attr 2=3 @attr 3=3 @attr 4=2 @attr 5=100 @attr 6=1 x",
     words("title", "x", structure=Structure.WORD)),
    # operators and result sets
    ("@and a b", And(words("any", "a"), words("any", "b"))),
    ("@or a b", Or(words("any", "a"), words("any", "b"))),
    ("@not a b", AndNot(words("any", "a"), words("any", "b"))),
    ("@or @set r1 @attr 1=4 x", Or(ResultSetRef("r1"), words("title", "x"))),
    ("@prox 0 3 1 2 k 2 dylan zimmerman",
     Prox(words("any", "dylan"), words("any", "zimmerman"), distance=3, ordered=True,
          relation=Relation.LE, unit=ProximityUnit.WORD)),
    ("@prox 1 0 0 3 k 8 a b",
     Prox(words("any", "a"), words("any", "b"), distance=0, ordered=False,
          relation=Relation.EQ, unit=ProximityUnit.FIELD, exclusion=True)),
    ("@prox void 2 0 6 k 9 a b",
     Prox(words("any", "a"), words("any", "b"), distance=2, ordered=False,
          relation=Relation.NE, unit=ProximityUnit.FIELD)),
    ("@term string x", words("any", "x")),
    ("@term numeric 5", words("any", "5")),
]


@pytest.mark.parametrize(("pqf", "expected"), MAPS)
def test_maps(pqf: str, expected) -> None:
    assert rpn_to_query(parse_pqf(pqf)) == expected


def _apt(*attributes: Attribute, term: str = "x",
         term_type: TermType = TermType.GENERAL) -> Query:
    return Query(BIB1_OID, AttributesPlusTerm(attributes, term, term_type))


def test_complex_use_takes_first_known_alternative() -> None:
    query = _apt(Attribute(1, ComplexValue(("nosuchindex", 4, "title"))))
    assert rpn_to_query(query) == words("title", "x")


def test_explicit_bib1_set_on_an_attribute() -> None:
    query = Query("1.2.840.10003.3.5", AttributesPlusTerm((Attribute(1, 4, BIB1_OID),), "x"))
    assert rpn_to_query(query) == words("title", "x")


D = Bib1Diagnostic

DIAGNOSTICS = [
    ("@attr 7=1 x", D.UNSUPPORTED_ATTRIBUTE_TYPE, "7"),
    ("@attr 1=9999 x", D.UNSUPPORTED_USE_ATTRIBUTE, "9999"),
    ("@attr 1=nosuchindex x", D.UNSUPPORTED_USE_ATTRIBUTE, "nosuchindex"),
    ("@attr 2=100 x", D.UNSUPPORTED_RELATION_ATTRIBUTE, "100"),
    ("@attr 2=103 x", D.UNSUPPORTED_RELATION_ATTRIBUTE, "103"),
    ("@attr 3=4 x", D.UNSUPPORTED_POSITION_ATTRIBUTE, "4"),
    ("@attr 4=103 x", D.UNSUPPORTED_STRUCTURE_ATTRIBUTE, "103"),
    ("@attr 5=102 x", D.UNSUPPORTED_TRUNCATION_ATTRIBUTE, "102"),
    ("@attr 6=4 x", D.UNSUPPORTED_COMPLETENESS_ATTRIBUTE, "4"),
    ("@attr gils 1=4 x", D.UNSUPPORTED_ATTRIBUTE_SET, "1.2.840.10003.3.5"),
    ("@attrset gils @attr 1=4 x", D.UNSUPPORTED_ATTRIBUTE_SET, "1.2.840.10003.3.5"),
    ("@attr 1=31 19x5", D.ILLEGAL_TERM_VALUE_FOR_ATTRIBUTE, "19x5"),
    ("@attr 4=109 12a", D.ILLEGAL_TERM_VALUE_FOR_ATTRIBUTE, "12a"),
    ("@attr 4=4 nineteen", D.ILLEGAL_TERM_VALUE_FOR_ATTRIBUTE, "nineteen"),
    ("@term oid 1.2.3", D.TERM_TYPE_NOT_SUPPORTED, "oid"),
    ("@term null x", D.TERM_TYPE_NOT_SUPPORTED, "null"),
    ('@set ""', D.ILLEGAL_RESULT_SET_NAME, ""),
    ("@prox 0 1 1 7 k 2 a b", D.UNSUPPORTED_PROXIMITY_RELATION, "7"),
    ("@prox 0 1 1 2 k 1 a b", D.UNSUPPORTED_PROXIMITY_UNIT_CODE, "1"),
    ("@prox 0 1 1 2 k 3 a b", D.UNSUPPORTED_PROXIMITY_UNIT_CODE, "3"),
    ("@prox 0 1 1 2 p 2 a b", D.UNSUPPORTED_PROXIMITY_UNIT_CODE, "private 2"),
    ("@prox 0 1 1 2 k 2 @set r a", D.PROXIMITY_OF_SETS_NOT_SUPPORTED, ""),
    ("@and a @attr 1=0 b", D.UNSUPPORTED_USE_ATTRIBUTE, "0"),
    ("@attr 1=31 @attr 2=4 @attr 5=1 199", D.UNSUPPORTED_ATTRIBUTE_COMBINATION,
     "truncation with an ordering relation"),
]


@pytest.mark.parametrize(("pqf", "code", "addinfo"), DIAGNOSTICS)
def test_diagnostics(pqf: str, code: Bib1Diagnostic, addinfo: str) -> None:
    with pytest.raises(Z3950Diagnostic) as caught:
        rpn_to_query(parse_pqf(pqf))
    assert caught.value == Z3950Diagnostic(code, addinfo)


def test_negative_proximity_distance() -> None:
    query = Query(BIB1_OID, RpnOp(Operator.PROX, AttributesPlusTerm((), "a"),
                                  AttributesPlusTerm((), "b"),
                                  Proximity(distance=-1, ordered=False)))
    with pytest.raises(Z3950Diagnostic) as caught:
        rpn_to_query(query)
    assert caught.value.code == D.UNSUPPORTED_PROXIMITY_DISTANCE


def test_prox_of_result_set_on_the_right() -> None:
    query = Query(BIB1_OID, RpnOp(Operator.PROX, AttributesPlusTerm((), "a"), ResultSetId("r"),
                                  Proximity(distance=1, ordered=False)))
    with pytest.raises(Z3950Diagnostic) as caught:
        rpn_to_query(query)
    assert caught.value.code == D.PROXIMITY_OF_SETS_NOT_SUPPORTED


def test_the_use_attributes_of_the_brief_all_map() -> None:
    required = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 21, 31, 54, 1003, 1004, 1005, 1007, 1016,
                1018, 1031, 1032, 1035}
    assert required <= set(USE_INDEXES)
    assert set(USE_INDEXES.values()) <= LOGICAL_INDEXES
    assert all(isinstance(use, Bib1Use) for use in USE_INDEXES)


def test_every_logical_index_is_reachable_by_name() -> None:
    for index in LOGICAL_INDEXES:
        query = rpn_to_query(parse_pqf(f"@attr 1={index} 1999"))
        assert query.index == index
        assert (query.structure is Structure.KEY) == (index in KEY_INDEXES)


@pytest.mark.parametrize(("text", "expected"), [
    ("abc", ("abc", Truncation.NONE)),
    ("abc*", ("abc", Truncation.RIGHT)),
    ("*abc", ("abc", Truncation.LEFT)),
    ("*abc*", ("abc", Truncation.BOTH)),
    ("a*c", ("a*c", Truncation.MASKED)),
    ("a?c", ("a?c", Truncation.MASKED)),
    ("abc?", ("abc?", Truncation.MASKED)),
    ("*", ("*", Truncation.MASKED)),
    ("**", ("**", Truncation.MASKED)),
    ("*a*b*", ("*a*b*", Truncation.MASKED)),
])
def test_simplify_masked(text: str, expected: tuple[str, Truncation]) -> None:
    assert simplify_masked(text) == expected
