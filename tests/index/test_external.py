"""The external-data catalog's store (`index.external`): harvested records new, unchanged,
changed, deleted and rejected, records a complete re-harvest no longer met, the harvest state,
and `[external]` in unikat.toml. Real records: library A's sample file."""

from __future__ import annotations

import pymarc
import pytest
from conftest import SAMPLE_DATA

from index.config import ConfigError, parse_config
from index.external import ExternalRecord, ExternalStore, HarvestState
from index.external.store import preparer


def _records(count: int) -> list[pymarc.Record]:
    with (SAMPLE_DATA / "lib-a.mrc").open("rb") as source:
        reader = pymarc.MARCReader(source, to_unicode=True, force_utf8=True)
        return [next(reader) for _ in range(count)]


def _marcxml(record: pymarc.Record) -> bytes:
    return pymarc.record_to_xml(record, namespace=True)


def test_put_new_unchanged_changed_deleted_rejected(home) -> None:
    store = ExternalStore(home)
    try:
        state = HarvestState("test", "sru", "http://example.org/sru", query="dc.title=x", run=1)
        check = preparer("test", "marcxml")
        first, second = _records(2)
        with store.catalog.transaction():
            new = store.put(state, ExternalRecord("r1", _marcxml(first)), check)
            again = store.put(state, ExternalRecord("r1", _marcxml(first)), check)
        assert (new.kind, again.kind, again.isn) == ("new", "unchanged", new.isn)
        first["245"]["a"] = "A changed title"
        with store.catalog.transaction():
            changed = store.put(state, ExternalRecord("r1", _marcxml(first)), check)
        assert (changed.kind, changed.isn) == ("changed", new.isn)
        assert b"A changed title" in store.marc(new.isn)
        provenance = store.provenance(new.isn)
        assert (provenance.source, provenance.url, provenance.query, provenance.remote_id) == (
            "test", "http://example.org/sru", "dc.title=x", "r1")

        for field in second.get_fields("001", "245"):
            second.remove_field(field)
        with store.catalog.transaction():
            rejected = store.put(state, ExternalRecord("r2", _marcxml(second)), check)
            gone = store.put(state, ExternalRecord("unknown", deleted=True), check)
            deleted = store.put(state, ExternalRecord("r1", deleted=True), check)
        assert (rejected.kind, rejected.reason) == ("rejected", "no title (245)")
        assert (gone.kind, deleted.kind) == ("gone", "deleted")
        assert store.marc(new.isn) is None and store.provenance(new.isn) is None
        assert store.catalog.pending() == ([], [new.isn])   # the index drops it
    finally:
        store.close()


def test_a_record_without_001_gets_its_remote_id(home) -> None:
    store = ExternalStore(home)
    try:
        record, = _records(1)
        record.remove_field(record["001"])
        state = HarvestState("test", "z3950", "x:1/D", run=1)
        with store.catalog.transaction():
            stored = store.put(state, ExternalRecord("sha1:abc", record.as_marc(), "marc21"), preparer("test", "marc21"))
        shown = pymarc.Record(data=store.marc(stored.isn), to_unicode=True, force_utf8=True)
        assert shown["001"].data == "sha1:abc"
    finally:
        store.close()


def test_delete_unseen_after_a_complete_reharvest(home) -> None:
    store = ExternalStore(home)
    try:
        check = preparer("test", "marcxml")
        records = _records(3)
        state = HarvestState("test", "sru", "u", query="q", run=1)
        with store.catalog.transaction():
            isns = [store.put(state, ExternalRecord(f"r{n}", _marcxml(r)), check).isn for n, r in enumerate(records)]
        state.run = 2
        with store.catalog.transaction():
            store.put(state, ExternalRecord("r0", _marcxml(records[0])), check)
            other = HarvestState("test", "sru", "u", query="another query", run=2)
            assert store.delete_unseen(other) == 0   # another query's records are not its own
            assert store.delete_unseen(state) == 2
        assert store.marc(isns[0]) is not None and store.marc(isns[1]) is None and store.marc(isns[2]) is None
        store.save_state(state)
        assert store.state("test") == state and store.counts() == {"test": 1}
    finally:
        store.close()


def test_external_section_of_unikat_toml() -> None:
    config = parse_config('[external]\ndatabase = "dnb"\ndelay = 0\nretries = 5\npage_size = 100\n')
    assert (config.external.database, config.external.delay, config.external.retries, config.external.page_size) == (
        "dnb", 0.0, 5, 100)
    assert parse_config("").external.database == "external"
    for text, message in (('database = "a b"', "database: must be a database name"),
                          ("delay = -1", "delay: must be a number of seconds >= 0"),
                          ("page_size = 0", "page_size: must be a number of records from 1 to 1000"),
                          ("speed = 1", "unknown key 'speed'")):
        with pytest.raises(ConfigError, match=message):
            parse_config(f"[external]\n{text}\n")


@pytest.mark.parametrize("engine", ["whoosh", "postings"])
def test_the_external_database_of_a_catalog(tmp_path, engine) -> None:
    """Harvested records are searched, sorted, scanned, faceted and fetched as the external
    database of the main catalog, which has its own titles and finds none of them."""
    from conftest import load, make_home

    from index import resultfacets
    from index.engines.base import SortField, SortKey
    from index.engines.facets import FacetRequest
    from index.external import EXTERNAL_ISN_BASE
    from index.loading import indexing
    from index.query import And, Structure, Term
    from index.search import Catalog

    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine=engine)
    load(home, "C", SAMPLE_DATA / "lib-c.xml")   # the union catalog: library C's records
    store = ExternalStore(home)
    try:
        state = HarvestState("remote", "sru", "http://example.org/sru", query="all", run=1)
        check = preparer("remote", "marcxml")
        with store.catalog.transaction():
            for number, record in enumerate(_records(40)):
                store.put(state, ExternalRecord(f"r{number}", _marcxml(record)), check)
        indexing.update(store.home, store.catalog)
    finally:
        store.close()
    catalog = Catalog(home)
    try:
        external = catalog.database("external")
        assert external.external and external in catalog.databases()
        word = Term("any", "history", structure=Structure.WORD)
        found = catalog.search(word, external)
        union = catalog.search(word, catalog.database("unikat"))
        assert 0 < found.size < 40 and union.size > 0
        isns = found.isns()
        assert all(isn > EXTERNAL_ISN_BASE for isn in isns)
        assert not set(isns) & set(union.isns())
        records = catalog.records(isns[:3] + union.isns(0, 1))
        assert [record.isn for record in records] == isns[:3] + union.isns(0, 1)
        assert catalog.record(isns[0]).marc == records[0].marc
        by_title = catalog.sort(found, [SortKey(SortField.TITLE)])
        assert sorted(by_title.isns()) == sorted(isns) and by_title.database is external
        for facet in resultfacets.facets(catalog, found, [FacetRequest("language", 10), FacetRequest("year", 10)]):
            assert facet.terms, facet.name
            for term in facet.terms:   # each count is the size of the narrowed search, as in the union database
                narrowed = catalog.search(And(word, resultfacets.facet_term(facet.name, term.term)), external)
                assert narrowed.size == term.count, (facet.name, term.term)
        entries, _ = catalog.scan("title", "h", count=5, database=external)
        assert entries and all(entry.count for entry in entries)
    finally:
        catalog.close()
