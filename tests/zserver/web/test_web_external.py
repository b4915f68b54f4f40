"""The web search page searches the external-data catalog when the reader chooses it (`db`),
only when the reader may see it, and keeps the choice in its record, sort, paging and facet
links; record pages of external numbers (1,000,000,001 ...) show the harvested record and link
to it over SRU by that number. Both engines, through the page functions."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SAMPLE_DATA, load, make_home
from externaldata import harvested

from index.external import EXTERNAL_ISN_BASE
from index.home import Home
from index.query import Structure, Term
from index.search import Catalog
from zserver.web.briefjson import brief_json
from zserver.web.page import record_page, search_page

CONFIG = (SAMPLE_DATA / "unikat.toml").read_text()
HITS = re.compile(r'<p class="hits"><strong>([\d,]+)</strong>')
RECORDS = re.compile(r'href="/record/(\d+)\?([^"]*)"')


@pytest.fixture(scope="module", params=["whoosh", "postings"])
def home(request, tmp_path_factory) -> Home:
    home = make_home(tmp_path_factory.mktemp(request.param) / "home", CONFIG, engine=request.param)
    load(home, "C", SAMPLE_DATA / "lib-c.xml")
    harvested(home, 60)
    return home


@pytest.fixture()
def catalog(home):
    catalog = Catalog(home)
    yield catalog
    catalog.close()


def _page(catalog: Catalog, signed_in: bool = False, **params: str) -> str:
    return search_page({name: [value] for name, value in params.items()}, catalog, signed_in=signed_in).decode()


def _words(catalog: Catalog, word: str, database: str) -> list[int]:
    return catalog.search(Term("any", word, structure=Structure.WORD), catalog.database(database)).isns()


def test_the_external_database_is_searched_when_chosen(catalog) -> None:
    external = _page(catalog, q="and", db="external")
    expected = _words(catalog, "and", "external")
    assert len(expected) > 20   # two pages
    assert int(HITS.search(external).group(1)) == len(expected)
    links = RECORDS.findall(external)
    assert len(links) == 20 and {int(isn) for isn, _ in links} <= set(expected)   # relevance order
    assert all(query == "q=and&amp;db=external" for _, query in links)
    assert 'href="/?q=and&amp;start=21&amp;db=external" rel="next"' in external or \
        'rel="next" href="/?q=and&amp;start=21&amp;db=external"' in external
    assert 'href="/?q=and&amp;sort=title&amp;db=external"' in external
    facets = re.findall(r'href="(/\?[^"]*facet=[^"]*)"', external)
    assert facets and all("db=external" in link for link in facets)
    assert re.search(r'<option value="external" selected>External data \(external\)</option>', external)

    union = _page(catalog, q="and")   # the default: the union catalog
    assert int(HITS.search(union).group(1)) == len(_words(catalog, "and", "unikat"))
    assert all(int(isn) < EXTERNAL_ISN_BASE and "db=" not in query for isn, query in RECORDS.findall(union))
    assert re.search(r'<option value="" selected>Union catalog \(unikat\)</option>', union)


def test_the_brief_json_searches_the_database_chosen(catalog) -> None:
    def answer(**params: str):
        return brief_json({name: [value] for name, value in {"format": "json", **params}.items()}, catalog)

    external = answer(q="and", db="external")
    expected = _words(catalog, "and", "external")
    body = json.loads(external.body)
    assert external.status == 200 and body["numberOfRecords"] == len(expected) > 20
    assert len(body["records"]) == 20 and {record["isn"] for record in body["records"]} <= set(expected)
    assert all(record["isn"] > EXTERNAL_ISN_BASE for record in body["records"])
    assert body["next"] == "/?q=and&start=21&db=external&format=json"   # the next page stays in it

    union = json.loads(answer(q="and").body)   # the default: the union catalog
    assert union["numberOfRecords"] == len(_words(catalog, "and", "unikat"))
    assert all(record["isn"] < EXTERNAL_ISN_BASE for record in union["records"])
    named = json.loads(answer(q="and", db="UNIKAT").body)   # the union database by its name
    assert (named["numberOfRecords"], named["records"]) == (union["numberOfRecords"], union["records"])

    refused = answer(q="and", db="nope")
    assert refused.status == 400
    assert json.loads(refused.body) == {
        "error": "There is no database 'nope' to search here (the union catalog, or external)."}


def test_a_database_the_reader_may_not_choose_is_refused_with_the_reason(catalog, home, tmp_path) -> None:
    nope = _page(catalog, q="and", db="nope")
    assert "There is no database 'nope' to search here (the union catalog, or external)." in nope
    assert not RECORDS.findall(nope)
    empty = make_home(tmp_path / "empty", CONFIG, engine=home.config().index.engine)
    load(empty, "C", SAMPLE_DATA / "lib-c.xml")
    nothing = Catalog(empty)
    try:
        page = _page(nothing, q="and", db="external")
        assert "The database external has no records yet (nothing was harvested)." in page
        assert 'name="db"' not in _page(nothing, q="and")   # no choice offered
    finally:
        nothing.close()


def test_a_restricted_external_database_is_for_signed_in_readers(home, tmp_path) -> None:
    restricted = Home(tmp_path / "restricted")
    restricted.root.mkdir()
    config = home.config_path.read_text()
    assert "\nrestricted = []\n" in config
    (restricted.root / "unikat.toml").write_text(config.replace("\nrestricted = []\n", '\nrestricted = ["external"]\n'))
    for entry in home.root.iterdir():   # the same catalog, read with this configuration
        if entry.name != "unikat.toml":
            (restricted.root / entry.name).symlink_to(entry)
    catalog = Catalog(restricted)
    try:
        refused = _page(catalog, q="and", db="external")
        assert "The database external is open to signed-in users only." in refused
        assert not RECORDS.findall(refused) and 'name="db"' not in refused
        signed = _page(catalog, signed_in=True, q="and", db="external")
        assert int(HITS.search(signed).group(1)) == len(_words(catalog, "and", "external"))
        isn = _words(catalog, "and", "external")[0]
        assert "open to signed-in users only" in record_page(isn, {}, catalog, signed_in=False).decode()
        assert "MARC record" in record_page(isn, {}, catalog, signed_in=True).decode()
    finally:
        catalog.close()


def test_record_pages_of_external_numbers(catalog) -> None:
    isn = _words(catalog, "history", "external")[0]
    page = record_page(isn, {"q": ["history"], "db": ["external"]}, catalog).decode()
    title = catalog.record(isn).marc
    assert f'<abbr title="{isn}" class="unapi-id">' in page
    assert "<h2>MARC record</h2>" in page and b"history" in title.lower()
    assert 'href="/?q=history&amp;db=external">Back to the results' in page
    # an external record is no union title: nothing to order by interlibrary loan
    assert 'action="/order/' not in page
    union = _words(catalog, "history", "unikat")[0]
    assert f'action="/order/{union}"' in record_page(union, {}, catalog).decode()
    link = re.search(r'href="/external\?query=rec\.id%3D(\d+)&amp;recordSchema=marcxml"', page)
    assert link and int(link.group(1)) == isn
    # that link's search finds the record by its number, in the external database only
    from zserver.querylang.cql import parse_cql
    from zserver.sru.cqlmap import cql_to_query

    by_number = cql_to_query(parse_cql(f"rec.id={isn}"))
    assert catalog.search(by_number, catalog.database("external")).isns() == [isn]
    assert catalog.search(by_number, catalog.database("unikat")).size == 0
    own = cql_to_query(parse_cql(f"rec.id={isn - EXTERNAL_ISN_BASE}"))
    assert catalog.search(own, catalog.database("external")).size == 0
