"""Search results kept per worker until the catalog changes (`Catalog.search`, index.kept):
given again for the same search, never for one that names the client's sets, never past a load."""

from __future__ import annotations

import time

import pytest
from conftest import copy_home, retitle_in_a

from index.query import And, ResultSetRef
from index.search import REFRESH_SECONDS, Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

NEW_WORD = "zqxkeptsearches"


def query(pqf: str):
    return rpn_to_query(parse_pqf(pqf))


@pytest.fixture()
def catalog(sample_home, tmp_path):
    opened = Catalog(copy_home(sample_home, tmp_path / "home"))
    yield opened
    opened.close()


def test_the_same_search_is_given_again(catalog: Catalog) -> None:
    union = catalog.database(catalog.config.database)
    first = catalog.search(query("@attr 1=4 the"), union)
    assert first.size > 0
    assert catalog.search(query("@attr 1=4 the"), union) is first
    assert catalog.search(query("@attr 1=4 history"), union) is not first


def test_a_search_naming_a_set_is_not_kept(catalog: Catalog) -> None:
    union = catalog.database(catalog.config.database)
    small = catalog.search(query("@attr 1=4 history"), union)
    large = catalog.search(query("@attr 1=4 the"), union)
    assert small.size < large.size
    node = And(query("@attr 1=4 the"), ResultSetRef("mine"))
    # the same query, a different set named "mine" (another client's, or the same client's renewed)
    assert catalog.search(node, union, result_sets={"mine": small}.get).size <= small.size
    assert catalog.search(node, union, result_sets={"mine": large}.get).size == large.size


def test_a_load_makes_the_kept_searches_go(catalog: Catalog, tmp_path) -> None:
    union = catalog.database(catalog.config.database)
    assert catalog.search(query(f"@attr 1=4 {NEW_WORD}"), union).size == 0
    retitle_in_a(catalog.home, tmp_path / "change.mrc", f"The {NEW_WORD} revisited")
    catalog.refresh(time.monotonic() + REFRESH_SECONDS)   # as the next request a second later does
    assert catalog.search(query(f"@attr 1=4 {NEW_WORD}"), union).size == 1


def test_none_kept_when_configured_so(sample_home, tmp_path) -> None:
    home = copy_home(sample_home, tmp_path / "home")
    config = home.config_path.read_text(encoding="utf-8")
    assert config.rstrip().splitlines()[-1].startswith("engine = ")   # [index] is the last section
    home.config_path.write_text(config + "kept_searches = 0\n", encoding="utf-8")
    catalog = Catalog(home)
    try:
        union = catalog.database(catalog.config.database)
        first = catalog.search(query("@attr 1=4 the"), union)
        again = catalog.search(query("@attr 1=4 the"), union)
        assert again is not first and again.size == first.size
    finally:
        catalog.close()
