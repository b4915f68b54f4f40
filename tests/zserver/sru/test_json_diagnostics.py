"""A client that asks for JSON (httpAccept=application/json) gets its diagnostics in JSON too:
a request refused for a mistake in it, or for its encoding, is answered in the media type it
asked for (both engines, through the HTTP core)."""

from __future__ import annotations

import json

import pytest

from index.search import Catalog
from zserver.net.http import HttpCore


@pytest.fixture(scope="module")
def core(sample_home):
    catalog = Catalog(sample_home)
    yield HttpCore(catalog)
    catalog.close()


@pytest.mark.parametrize(("query", "status", "code"), [
    ("version=2.0&operation=searchRetrieve", 200, "7"),                            # no query
    ("version=1.2&operation=searchRetrieve&query=a&recordXPath=x", 200, "72"),
    ("version=1.2&operation=searchRetrieve&query=a&maximumRecords=x", 200, "6"),
    ("version=2.0&operation=searchRetrieve&query=%ED%A0%80", 400, "6"),            # not UTF-8
])
def test_a_refused_json_request_is_answered_in_json(core, query, status, code) -> None:
    answer = core.respond("GET", f"/unikat?{query}&httpAccept=application/json".encode())
    assert answer.status == status and answer.headers[0][1].startswith("application/json"), answer.body[:200]
    diagnostics = json.loads(answer.body)["diagnostics"]
    assert diagnostics[0]["uri"] == f"info:srw/diagnostic/1/{code}"


def test_sru_1_1_has_no_http_accept(core) -> None:
    answer = core.respond("GET", b"/unikat?version=1.1&operation=searchRetrieve&query=a&httpAccept=application/json")
    assert answer.headers[0][1].startswith("text/xml") and b"httpAccept" in answer.body
