"""Facets with real clients against `unikat serve`, on both engines: yaz-client's `facets`
command (Facet-1 in additionalSearchInfo) and SRU 2.0 `facetLimit` over HTTP (the response
validated against the OASIS schemas). Every count must equal what a separate search with that
limit finds: yaz-client runs those searches itself, and SRU runs the `query` each term carries.
Database B is restricted in this home, and yaz-client is not signed in: B is no library value."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from conftest import restricted_copy
from lxml import etree
from sruschema import shared_schema
from test_sru_http import fetch
from test_yaz_client import hits, require, run_yaz_client, start_serving, stop_serving

from index import resultfacets
from index.engines.facets import FacetRequest, FacetSort
from index.home import Home
from index.search import Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

pytestmark = pytest.mark.integration

SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
FACETED = "http://docs.oasis-open.org/ns/search-ws/facetedResults"
QUERY = "@attr 1=4 history"
FACETS = ("@attr 1=author @attr 3=6, @attr 1=56, @attr 1=decade @attr 3=30, @attr 1=21 @attr 3=6, "
          "@attr 1=31 @attr 2=1 @attr 3=6 @attr 4=2, @attr 1=language @attr 3=5, @attr 1=1031, "
          "@attr 1=series @attr 3=4")


@pytest.fixture(scope="module")
def home(sample_home, tmp_path_factory) -> Home:
    """The sample catalog with database B restricted."""
    return restricted_copy(sample_home, tmp_path_factory.mktemp("facets") / "home", "B")


@pytest.fixture(scope="module")
def catalog(home):
    opened = Catalog(home)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def served(home):
    require("yaz-client")
    running = start_serving(home)
    yield running
    stop_serving(running)


@pytest.fixture()
def yaz(served, tmp_path):
    return lambda *commands: run_yaz_client(served, tmp_path, *commands)


def yaz_facets(output: str) -> dict[str, list[tuple[str, int]]]:
    """The facets yaz-client printed: `  NAME (n): ` then `    TERM (COUNT)` lines."""
    found: dict[str, list[tuple[str, int]]] = {}
    current = None
    for line in output.splitlines():
        if match := re.fullmatch(r"  (\S+) \(\d+\): ?", line):
            current = found.setdefault(match.group(1), [])
        elif (match := re.fullmatch(r"    (.+) \((\d+)\)", line)) and current is not None:
            current.append((match.group(1), int(match.group(2))))
        else:
            current = None
    return found


def limit_pqf(facet: str, value: str) -> str:
    """A Type-1 term that limits to `value` of `facet`, as a client would type it."""
    quoted = '"' + value.replace('"', '\\"') + '"'
    if facet == "decade":   # any year of the decade: one Type-1 term cannot say a range
        start = int(value[:4])
        return "@or " * 9 + " ".join(f"@attr 1=31 {year}" for year in range(start, start + 10))
    return {
        "author": f"@attr 1=1003 @attr 4=1 @attr 6=3 {quoted}",
        "subject": f"@attr 1=21 @attr 4=1 @attr 6=3 {quoted}",
        "series": f"@attr 1=5 @attr 4=1 @attr 6=3 {quoted}",
        "library": f"@attr 1=56 {quoted}", "language": f"@attr 1=54 {quoted}",
        "material_type": f"@attr 1=1031 {quoted}", "year": f"@attr 1=31 {quoted}",
    }[facet]


NAMES = {"author": "author", "56": "library", "decade": "decade", "21": "subject", "31": "year",
         "language": "language", "1031": "material_type", "series": "series"}


def test_yaz_client_facets_equal_separate_searches(yaz, catalog):
    output = yaz(f"facets {FACETS}", f"find {QUERY}")
    printed = yaz_facets(output)
    assert set(printed) == set(NAMES), output
    # what the catalog counts in-process, for a client not signed in
    node = rpn_to_query(parse_pqf(QUERY))
    result = catalog.search(node, catalog.database("unikat"), signed_in=False)
    expected = resultfacets.facets(catalog, result, [
        FacetRequest("author", 6), FacetRequest("library"), FacetRequest("decade", 30), FacetRequest("subject", 6),
        FacetRequest("year", 6, start=2, sort=FacetSort.ALPHANUMERIC), FacetRequest("language", 5),
        FacetRequest("material_type"), FacetRequest("series", 4)], signed_in=False)
    for facet in expected:
        use = next(use for use, name in NAMES.items() if name == facet.name)
        assert printed[use] == [(term.term, term.count) for term in facet.terms], facet.name
    assert printed["56"] and "B" not in [term for term, _ in printed["56"]]   # restricted: not shown
    years = [term for term, _ in printed["31"]]
    assert years == sorted(years) and len(years) == 6   # alphanumeric, from the second
    # each count is what yaz-client finds with that limit in a search of its own
    limits = [(NAMES[use], term, count) for use, terms in printed.items() for term, count in terms]
    finds = [f"find @and {QUERY} {limit_pqf(facet, term)}" for facet, term, _ in limits]
    found = hits(yaz(*finds))
    assert found == [count for _, _, count in limits]


def test_yaz_client_a_facet_we_cannot_count_fails_the_search(yaz):
    output = yaz("facets @attr 1=colour", f"find {QUERY}")
    assert "Search was a bloomin' failure" in output and "114" in output, output


def _schemas():
    return shared_schema("sruResponse.xsd"), shared_schema("facetedResults.xsd")


def sru(served, **params) -> etree._Element:
    url = f"http://{served.host}:{served.port}/unikat?" + urllib.parse.urlencode(params)
    status, _, body = fetch(url)
    assert status == 200, body
    return etree.fromstring(body)


def test_sru_facets_validate_and_each_term_query_finds_its_count(served):
    response_schema, faceted_schema = _schemas()
    root = sru(served, query="dc.title=history", maximumRecords="0",
               facetLimit="5:dc.creator,20:unikat.library,10:decade,4:bath.year,3:dc.subject,5:dc.language,"
                          "3:dc.type,3:bath.seriesTitle",
               facetSort="alphanumeric:bath.year", facetStart="2:bath.year")
    assert response_schema.validate(etree.ElementTree(root)), response_schema.error_log
    faceted = root.find(f"{{{SRU2}}}facetedResults")
    assert faceted is not None
    alone = etree.Element(f"{{{FACETED}}}facetedResults")   # the same content as the standalone document
    alone.extend(etree.fromstring(etree.tostring(faceted))[:])
    assert faceted_schema.validate(etree.ElementTree(alone)), faceted_schema.error_log
    indexes = [facet.findtext(f"{{{FACETED}}}index") for facet in faceted]
    assert indexes[:2] == ["dc.creator", "unikat.library"] and "bath.year" in indexes
    checked = 0
    for facet in faceted:
        for term in facet.iter(f"{{{FACETED}}}term"):
            count = int(term.findtext(f"{{{FACETED}}}count"))
            narrowed = sru(served, query=term.findtext(f"{{{FACETED}}}query"), maximumRecords="0")
            assert int(narrowed.findtext(f"{{{SRU2}}}numberOfRecords")) == count, term.findtext(f"{{{FACETED}}}query")
            checked += 1
    assert checked >= 15
    libraries = [term.findtext(f"{{{FACETED}}}actualTerm") for facet in faceted
                 if facet.findtext(f"{{{FACETED}}}index") == "unikat.library" for term in facet.iter(f"{{{FACETED}}}term")]
    assert libraries and "B" not in libraries   # restricted, and we are not signed in


@pytest.mark.parametrize(("params", "code", "detail"), [
    ({"facetLimit": "5:dc.colour"}, "16", "dc.colour"),
    ({"facetLimit": "x:dc.creator"}, "6", "facetLimit"),
    ({"facetLimit": "5:dc.creator", "facetSort": "sideways"}, "6", "facetSort"),
    ({"facetStart": "2"}, "7", "facetLimit"),
    ({"facetLimit": "5:dc.creator", "version": "1.2"}, "8", "facetLimit"),
])
def test_sru_bad_facet_parameters_say_why(served, params, code, detail):
    root = sru(served, query="dc.title=history", **params)
    uri = root.findtext(".//{*}diagnostic/{*}uri")
    assert uri == f"info:srw/diagnostic/1/{code}"
    assert detail in root.findtext(".//{*}diagnostic/{*}details")


def test_sru_facets_in_process_agree_with_the_catalog(served, catalog):
    root = sru(served, query="dc.subject=history", maximumRecords="0", facetLimit="1000:decade")
    result = catalog.search(rpn_to_query(parse_pqf("@attr 1=21 history")), catalog.database("unikat"), signed_in=False)
    expected = resultfacets.facets(catalog, result, [FacetRequest("decade", 1000)], signed_in=False)[0]
    got = [(term.findtext(f"{{{FACETED}}}actualTerm"), int(term.findtext(f"{{{FACETED}}}count")))
           for term in root.iter(f"{{{FACETED}}}term")]
    assert got == [(term.term, term.count) for term in expected.terms] and got
