"""A restricted library in the newer services, against a real `unikat serve` (both engines) with
curl: library B's database is restricted, so a client who is not signed in sees none of B's
holdings or counts in OAI-PMH (sets, headers, records), unAPI, SRU recordSchema json, isohold
and opac, SRU facets and the web page's library facet; signed in (`curl -u`), B is there, so
each check can fail. (`unikat export` is a staff command on the home, not a network service.)"""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
from conftest import restricted_copy
from lxml import etree
from test_http_curl import curl
from test_yaz_client import Server, start_serving, stop_serving

from index.home import Home
from index.query import Structure, Term
from index.search import Catalog

pytestmark = pytest.mark.integration

LOGIN = ("--user", "librarian:secret")
B_NAME = "Library B (sample"


@pytest.fixture(scope="module")
def home(sample_home, tmp_path_factory) -> Home:
    return restricted_copy(sample_home, tmp_path_factory.mktemp("restricted-services") / "home", "B")


@pytest.fixture(scope="module")
def server(home) -> Server:
    running = start_serving(home, workers=1)
    yield running
    stop_serving(running)


@pytest.fixture(scope="module")
def held_by_b(home) -> list[int]:
    catalog = Catalog(home)
    try:
        return catalog.search(Term("library", "B", structure=Structure.KEY), catalog.database("unikat")).isns(0, 5)
    finally:
        catalog.close()


def get(server: Server, path: str, *options: str) -> tuple[int, bytes]:
    done = curl("--include", *options, f"http://{server.host}:{server.port}{path}")
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def libraries_852(root: etree._Element) -> set[str]:
    return set(root.xpath("//*[local-name()='datafield'][@tag='852']/*[local-name()='subfield'][@code='a']/text()"))


def harvest(server: Server, narrowing: str = "", *options: str) -> tuple[set[str], set[str]]:
    """The setSpecs of every header and the 852 $a of every record of a whole ListRecords."""
    specs: set[str] = set()
    libraries: set[str] = set()
    path = f"/oai?verb=ListRecords&metadataPrefix=marc21{narrowing}"
    while path:
        status, body = get(server, path, *options)
        assert status == 200
        root = etree.fromstring(body)
        specs |= set(root.xpath("//*[local-name()='header']/*[local-name()='setSpec']/text()"))
        libraries |= libraries_852(root)
        token = root.xpath("string(//*[local-name()='resumptionToken'])")
        path = f"/oai?verb=ListRecords&resumptionToken={urllib.parse.quote(token)}" if token else ""
    return specs, libraries


def json_libraries(record: dict) -> set[str]:
    """The 852 $a of a MARC-in-JSON record."""
    return {sub["a"] for field in record["fields"] for tag, value in field.items() if tag == "852"
            for sub in value["subfields"] if "a" in sub}


def test_oai_pmh_hides_the_restricted_library(server, held_by_b) -> None:
    status, sets = get(server, "/oai?verb=ListSets")
    specs = etree.fromstring(sets).xpath("//*[local-name()='setSpec']/text()")
    assert status == 200 and "B" not in specs and "A" in specs, specs
    status, signed = get(server, "/oai?verb=ListSets", *LOGIN)
    assert "B" in etree.fromstring(signed).xpath("//*[local-name()='setSpec']/text()")

    specs, libraries = harvest(server)                # the whole catalog, through resumption tokens
    assert "A" in specs and "B" not in specs and "B" not in libraries, specs
    specs, libraries = harvest(server, "&set=B", *LOGIN)
    assert "B" in specs and "B" in libraries
    status, body = get(server, "/oai?verb=ListRecords&metadataPrefix=marc21&set=B")
    codes = etree.fromstring(body).xpath("//*[local-name()='error']/@code")
    assert codes and not etree.fromstring(body).xpath("//*[local-name()='record']"), body[:400]
    identifier = urllib.parse.quote(f"oai:unikat.example.org:{held_by_b[0]}")
    for metadata in ("marc21", "oai_dc"):
        status, body = get(server, f"/oai?verb=GetRecord&metadataPrefix={metadata}&identifier={identifier}")
        assert status == 200 and b"<error" not in body, body[:400]
        assert "B" not in libraries_852(etree.fromstring(body))
        assert b"<setSpec>B</setSpec>" not in body


def test_unapi_hides_the_restricted_library(server, held_by_b) -> None:
    for isn in held_by_b:
        for fmt in ("opac", "isohold", "json", "marcxml"):
            status, body = get(server, f"/unapi?id={isn}&format={fmt}")
            signed_status, signed = get(server, f"/unapi?id={isn}&format={fmt}", *LOGIN)
            assert signed_status == 200
            if fmt in ("opac", "isohold"):
                assert B_NAME.encode() in signed, (isn, fmt)
            assert B_NAME.encode() not in body, (isn, fmt)
            if fmt == "marcxml":
                assert "B" in libraries_852(etree.fromstring(signed))
                assert "B" not in libraries_852(etree.fromstring(body))
            if fmt == "json":
                assert "B" not in json_libraries(json.loads(body)) and "B" in json_libraries(json.loads(signed))


def test_sru_json_isohold_opac_and_facets_hide_the_restricted_library(server, held_by_b) -> None:
    query = urllib.parse.quote(" or ".join(f"rec.id={isn}" for isn in held_by_b))
    for schema in ("json", "isohold", "opac", "marcxml"):
        path = f"/unikat?version=2.0&operation=searchRetrieve&query={query}&maximumRecords=5&recordSchema={schema}"
        status, body = get(server, path)
        _, signed = get(server, path, *LOGIN)
        assert status == 200 and b"numberOfRecords>0<" not in body, body[:400]
        if schema == "json":
            data = lambda body: [json.loads(text) for text in etree.fromstring(body).xpath(  # noqa: E731
                "//*[local-name()='recordData']/text()")]
            assert not any("B" in json_libraries(record) for record in data(body))
            assert any("B" in json_libraries(record) for record in data(signed))
        elif schema in ("isohold", "opac"):
            assert B_NAME.encode() not in body and B_NAME.encode() in signed, schema
        else:
            assert "B" not in libraries_852(etree.fromstring(body)) and "B" in libraries_852(etree.fromstring(signed))
    facets = f"/unikat?version=2.0&operation=searchRetrieve&query={query}&maximumRecords=0&facetLimit=20:unikat.library"
    values = lambda body: set(etree.fromstring(body).xpath(  # noqa: E731
        "//*[local-name()='facet'][*[local-name()='index']='unikat.library']//*[local-name()='actualTerm']/text()"))
    assert "b" not in {v.lower() for v in values(get(server, facets)[1])}
    assert "b" in {v.lower() for v in values(get(server, facets, *LOGIN)[1])}


def test_the_web_library_facet_hides_the_restricted_library(server) -> None:
    status, page = get(server, "/?q=music")
    _, signed = get(server, "/?q=music", *LOGIN)
    assert status == 200
    pattern = re.compile(rb"lib=b(&|\")")
    assert pattern.search(signed) and not pattern.search(page)
