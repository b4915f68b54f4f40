"""Search results kept per worker until the catalog changes (`Catalog.search`, index.kept):
given again for the same search, never for one that names the client's sets, never past a load."""

from __future__ import annotations

import time

import pytest
from conftest import copy_home, retitle_in_a

from index.engines.postings.searcher import LEXICON_KEY
from index.kept import KeptAnswers
from index.query import And, ResultSetRef
from index.search import REFRESH_SECONDS, Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import AttributesPlusTerm
from zserver.z3950 import attributes
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


def test_a_long_query_weighs_its_characters_and_long_terms_are_not_memoized(catalog: Catalog) -> None:
    """A search that finds nothing but carries a long term is not free to keep (found by a hostile
    review: 100 searches with 1 MB terms held 100 MB; such terms are refused now, `[index]
    max_term_characters`): kept searches weigh hits and characters, and the term mapping and the
    lexicon keep short terms only."""
    catalog.kept_searches = KeptAnswers(1000, 500)
    union = catalog.database(catalog.config.database)
    long_word = "x" * 900   # within max_term_characters, over the kept weight and the memo's bound
    before = attributes._term_for_kept.cache_info().misses
    mapped = attributes.term_for(AttributesPlusTerm((), long_word))
    assert attributes._term_for_kept.cache_info().misses == before, "a long term went through the memo"
    assert catalog.search(mapped, union).size == 0
    assert len(catalog.kept_searches) == 0, "a search carrying 900 characters was kept"
    assert catalog.search(query("@attr 1=4 zzzznothing"), union).size == 0
    assert len(catalog.kept_searches) == 1
    lexicon = getattr(catalog.engine, "_lexicon", None)
    if lexicon is not None:   # the postings engine keeps looked-up lexicon rows
        assert lexicon and all(sum(len(part) for part in params if isinstance(part, str)) <= LEXICON_KEY
                               for _sql, params in lexicon)
