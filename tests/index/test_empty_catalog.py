"""A catalog served before its first load: searching it finds nothing (no error), and the first
load is taken up by a refresh, without reopening, on each engine."""

from __future__ import annotations

import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home

from index.engines.base import RELEVANCE, SortField, SortKey
from index.loading import indexing
from index.query import Term
from index.search import Catalog
from index.store.catalog import CatalogStore


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_catalog_answers_then_takes_up_the_first_load(tmp_path, engine):
    home = make_home(tmp_path / "home", engine=engine)
    store = CatalogStore.of(home)
    try:
        assert indexing.rebuild(home, store, procs=2) == 0   # what `unikat serve` does on an empty home
    finally:
        store.close()
    catalog = Catalog(home)
    try:
        union = catalog.database("unikat")
        empty = catalog.search(Term("library", "A"), union)
        assert empty.size == 0 and empty.isns() == [] and empty.briefs() == []
        assert catalog.search(Term("title", "history"), union, sort=[SortKey(SortField.TITLE)]).size == 0
        assert catalog.search(Term("title", "history"), union, sort=[RELEVANCE]).size == 0
        entries, _position = catalog.scan("title", "a", count=5)
        assert entries == []

        load(home, "A", SAMPLE_DATA / "lib-a.mrc")
        catalog.refresh(now=float("inf"))
        found = catalog.search(Term("library", "A"), catalog.database("unikat"))
        assert found.size == catalog.store.count_titles() > 1000
        assert len(found.briefs(0, 3)) == 3
        assert catalog.scan("title", "a", count=5)[0]
    finally:
        catalog.close()
