"""SRU request parsing: parameters -> SruRequest, with the protocol's diagnostics as values."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl

import pytest

from zserver.sru.diagnostics import SruDiagnosticCode as D
from zserver.sru.request import (
    Escaping,
    FormError,
    Operation,
    Version,
    decode_form,
    parse_request,
)


def test_no_parameters_is_explain_in_2_0() -> None:
    request = parse_request({}, "unikat")
    assert (request.operation, request.version, request.problem) == (Operation.EXPLAIN, Version.V2_0, None)
    assert request.database == "unikat"


@pytest.mark.parametrize(("params", "operation", "version"), [
    ({"query": "water"}, Operation.SEARCH_RETRIEVE, Version.V2_0),
    ({"scanClause": "dc.title=a"}, Operation.SCAN, Version.V2_0),
    ({"operation": "searchRetrieve", "version": "1.1", "query": "a"}, Operation.SEARCH_RETRIEVE, Version.V1_1),
    ({"operation": "scan", "version": "1.2", "scanClause": "a"}, Operation.SCAN, Version.V1_2),
    ({"operation": "explain", "version": "1.2"}, Operation.EXPLAIN, Version.V1_2),
    ({"operation": "searchRetrieve", "version": "2.0", "query": "a"}, Operation.SEARCH_RETRIEVE, Version.V2_0),
    ({"version": "1.1"}, Operation.EXPLAIN, Version.V1_1),
    # Empty values count as absent (as YAZ does), so a bare form submits fine.
    ({"query": "a", "startRecord": "", "maximumRecords": ""}, Operation.SEARCH_RETRIEVE, Version.V2_0),
])
def test_operation_and_version(params, operation: Operation, version: Version) -> None:
    request = parse_request(params, "unikat")
    assert request.problem is None
    assert (request.operation, request.version) == (operation, version)


@pytest.mark.parametrize(("params", "code", "details", "version"), [
    ({"version": "3.0", "query": "a"}, D.UNSUPPORTED_VERSION, "2.0", Version.V2_0),
    ({"version": "1.0", "query": "a"}, D.UNSUPPORTED_VERSION, "2.0", Version.V1_2),
    ({"operation": "update", "version": "1.2"}, D.UNSUPPORTED_OPERATION, "update", Version.V1_2),
    ({"operation": "searchRetrieve"}, D.MANDATORY_PARAMETER_NOT_SUPPLIED, "query", Version.V2_0),
    ({"operation": "scan", "version": "1.1"}, D.MANDATORY_PARAMETER_NOT_SUPPLIED, "scanClause", Version.V1_1),
    ({"query": "a", "frobnicate": "1"}, D.UNSUPPORTED_PARAMETER, "frobnicate", Version.V2_0),
    ({"query": "a", "scanClause": "b"}, D.UNSUPPORTED_PARAMETER, "scanClause", Version.V2_0),
    ({"version": "1.2", "query": "a", "sortKeys": "title"}, D.UNSUPPORTED_PARAMETER, "sortKeys", Version.V1_2),
    ({"version": "1.2", "query": "a", "queryType": "cql"}, D.UNSUPPORTED_PARAMETER, "queryType", Version.V1_2),
    ({"version": "1.1", "query": "a", "httpAccept": "text/xml"}, D.UNSUPPORTED_PARAMETER, "httpAccept",
     Version.V1_1),
    ({"query": "a", "queryType": "pqf"}, D.UNSUPPORTED_QUERY_TYPE, "pqf", Version.V2_0),
    ({"query": "a", "startRecord": "0"}, D.UNSUPPORTED_PARAMETER_VALUE, "startRecord", Version.V2_0),
    ({"query": "a", "startRecord": "x1"}, D.UNSUPPORTED_PARAMETER_VALUE, "startRecord", Version.V2_0),
    ({"query": "a", "startRecord": "1" * 20}, D.UNSUPPORTED_PARAMETER_VALUE, "startRecord", Version.V2_0),
    ({"query": "a", "maximumRecords": "-1"}, D.NEGATIVE_NUMBER_OF_RECORDS, "maximumRecords", Version.V2_0),
    ({"query": "a", "maximumRecords": "ten"}, D.UNSUPPORTED_PARAMETER_VALUE, "maximumRecords", Version.V2_0),
    ({"query": "a", "resultSetTTL": "-5"}, D.UNSUPPORTED_PARAMETER_VALUE, "resultSetTTL", Version.V2_0),
    ({"scanClause": "a", "maximumTerms": "0"}, D.UNSUPPORTED_PARAMETER_VALUE, "maximumTerms", Version.V2_0),
    ({"scanClause": "a", "responsePosition": "-1"}, D.UNSUPPORTED_PARAMETER_VALUE, "responsePosition",
     Version.V2_0),
    ({"version": "1.2", "query": "a", "recordPacking": "json"}, D.UNSUPPORTED_RECORD_PACKING, "json",
     Version.V1_2),
    ({"query": "a", "recordXMLEscaping": "json"}, D.UNSUPPORTED_RECORD_PACKING, "json", Version.V2_0),
    ({"query": "a", "recordPacking": "unpacked"}, D.UNSUPPORTED_RECORD_PACKING, "unpacked", Version.V2_0),
    ({"version": "1.1", "query": "a", "recordXPath": "/a/b"}, D.XPATH_RETRIEVAL_UNSUPPORTED, "/a/b",
     Version.V1_1),
    ({"query": "a", "stylesheet": 'x.xsl"?><evil'}, D.UNSUPPORTED_STYLESHEET, 'x.xsl"?><evil', Version.V2_0),
    ({"query": "a", "httpAccept": "text/html"}, D.UNSUPPORTED_PARAMETER_VALUE, "httpAccept",   # JSON: issue 15
     Version.V2_0),
    ({"query": "a", "renderedBy": "client"}, D.UNSUPPORTED_PARAMETER_VALUE, "renderedBy", Version.V2_0),
    ({"query": ["a", "b"]}, D.UNSUPPORTED_PARAMETER_VALUE, "query given more than once", Version.V2_0),
    ({"query": "a", "extraRequestData": "<x/>"}, D.UNSUPPORTED_PARAMETER, "extraRequestData", Version.V2_0),
])
def test_problems(params, code: D, details: str, version: Version) -> None:
    request = parse_request(params, "unikat")
    assert request.problem is not None
    assert (request.problem.code, request.problem.details) == (code, details)
    assert request.version is version


def test_search_retrieve_values() -> None:
    request = parse_request({
        "operation": "searchRetrieve", "version": "1.1", "query": "dc.title = water",
        "startRecord": "11", "maximumRecords": "5", "recordSchema": "dc", "recordPacking": "string",
        "resultSetTTL": "60", "sortKeys": "title,,1", "stylesheet": "/static/sru.xsl",
        "x-debug": "yes"}, "A")
    assert request.problem is None
    assert request.query == "dc.title = water"
    assert (request.start_record, request.maximum_records, request.result_set_ttl) == (11, 5, 60)
    assert (request.record_schema, request.escaping) == ("dc", Escaping.STRING)
    assert (request.sort_keys, request.stylesheet) == ("title,,1", "/static/sru.xsl")
    assert request.extensions == (("x-debug", "yes"),)
    assert request.database == "A"


def test_defaults_left_to_the_handler() -> None:
    request = parse_request({"query": "a"}, "unikat")
    assert (request.start_record, request.maximum_records, request.record_schema) == (1, None, None)
    assert (request.result_set_ttl, request.escaping) == (None, Escaping.XML)


@pytest.mark.parametrize(("params", "escaping"), [
    ({"recordXMLEscaping": "string"}, Escaping.STRING),
    ({"recordXMLEscaping": "xml", "recordPacking": "packed"}, Escaping.XML),
    ({"recordPacking": "string"}, Escaping.STRING),      # 1.x habit of 2.0 clients
    ({"recordPacking": "XML"}, Escaping.XML),
])
def test_2_0_escaping_and_packing(params, escaping: Escaping) -> None:
    request = parse_request({"query": "a", **params}, "unikat")
    assert request.problem is None
    assert request.escaping is escaping


def test_scan_values() -> None:
    request = parse_request({"scanClause": "dc.title=hist", "responsePosition": "3",
                             "maximumTerms": "7"}, "unikat")
    assert request.problem is None
    assert (request.scan_clause, request.response_position, request.maximum_terms) == ("dc.title=hist", 3, 7)


@pytest.mark.parametrize(("accept", "content_type"), [
    ("application/sru+xml", "application/sru+xml"),
    ("text/html;q=0.9, application/xml", "application/xml"),
    ("*/*", "text/xml"),
])
def test_http_accept(accept: str, content_type: str) -> None:
    assert parse_request({"httpAccept": accept}, "unikat").content_type == content_type


def test_repeated_same_value_is_fine() -> None:
    assert parse_request({"query": ["a", "a"]}, "unikat").problem is None


def test_given_parameters_are_kept() -> None:
    request = parse_request({"query": "a", "version": "2.0"}, "unikat")
    assert dict(request.given) == {"query": "a", "version": "2.0"}


# --- form decoding -----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    (b"query=dc.title%3Dwater&maximumRecords=1", {"query": ["dc.title=water"], "maximumRecords": ["1"]}),
    (b"query=G%C3%B6the+Faust", {"query": ["Göthe Faust"]}),
    ("query=Göthe".encode(), {"query": ["Göthe"]}),        # raw UTF-8 in the address
    (b"a=1&a=2&b=", {"a": ["1", "2"], "b": [""]}),
    (b"", {}),
])
def test_decode_form(raw: bytes, expected) -> None:
    assert decode_form(raw) == expected


@pytest.mark.parametrize("raw", [
    b"query=%FF%FE",            # not UTF-8 after percent-decoding
    b"query=\xff",              # raw bytes that are not UTF-8
    b"query=a%00b",             # NUL
    b"&".join(b"p%d=1" % i for i in range(200)),
])
def test_decode_form_refuses(raw: bytes) -> None:
    with pytest.raises(FormError):
        decode_form(raw)


def test_decode_form_reads_what_parse_qsl_reads() -> None:
    """decode_form parses by hand (for speed); urllib's parse_qsl is the reference."""
    pick = random.Random(20261203)
    pieces = ["a", "query", "=", "&", "&&", "+", "%", "%2", "%20", "%3D", "%26", "%2B", "%C3%B6", "%c3%a9", "%zz",
              "%%41", "ö", "x y", ";", "#"]
    for _ in range(3000):
        text = "".join(pick.choice(pieces) for _ in range(pick.randrange(12)))
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        expected: dict[str, list[str]] = {}
        for name, value in pairs:
            expected.setdefault(name, []).append(value)
        assert decode_form(text.encode()) == expected, text
