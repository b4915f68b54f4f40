"""Bib-1 diagnostics: complete error tables and the DefaultDiagFormat dict."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import asn1tools
import pytest
from conftest import LimitedHome

import index.errors
from index.errors import CatalogError, ResultSetNotFound, UnknownSearchKey
from index.search import Catalog
from zserver.querylang import errors as query_errors
from zserver.querylang.ccl import parse_ccl
from zserver.querylang.errors import QueryError, QuerySyntaxError
from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import rpn_to_asn1
from zserver.z3950.codec import decode_pdu
from zserver.z3950.diagnostics import (
    CATALOG_ERRORS,
    DIAG_OID,
    QUERY_ERRORS,
    Bib1Diagnostic,
    Z3950Diagnostic,
    diag_oid,
    diagnostic_for,
    diagnostic_for_query_error,
    to_default_diag_format,
)
from zserver.z3950.handler import Handler
from zserver.z3950.pdus import SearchRequest, SearchResponse, from_asn1

STANDARD_ASN1 = Path("/usr/share/yaz/z39.50/z3950v3.asn")


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _catalog_errors() -> set[type]:
    # import-time subclasses of CatalogError defined in index.errors, plus any made elsewhere
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
    assert diagnostic == Z3950Diagnostic(CATALOG_ERRORS[cls], "why")
    assert diagnostic.code in {code.value for code in Bib1Diagnostic}


@pytest.mark.parametrize(("error", "code"), [
    (UnknownSearchKey("frobnicate"), 114),
    (ResultSetNotFound("r9"), 30),
    (index.errors.UnsupportedRelation("<"), 117),
    (index.errors.UnsupportedStructure(""), 118),
    (index.errors.UnsupportedPosition(""), 119),
    (index.errors.UnsupportedTruncation(""), 120),
    (index.errors.UnsupportedCompleteness(""), 122),
    (index.errors.UnknownDatabase("x"), 235),
    (index.errors.TooManyTerms("more than 10 terms match a*"), 7),
    (index.errors.TruncationInProximity("hist* is truncated"), 201),
    (index.errors.ProximityRelationUnsupported("proximity relation >="), 131),
    (index.errors.ProximityDistanceUnsupported("a distance of exactly 150 words"), 202),
    (index.errors.ProximityOperandsUnsupported("proximity needs two terms of the same word index"), 201),
    (index.errors.UnsupportedProximity("unit sentence"), 132),
    (index.errors.ResourcesExhausted("more than 3 s"), 31),
])
def test_well_known_codes(error: CatalogError, code: int) -> None:
    assert diagnostic_for(error).code == code


def test_diagnostic_for_refuses_other_exceptions() -> None:
    with pytest.raises(TypeError):
        diagnostic_for(ValueError("x"))  # type: ignore[arg-type]


@pytest.mark.parametrize(("ccl", "code"), [
    ("ti=(water", 108),
    ("nosuch=water", 114),
    ("isbn=?123", 120),
])
def test_ccl_errors(ccl: str, code: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_ccl(ccl)
    assert diagnostic_for_query_error(caught.value).code == code


def test_query_error_addinfo_says_where() -> None:
    diagnostic = diagnostic_for_query_error(QuerySyntaxError("missing operand", 7))
    assert diagnostic == Z3950Diagnostic(108, "missing operand (at character 7)")


@pytest.mark.parametrize(("name", "code"), [
    ("PRESENT_REQUEST_OUT_OF_RANGE", 13), ("RESULT_SET_DOES_NOT_EXIST", 30),
    ("QUERY_TYPE_NOT_SUPPORTED", 107), ("MALFORMED_QUERY", 108),
    ("UNSUPPORTED_ATTRIBUTE_TYPE", 113), ("UNSUPPORTED_USE_ATTRIBUTE", 114),
    ("UNSUPPORTED_RELATION_ATTRIBUTE", 117), ("UNSUPPORTED_STRUCTURE_ATTRIBUTE", 118),
    ("UNSUPPORTED_POSITION_ATTRIBUTE", 119), ("UNSUPPORTED_TRUNCATION_ATTRIBUTE", 120),
    ("UNSUPPORTED_ATTRIBUTE_SET", 121), ("UNSUPPORTED_COMPLETENESS_ATTRIBUTE", 122),
    ("UNSUPPORTED_ATTRIBUTE_COMBINATION", 123), ("ILLEGAL_TERM_VALUE_FOR_ATTRIBUTE", 126),
    ("ILLEGAL_RESULT_SET_NAME", 128), ("UNSUPPORTED_PROXIMITY_RELATION", 131),
    ("UNSUPPORTED_PROXIMITY_UNIT_CODE", 132), ("NO_DATA_IN_REQUESTED_RECORD_SYNTAX", 227),
    ("DATABASE_DOES_NOT_EXIST", 235), ("ACCESS_TO_DATABASE_DENIED", 236),
    ("RECORD_NOT_AVAILABLE_IN_REQUESTED_SYNTAX", 238), ("RECORD_SYNTAX_NOT_SUPPORTED", 239),
    ("INIT_AC_BAD_USERID_OR_PASSWORD", 1011),
])
def test_codes_follow_the_bib1_list(name: str, code: int) -> None:
    assert Bib1Diagnostic[name] == code


def test_default_diag_format() -> None:
    assert diag_oid == DIAG_OID == "1.2.840.10003.4.1"
    diagnostic = Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE, "Größe")
    assert to_default_diag_format(diagnostic) == {
        "diagnosticSetId": "1.2.840.10003.4.1",
        "condition": 114,
        "addinfo": ("v3Addinfo", "Größe"),
    }
    assert to_default_diag_format(diagnostic, version=2)["addinfo"] == ("v2Addinfo", "Gr??e")


@cache
def _specification():
    text = STANDARD_ASN1.read_text(encoding="latin-1")
    return asn1tools.compile_string(text[:text.index("END -- IR DEFINITIONS")] + "END\n", "ber")


@pytest.mark.parametrize("version", [2, 3])
def test_default_diag_format_encodes(version: int) -> None:
    if not STANDARD_ASN1.exists():
        pytest.skip("YAZ's z3950v3.asn is not installed")
    spec = _specification()
    value = to_default_diag_format(Z3950Diagnostic(30, "r1"), version=version)
    assert spec.decode("DefaultDiagFormat", spec.encode("DefaultDiagFormat", value)) == value


# -- a search over its limits, as the handler answers it (issue 16) ----------------------------


PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"


@pytest.mark.parametrize(("limits", "code"), [({"max_truncation_terms": 1000}, 7), ({"max_query_seconds": 1e-9}, 31)])
def test_a_search_over_its_limits_answers_7_or_31(sample_home, limits: dict, code: int) -> None:
    catalog = Catalog(LimitedHome(sample_home.root, **limits))
    try:
        handler = Handler(catalog)
        init = from_asn1(*decode_pdu((PDUS / "init-plain-01-c-initRequest.ber").read_bytes()))
        assert handler.handle(init).pdu.result is True
        request = SearchRequest(small_set_upper_bound=0, large_set_lower_bound=1, medium_set_present_number=0,
                                replace_indicator=True, result_set_name="1", database_names=("unikat",),
                                query=("type-1", rpn_to_asn1(parse_pqf("@attr 1=1016 @attr 5=1 a"))))
        response = handler.handle(request).pdu
        assert isinstance(response, SearchResponse)
        assert response.search_status is False and response.result_count == 0
        kind, diag = response.records
        assert kind == "nonSurrogateDiagnostic" and diag["condition"] == code, diag
        assert "more than" in diag["addinfo"][1]    # names the limit
    finally:
        catalog.close()
