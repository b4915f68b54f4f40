"""OAI-PMH against hostile and careless harvesters, through the HTTP core (both engines):
characters XML cannot carry and resumption tokens made by hand get OAI-PMH errors, not 500."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from lxml import etree

from index.search import Catalog
from index.store.changes import Position
from zserver.net.http import HttpCore
from zserver.oai import tokens

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}
KEY = "unikat.example.org"   # the repository identifier: public, so anyone can make a token


@pytest.fixture(scope="module")
def core(sample_home):
    catalog = Catalog(sample_home)
    yield HttpCore(catalog)
    catalog.close()


def error(core: HttpCore, query: str) -> tuple[str, str]:
    answer = core.respond("GET", f"/oai?{query}".encode())
    assert answer.status == 200, answer.body[-400:]
    found = etree.fromstring(answer.body).find("o:error", NS)
    assert found is not None, answer.body[:600]
    return found.get("code"), found.text


@pytest.mark.parametrize("query", [
    "verb=ListRecords&metadataPrefix=marc21&from=%01",
    "verb=GetRecord&metadataPrefix=marc21&identifier=%02",
    "verb=ListRecords&resumptionToken=%1B",
    "verb=ListMetadataFormats&identifier=%EF%BF%BE",
])
def test_a_character_xml_cannot_carry_is_a_bad_argument(core, query) -> None:
    code, text = error(core, query)
    assert code == "badArgument" and "XML cannot carry" in text


def forged(**changes) -> str:
    fields = {"verb": "ListRecords", "prefix": "marc21", "set_spec": "", "since": "", "until": "",
              "after": Position("2026-01-01 00:00:00", 1), "cursor": 0, "issued": int(time.time())} | changes
    return tokens.encode(tokens.ListState(**fields), KEY)


@pytest.mark.parametrize("token", [
    forged(after=Position("2026-01-01 00:00:00", 10**30)),   # past SQLite's integers
    forged(cursor=-10),
    forged(cursor=10**4000),
    forged(issued=int(time.time()) + 10**9),                  # would never expire
    forged(verb="ListSets"),
])
def test_a_token_made_by_hand_is_checked_like_a_request(core, token) -> None:
    code, text = error(core, f"verb=ListRecords&resumptionToken={token}")
    assert code == "badResumptionToken" and text


def test_a_signed_token_that_is_not_ascii_is_refused(core) -> None:
    """The checksum's key is public: a non-ASCII payload with a right checksum is a bad token, not a crash
    (found by fuzz/oai_tokens.py)."""
    token = quote(f"\u00e9.{tokens._check(chr(0xe9), KEY)}")
    code, text = error(core, f"verb=ListRecords&resumptionToken={token}")
    assert code == "badResumptionToken" and "cannot be read" in text


def test_a_good_token_still_works(core) -> None:
    answer = core.respond("GET", f"/oai?verb=ListIdentifiers&resumptionToken={forged(verb='ListIdentifiers')}".encode())
    assert answer.status == 200 and b"<error" not in answer.body and b"<header>" in answer.body
