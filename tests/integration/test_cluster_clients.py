"""Clusters seen by real clients (issue 18), on both engines: a librarian merges two titles and
splits a third; curl asks SRU for `recordSchema=cluster`, yaz-client for the element set
`cluster` in XML, and the web page for the full record; the retired number still finds the title."""

from __future__ import annotations

import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home
from lxml import etree
from test_http_curl import curl as http_curl
from test_yaz_client import require, run_yaz_client, start_serving, stop_serving

from index.config import parse_config
from index.consolidation import overrides
from index.loading import indexing
from index.records.marc import read_marc21
from index.store.catalog import CatalogStore
from index.titles import refresh_title

pytestmark = pytest.mark.integration

CONFIG = """
[catalog]
database = "unikat"
[libraries.A]
name = "Library A"
source_system = "A-ILS"
[libraries.B]
name = "Library B"
source_system = "B-ILS"
"""
NS = {"c": "info:unikat/schema/cluster-v1", "marc": "http://www.loc.gov/MARC21/slim"}


def _write(name: str, numbers: range, path):
    items = list(read_marc21((SAMPLE_DATA / name).read_bytes()))
    path.write_bytes(b"".join(items[n].record.as_marc() for n in numbers))
    return path


@pytest.fixture(scope="module", params=ENGINES, ids=ENGINES)
def served(request, tmp_path_factory):
    """A home of six titles of two records each (A and B), titles 2 and 3 merged by a librarian
    (3 retired), title 1 split; `unikat serve` over it. Yields (server, titles before)."""
    root = tmp_path_factory.mktemp(f"clusters-{request.param}")
    home = make_home(root / "home", CONFIG, engine=request.param)
    load(home, "A", _write("lib-a.mrc", range(800, 806), root / "a.mrc"))
    load(home, "B", _write("lib-b.mrc", range(0, 6), root / "b.mrc"))
    rules = parse_config(CONFIG).consolidation.rules
    store = CatalogStore.of(home)
    try:
        titles = sorted(isn for isn, _members in store.clusters())
        split_off = store.records_of_title(titles[0])[-1].id
        with store.transaction():
            for action, isns, records in (("merge", [titles[1], titles[2]], []),
                                          ("split", [titles[0]], [split_off])):
                _number, touched = overrides.apply(store, rules, action, isns, records, "checked the books", "anna")
                for isn in touched:
                    if store.display(isn) is not None:
                        refresh_title(store, isn)
        indexing.update(home, store)
    finally:
        store.close()
    server = start_serving(home, workers=1)
    yield server, titles
    stop_serving(server)


def curl(url: str) -> bytes:
    return http_curl(url, check=True).stdout


def _sru(server, query: str, schema: str = "cluster") -> etree._Element:
    body = curl(f"http://{server.host}:{server.port}/unikat?query={query}&recordSchema={schema}&maximumRecords=5")
    return etree.fromstring(body)   # well-formed, or this raises


def test_sru_cluster_schema_lists_members_libraries_quality_and_why(served):
    server, titles = served
    response = _sru(server, f"rec.id%3D{titles[1]}")
    clusters = response.findall(".//c:cluster", NS)
    assert len(clusters) == 1 and clusters[0].get("isn") == str(titles[1])
    members = clusters[0].findall("c:member", NS)
    assert len(members) == 4 and clusters[0].get("members") == "4"
    assert sorted(m.find("c:library", NS).get("code") for m in members) == ["A", "A", "B", "B"]
    assert {m.find("c:library", NS).text for m in members} == {"Library A", "Library B"}
    assert all(int(m.findtext("c:quality", namespaces=NS)) > 0 for m in members)
    assert sum(m.get("master") == "true" for m in members) == 1
    assert all(m.find("marc:record", NS) is not None for m in members)
    pairs = clusters[0].findall("c:pair", NS)
    assert len(pairs) == 6
    assert sum("pass 1: same lccn" in p.text for p in pairs) == 2
    assert sum(p.text.startswith("merged by a librarian") for p in pairs) == 4
    assert [a.get("isn") for a in clusters[0].findall("c:alsoAnswersAs", NS)] == [str(titles[2])]
    override = clusters[0].find("c:override", NS)
    assert override.get("action") == "merge" and override.get("by") == "anna" and override.text == "checked the books"


def test_the_retired_number_finds_the_merged_title_over_sru_and_the_web(served):
    server, titles = served
    response = _sru(server, f"rec.id%3D{titles[2]}")
    assert [c.get("isn") for c in response.findall(".//c:cluster", NS)] == [str(titles[1])]
    page = curl(f"http://{server.host}:{server.port}/record/{titles[2]}").decode()
    assert "Why these records are one title" in page and f"title number {titles[2]}" in page
    split = _sru(server, f"rec.id%3D{titles[0]}")
    assert split.find(".//c:cluster", NS).get("members") == "1"


def test_yaz_client_element_set_cluster_in_xml(served, tmp_path):
    require("yaz-client")
    server, titles = served
    out = run_yaz_client(server, tmp_path, "format xml", "elements cluster",
                         f"find @attr 1=1032 {titles[2]}", "show 1")
    assert "Number of hits: 1" in out
    assert f'<cluster xmlns="info:unikat/schema/cluster-v1" isn="{titles[1]}" members="4">' in out
    out = run_yaz_client(server, tmp_path, "format usmarc", "elements cluster", f"find @attr 1=1032 {titles[1]}",
                         "show 1")
    assert "[25]" in out and "cluster: ask for the XML record syntax" in out
