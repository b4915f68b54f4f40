"""Loading real record files: encodings, broken input, maintenance keys, idempotence."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pymarc
import pytest
from conftest import SAMPLE_DATA, STORE, load, make_home, shared, sqlite_only

from index.loading import indexing
from index.query import Structure, Term
from index.records.marc import iso2709_records
from index.search import Catalog
from index.store.catalog import CatalogStore


def _titles(home) -> dict[str, str]:
    """001 -> all data field text of every stored display record."""
    store = CatalogStore.of(home)
    try:
        result = {}
        for _isn, display, _h in store.titles_with_holdings():
            record = pymarc.Record(data=display, to_unicode=True, force_utf8=True)
            result[record.get("001").data] = [(f.tag, f.value()) for f in record.get_fields() if not f.is_control_field()]
        return result
    finally:
        store.close()


def test_marc8_and_utf8_twins_store_identical_text_and_find_the_same(tmp_path):
    marc8 = make_home(tmp_path / "marc8")
    xml = make_home(tmp_path / "xml")
    r1 = load(marc8, "A", shared("github/solrmarc+solrmarc/specTestRecs.mrc"))
    r2 = load(xml, "A", shared("github/solrmarc+solrmarc/specTestRecs.xml"))
    assert r1.counts["new"] == r2.counts["new"] > 60
    one, two = _titles(marc8), _titles(xml)
    assert one.keys() == two.keys()
    differing = [key for key in one if one[key] != two[key]]
    assert differing == []
    queries = [Term("title", "the"), Term("author", "smith"), Term("any", "music"), Term("subject", "history"),
               Term("title", "de la", structure=Structure.PHRASE)]
    c1, c2 = Catalog(marc8), Catalog(xml)
    for query in queries:
        assert c1.search(query, c1.database("unikat")).size == c2.search(query, c2.database("unikat")).size, query


@pytest.mark.parametrize("name", [
    "github/marc4j+marc4j/bad_leaders_10_11.mrc",
    "github/marc4j+marc4j/bad_oversize_field_bad_directory.mrc",
    "github/marc4j+marc4j/bad_too_long_plus_2.mrc",
    "github/marc4j+marc4j/bad_hathi_records.mrc",
    "github/marc4j+marc4j/incomplete_esc_seq.mrc",
    "github/marc4j+marc4j/chinese_mangled_multibyte.mrc",
    "github/marc4j+marc4j/pride-and-prejudice-with-many-errors.mrc",
    "github/marc4j+marc4j/chabon-missing-controlfield-tag.xml",
    "github/marc4j+marc4j/chabon-missing-datafield-tag.xml",
    "github/marc4j+marc4j/chabon-missing-subfield-code.xml",
    "github/marc4j+marc4j/chabon-bad-subfields-element.xml",
    "github/traject+traject/bad_utf_byte.utf8.marc",
    "github/traject+traject/bad_subfield_code.marc",
    "github/traject+traject/emptyish_record.marc",
    "github/deutsche-nationalbibliothek+marc21-rs/invalid.mrc",
])
def test_broken_files_are_loaded_or_rejected_with_a_reason(home, name):
    report = load(home, "A", shared(name))
    assert report.counts["read"] >= 1
    assert report.counts["read"] == sum(report.counts[k] for k in ("new", "updated", "unchanged", "deleted", "rejected"))
    if report.counts["rejected"]:
        text = report.reject_file.read_bytes()
        assert text.count(b"# library=A") == report.counts["rejected"]
        assert b"reason=" in text


def test_reload_is_idempotent_and_updates_follow_maintenance_keys(home):
    lc2014 = shared("github/pkiraly+qa-catalogue/BooksAll.2014.part01-0001.mrc")
    first = load(home, "A", lc2014)
    again = load(home, "A", lc2014)
    assert first.counts["new"] == 100
    assert again.counts["unchanged"] == 100 and again.counts["new"] == 0
    # the same records as delivered in 2016: 11 of them changed since 2014
    wanted = {r["001"].data for r in pymarc.MARCReader(lc2014.read_bytes())}
    lc2016 = _lc2016_subset(wanted, home.root.parent / "lc2016.mrc")
    newer = load(home, "A", lc2016)
    assert newer.counts["new"] == 0
    assert newer.counts["updated"] == 11
    assert newer.counts["unchanged"] == 89


def _lc2016_subset(wanted: set[str], target):
    from pathlib import Path

    source = Path("/root/.cache/lc-books/BooksAll.2016.part01.utf8")
    if not source.exists():
        pytest.skip("LC Books All 2016 absent (run ../shared/scripts/get-lc-books)")
    with open(source, "rb") as handle, open(target, "wb") as out:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            if record is not None and record.get("001").data in wanted:
                out.write(record.as_marc())
                wanted.discard(record.get("001").data)
                if not wanted:
                    break
    return target


def test_a_library_changes_and_deletes_only_its_own_records(home, tmp_path):
    path = shared("github/solrmarc+solrmarc/specTestRecs.xml")
    load(home, "A", path)
    load(home, "B", path)
    catalog = Catalog(home)
    assert catalog.search(Term("title", "the"), catalog.database("B")).size > 0
    deleting = tmp_path / "delete.xml"
    text = path.read_text(encoding="utf-8")
    deleting.write_text(text.replace("<leader>", "<leader>", 1), encoding="utf-8")
    records = list(pymarc.parse_xml_to_array(str(path)))
    with open(deleting, "wb") as out:
        for record in records:
            leader = str(record.leader)
            record.leader = leader[:5] + "d" + leader[6:]
            out.write(record.as_marc())
    report = load(home, "B", deleting)
    assert report.counts["deleted"] == len({record["001"].data for record in records})
    catalog = Catalog(home)
    # B's copies were merged into A's titles (consolidation): B's deletes leave A's titles alone.
    union = catalog.search(Term("title", "the"), catalog.database("unikat")).size
    assert union == catalog.search(Term("title", "the"), catalog.database("A")).size > 0
    assert catalog.search(Term("title", "the"), catalog.database("B")).size == 0


def test_one_odd_leader_first_does_not_reject_a_whole_marc21_delivery(home, tmp_path):
    from itertools import islice

    from index.records.marc import iso2709_records

    bad = shared("github/marc4j+marc4j/bad_leaders_10_11.mrc").read_bytes()
    good = [raw.raw for raw in islice(iso2709_records((SAMPLE_DATA / "lib-a.mrc").read_bytes()), 10)]
    delivery = tmp_path / "delivery.mrc"
    delivery.write_bytes(bad + b"".join(good))
    report = load(home, "A", delivery)
    assert report.format == "marc21"
    assert report.counts["read"] == 11
    assert report.counts["new"] >= 10 and report.counts["rejected"] <= 1


@pytest.mark.parametrize(("name", "said"), [
    ("README.md", "looks like a text file"),
    ("github/traject+traject/test_data.utf8.mrc.gz", "looks like a gzip-compressed file"),
    ("github/gbv+PICA-Data/picaxml.xml", "looks like PICA-XML"),
])
def test_a_file_in_no_format_we_read_is_refused_as_a_whole(home, name, said):
    from index.errors import LoadError

    path = SAMPLE_DATA.parent / name if name == "README.md" else shared(name)
    with pytest.raises(LoadError, match=said):
        load(home, "A", path)
    store = CatalogStore.of(home)
    try:
        assert store.loads() == [] and store.count_titles() == 0
    finally:
        store.close()


def test_the_2014_file_after_the_2016_one_keeps_the_newer_records(home):
    lc2014 = shared("github/pkiraly+qa-catalogue/BooksAll.2014.part01-0001.mrc")
    wanted = {r["001"].data for r in pymarc.MARCReader(lc2014.read_bytes())}
    load(home, "A", _lc2016_subset(wanted, home.root.parent / "lc2016.mrc"))
    late = load(home, "A", lc2014)
    # 11 records differ between the files; 5 of them have a newer 005 in 2016, 6 the same 005
    # (nothing to go by: the delivery wins, as before).
    assert late.counts["older"] == 5 and late.counts["rejected"] == 5
    assert late.counts["updated"] == 6 and late.counts["unchanged"] == 89


def test_the_index_build_reads_with_a_small_page_cache_and_gives_matching_its_own_back(tmp_path, monkeypatch):
    if STORE == "postgresql":
        pytest.skip("the page cache is SQLite's; PostgreSQL's is the server's")
    home = make_home(tmp_path / "home")
    seen = []
    title_keys = indexing._title_keys

    def watched(store, *args, **kwargs):
        seen.append(store.db.execute("PRAGMA cache_size").fetchone()[0])
        yield from title_keys(store, *args, **kwargs)

    monkeypatch.setattr(indexing, "_title_keys", watched)
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    assert seen == [-8192]
    store = CatalogStore.of(home)
    try:
        assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -65536
        with store.small_cache():
            assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -8192
        assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -65536
    finally:
        store.close()


def test_a_delivery_cut_short_during_its_load_ends_the_reading_and_says_so(home, tmp_path):
    """A file cut short while it is loaded (an upload restarted, rsync --inplace): the records up
    to the cut are loaded, the one it cuts is rejected, the report says the file changed. The load
    used to map the file and died of SIGBUS at the first page past the new end."""
    data = (SAMPLE_DATA / "lib-a.mrc").read_bytes() + (SAMPLE_DATA / "lib-b.mrc").read_bytes()
    data *= 2
    offsets = [raw.offset for raw in iso2709_records(data)]
    kept = next(at for at, offset in enumerate(offsets) if offset > 2_500_000)   # beyond what is read ahead
    cut = offsets[kept] + 100
    path = tmp_path / "delivery.mrc"
    path.write_bytes(data)

    def progress(done, total, records):
        if done < cut:
            assert total == len(data)   # the size when the load began
            with open(path, "r+b") as handle:
                handle.truncate(cut)

    report = load(home, "A", path, progress=progress, workers=0)
    assert report.changed_meanwhile
    assert "the file changed while it was read" in report.summary()
    assert report.counts["read"] == kept + 1 < len(offsets)
    assert b"breaks off inside this record" in report.reject_file.read_bytes()


def test_a_delivery_rewritten_in_place_with_its_time_kept_is_noticed(home, tmp_path):
    """Rewritten during the load at the same size with the modification time put back (`cp -p`,
    `rsync --inplace -t`): only the change time shows it, and the report must say so."""
    one, two = (SAMPLE_DATA / "lib-a.mrc").read_bytes(), (SAMPLE_DATA / "lib-b.mrc").read_bytes()
    path = tmp_path / "delivery.mrc"
    path.write_bytes((one + two) * 2)
    before = os.stat(path)
    rewritten = []

    def progress(done, total, records):
        if not rewritten:
            with open(path, "r+b") as handle:
                handle.write((two + one) * 2)
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
            rewritten.append(True)

    report = load(home, "A", path, progress=progress, workers=0)
    assert rewritten and os.stat(path).st_size == before.st_size and os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert report.changed_meanwhile


def test_a_delivery_that_grows_during_its_load_never_shows_more_than_all_done(home, tmp_path):
    data = (SAMPLE_DATA / "lib-a.mrc").read_bytes() + (SAMPLE_DATA / "lib-b.mrc").read_bytes()
    path = tmp_path / "delivery.mrc"
    path.write_bytes(data)
    shown = []

    def progress(done, total, records):
        if not shown:
            with open(path, "ab") as handle:   # a second delivery appended meanwhile
                handle.write(data * 2)
        shown.append((done, total))

    report = load(home, "A", path, progress=progress, workers=0)
    assert report.changed_meanwhile
    assert shown[-1][0] > len(data) and all(done <= total for done, total in shown)


def _heading_index(store) -> bool:
    return bool(store.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'title_headings_key'").fetchone())


@sqlite_only
def test_a_first_load_builds_the_heading_index_at_its_end_and_a_small_one_keeps_it_up(home, monkeypatch):
    from index.store.catalog import CatalogStore as Store

    seen = []
    during = Store.headings_indexed_at_end

    @contextmanager
    def watched(store, records):
        with during(store, records):
            seen.append((records, _heading_index(store)))
            yield

    monkeypatch.setattr(Store, "headings_indexed_at_end", watched)
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")   # into an empty store: more records than titles
    load(home, "B", SAMPLE_DATA / "lib-b.mrc")   # a few KB into a store of titles: kept up
    assert [indexed for _records, indexed in seen] == [False, True], seen
    store = CatalogStore.of(home)
    try:
        assert _heading_index(store), "built at the load's end"
        headings = store.db.execute("SELECT kind, key FROM title_headings LIMIT 1").fetchall()
        assert headings and store.titles_with_headings(headings)
        assert "USING INDEX title_headings_key" in " ".join(str(row) for row in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT isn FROM title_headings WHERE kind = ? AND key = ?", headings[0]))
    finally:
        store.close()


@sqlite_only
def test_a_load_ended_without_the_heading_index_has_it_again_at_the_next_opening(home):
    store = CatalogStore.of(home)
    try:
        with pytest.raises(KeyboardInterrupt), store.headings_indexed_at_end(1):
            assert not _heading_index(store)
            raise KeyboardInterrupt
        assert _heading_index(store), "built again when the load is interrupted"
        store.db.execute("DROP INDEX title_headings_key")   # what a kill -9 in the middle leaves
    finally:
        store.close()
    store = CatalogStore.of(home)
    try:
        assert _heading_index(store)
    finally:
        store.close()
