"""The index removed while a catalog serves: what the engine still has open is served, what it
would open afresh is `IndexUnavailable` (Bib-1 109, SRU 2), never an internal error; the index
`unikat index` builds again is taken up by a refresh, without reopening the catalog."""

from __future__ import annotations

import shutil

import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home

from index import engines
from index.engines.base import SortField, SortKey
from index.errors import IndexUnavailable
from index.loading import indexing
from index.query import Term
from index.search import Catalog
from index.store.catalog import CatalogStore
from zserver.sru.diagnostics import CATALOG_ERRORS as SRU_ERRORS
from zserver.sru.diagnostics import SruDiagnosticCode
from zserver.z3950.diagnostics import CATALOG_ERRORS as BIB1_ERRORS
from zserver.z3950.diagnostics import Bib1Diagnostic

OPERATIONS = {
    "search": lambda catalog: catalog.search(Term("title", "war"), catalog.database("unikat")).size,
    "library": lambda catalog: catalog.search(Term("library", "A"), catalog.database("A")).size,
    "sort": lambda catalog: catalog.search(Term("title", "war"), catalog.database("unikat"),
                                           sort=[SortKey(SortField.YEAR)]).isns(0, 3),
    "scan": lambda catalog: catalog.scan("title", "a", count=3)[0],
    "scan author": lambda catalog: catalog.scan("author", "m", count=3)[0],
}


@pytest.mark.parametrize("how", ["deleted", "moved aside"])
@pytest.mark.parametrize("engine", ENGINES)
def test_index_removed_while_serving(tmp_path, engine, how):
    home = make_home(tmp_path / "home", engine=engine)
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    reference = Catalog(home)
    before = {name: operation(reference) for name, operation in OPERATIONS.items()}
    reference.close()
    catalog = Catalog(home)   # serving, but not yet asked for everything
    try:
        assert OPERATIONS["search"](catalog) == before["search"]
        directory = engines.index_dir(home, catalog.config)
        if how == "deleted":
            shutil.rmtree(directory)
        else:
            directory.rename(tmp_path / "aside")
        catalog.refresh(now=1e9)   # at once, not REFRESH_SECONDS later
        unavailable = []
        for name, operation in OPERATIONS.items():
            try:
                assert operation(catalog) == before[name], name   # served from the files still open
            except IndexUnavailable as error:
                assert "run 'unikat index'" in error.detail
                unavailable.append(name)
        if engine == "whoosh" and how == "moved aside":   # SQLite sees its key table gone: no scan
            assert "scan" in unavailable

        store = CatalogStore.of(home)
        try:
            indexing.rebuild(home, store)
        finally:
            store.close()
        catalog.refresh(now=2e9)
        assert {name: operation(catalog) for name, operation in OPERATIONS.items()} == before
    finally:
        catalog.close()


def test_index_unavailable_is_a_temporary_diagnostic():
    assert BIB1_ERRORS[IndexUnavailable] is Bib1Diagnostic.DATABASE_UNAVAILABLE
    assert SRU_ERRORS[IndexUnavailable] is SruDiagnosticCode.SYSTEM_TEMPORARILY_UNAVAILABLE
