"""SRU diagnostics: complete error tables, codes, URIs and messages."""

from __future__ import annotations

import pytest
from conftest import LimitedHome
from lxml import etree

import index.errors
from index.errors import CatalogError
from index.search import Catalog
from zserver.querylang import errors as query_errors
from zserver.querylang.cql import parse_cql
from zserver.querylang.errors import QueryError, QuerySyntaxError
from zserver.sru.diagnostics import (
    CATALOG_ERRORS,
    MESSAGES,
    QUERY_ERRORS,
    SruDiagnostic,
    SruDiagnosticCode,
    diagnostic_for,
    diagnostic_for_query_error,
)
from zserver.sru.handler import handle
from zserver.sru.request import parse_request


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _catalog_errors() -> set[type]:
    defined = {value for value in vars(index.errors).values()
               if isinstance(value, type) and issubclass(value, CatalogError)}
    return defined | _subclasses(CatalogError) | {CatalogError}


def test_every_catalog_error_has_a_row() -> None:
    missing = {cls.__name__ for cls in _catalog_errors()} - {
        cls.__name__ for cls in CATALOG_ERRORS}
    assert not missing, f"add these CatalogError classes to CATALOG_ERRORS: {missing}"


def test_every_query_error_has_a_row() -> None:
    defined = {value for value in vars(query_errors).values()
               if isinstance(value, type) and issubclass(value, QueryError)}
    missing = (defined | _subclasses(QueryError)) - set(QUERY_ERRORS)
    assert not missing, f"add these QueryError classes to QUERY_ERRORS: {missing}"


@pytest.mark.parametrize("cls", sorted(_catalog_errors(), key=lambda c: c.__name__))
def test_diagnostic_for_each_catalog_error(cls: type[CatalogError]) -> None:
    diagnostic = diagnostic_for(cls("why"))
    assert diagnostic == SruDiagnostic(CATALOG_ERRORS[cls], "why")
    assert diagnostic.message


@pytest.mark.parametrize(("error", "code"), [
    (index.errors.UnknownSearchKey("x"), 16),
    (index.errors.UnsupportedRelation("<"), 19),
    (index.errors.UnsupportedTruncation(""), 28),
    (index.errors.MalformedTerm("19x5"), 36),
    (index.errors.ResultSetNotFound("r"), 51),
    (index.errors.RecordNotFound("1"), 65),
    (index.errors.TooManyTerms("more than 10 terms match a*"), 29),
    (index.errors.TruncationInProximity("hist* is truncated"), 33),
    (index.errors.ProximityRelationUnsupported("proximity relation >="), 40),
    (index.errors.ProximityDistanceUnsupported("a distance of exactly 150 words"), 41),
    (index.errors.ProximityOperandsUnsupported("proximity needs two terms of the same word index"), 48),
    (index.errors.UnsupportedProximity("unit sentence"), 42),
    (index.errors.ResourcesExhausted("more than 3 s"), 47),
])
def test_well_known_codes(error: CatalogError, code: int) -> None:
    assert diagnostic_for(error).code == code


def test_cql_syntax_error_is_10_with_position() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_cql("title any")
    diagnostic = diagnostic_for_query_error(caught.value)
    assert diagnostic == SruDiagnostic(10, "query ends too early (at character 9)")


def test_uri_and_message() -> None:
    diagnostic = SruDiagnostic(SruDiagnosticCode.UNSUPPORTED_INDEX, "dc.frob")
    assert diagnostic.uri == "info:srw/diagnostic/1/16"
    assert diagnostic.message == "Unsupported index"
    assert SruDiagnostic(999).message == ""


def test_every_code_has_a_message() -> None:
    assert set(MESSAGES) == set(SruDiagnosticCode)


@pytest.mark.parametrize(("name", "code"), [
    ("GENERAL_SYSTEM_ERROR", 1), ("UNSUPPORTED_OPERATION", 4), ("UNSUPPORTED_VERSION", 5),
    ("UNSUPPORTED_PARAMETER_VALUE", 6), ("MANDATORY_PARAMETER_NOT_SUPPLIED", 7),
    ("UNSUPPORTED_PARAMETER", 8), ("QUERY_SYNTAX_ERROR", 10), ("UNSUPPORTED_CONTEXT_SET", 15),
    ("UNSUPPORTED_INDEX", 16), ("UNSUPPORTED_RELATION", 19),
    ("UNSUPPORTED_RELATION_MODIFIER", 20), ("EMPTY_TERM_UNSUPPORTED", 27),
    ("MASKING_CHARACTER_NOT_SUPPORTED", 28), ("TERM_IN_INVALID_FORMAT", 36),
    ("UNSUPPORTED_BOOLEAN_OPERATOR", 37), ("TOO_MANY_BOOLEAN_OPERATORS", 38),
    ("PROXIMITY_NOT_SUPPORTED", 39), ("UNSUPPORTED_PROXIMITY_RELATION", 40),
    ("UNSUPPORTED_PROXIMITY_DISTANCE", 41), ("UNSUPPORTED_PROXIMITY_UNIT", 42),
    ("UNSUPPORTED_PROXIMITY_ORDERING", 43),
    ("UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS", 44),
    ("RESULT_SET_DOES_NOT_EXIST", 51), ("FIRST_RECORD_POSITION_OUT_OF_RANGE", 61),
    ("RECORD_TEMPORARILY_UNAVAILABLE", 64), ("UNKNOWN_SCHEMA", 66),
    ("RECORD_NOT_AVAILABLE_IN_SCHEMA", 67), ("NOT_AUTHORISED_TO_SEND_RECORD", 68),
    ("UNSUPPORTED_RECORD_PACKING", 71), ("SORT_NOT_SUPPORTED", 80),
    ("UNSUPPORTED_SORT_SEQUENCE", 82),
])
def test_codes_follow_the_sru_list(name: str, code: int) -> None:
    assert SruDiagnosticCode[name] == code


# -- a search over its limits, as the handler answers it (issue 16) ----------------------------


@pytest.mark.parametrize(("limits", "code"), [({"max_truncation_terms": 1000}, 29), ({"max_query_seconds": 1e-9}, 47)])
def test_a_search_over_its_limits_answers_29_or_47(sample_home, limits: dict, code: int) -> None:
    catalog = Catalog(LimitedHome(sample_home.root, **limits))
    try:
        response = handle(parse_request({"query": "a*", "version": "1.2"}, "unikat"), catalog, None, now=0.0)
        root = etree.fromstring(response.body)
        uris = root.xpath("//*[local-name()='diagnostic']/*[local-name()='uri']/text()")
        details = root.xpath("string(//*[local-name()='diagnostic']/*[local-name()='details'])")
        assert uris == [f"info:srw/diagnostic/1/{code}"] and "more than" in details
        assert not root.xpath("//*[local-name()='records']/*")
    finally:
        catalog.close()
