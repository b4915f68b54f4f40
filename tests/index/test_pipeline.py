"""The load pipeline: records parsed once in worker processes, in delivery order, in bounded
memory; the search keys worked out there are the keys the store's display records give."""

from __future__ import annotations

from pathlib import Path

import pymarc
import pytest
from conftest import REPO, SAMPLE_DATA, copy_home, load, make_home, shared
from pymarc import Field, Indicators, Subfield
from test_engines import QUERIES

from index.config import LibraryConfig
from index.loading import handover, indexing, pipeline
from index.loading.load import load_file
from index.loading.prepare import Preparer, _reads_back
from index.records.marc import iso2709_records, read_marc21
from index.records.model import Holding, RawRecord
from index.search import Catalog
from index.searchkeys.extract import extract
from index.searchkeys.files import SearchKeyFiles
from index.store.catalog import CatalogStore
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

SAMPLE_LOADS = (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml"), ("ZDB", "ejournals.pica"))
LC_CONFIG = """
[catalog]
name = "LC slice"
[libraries.LC]
source_system = "LC"
holdings = "record"
[index]
engine = "postings"
"""
LC_QUERIES = QUERIES + ["@attr 1=4 war", "@attr 1=21 \"united states\"", "@attr 1=1003 john", "@attr 1=1016 law",
                        "@attr 1=31 1998", "@attr 1=4 @attr 5=1 econ", '@attr 1=4 @attr 4=1 "united states"']
_STORE_TABLES = {
    # everything a load writes that does not say which load wrote it or when
    "records": "SELECT id, isn, library, source_system, source_id, marc, version, quality, profile FROM records",
    "titles": "SELECT isn, master, bibtype, display FROM titles",
    "holdings": "SELECT * FROM holdings",
    "match_keys": "SELECT key, record_id FROM match_keys ORDER BY record_id, key",
    "title_headings": "SELECT isn, kind, key FROM title_headings ORDER BY isn, kind, key",
    "authority_headings": "SELECT isn, form, kind, key, heading FROM authority_headings ORDER BY isn, rowid",
    "pending": "SELECT isn, deleted FROM pending",
    "pending_keys": "SELECT isn FROM pending_keys",
}


def store_contents(home) -> dict[str, list]:
    """The store's records, titles, holdings, clusters and headings, as rows."""
    store = CatalogStore.of(home)
    try:
        return {name: [tuple(row) for row in store.db.execute(sql).fetchall()] for name, sql in _STORE_TABLES.items()}
    finally:
        store.close()


def key_files(home) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(home.searchkeys_dir.iterdir())}


def hit_counts(home, queries=LC_QUERIES) -> dict[str, int]:
    catalog = Catalog(home)
    try:
        union = catalog.database("unikat")
        return {pqf: catalog.search(rpn_to_query(parse_pqf(pqf)), union).size for pqf in queries}
    finally:
        catalog.close()


def lc_slice(count: int, target: Path) -> Path:
    """The first `count` records of the LC file the benchmarks use; skips when it is absent."""
    candidates = [REPO / "bench" / "out" / "lc-100000.mrc", REPO / "bench" / "out" / "lc-250000.mrc",
                  Path.home() / ".cache" / "lc-books" / "BooksAll.2016.part01.utf8"]
    source = next((path for path in candidates if path.exists()), None)
    if source is None:
        pytest.skip("no LC records (bench/out/lc-100000.mrc or ~/.cache/lc-books; see bench/common.py)")
    with open(source, "rb") as handle, open(target, "wb") as out:
        for _ in range(count):
            head = handle.read(5)
            if len(head) < 5:
                break
            out.write(head + handle.read(int(head) - 5))
    return target


def _rebuilt(home, target: Path):
    """A copy of `home` whose search-key files and index `indexing.rebuild` wrote from the store
    alone (nothing handed over)."""
    from index.home import Home

    copy_home(home, target)
    rebuilt = Home(target)
    store = CatalogStore.of(rebuilt)
    try:
        store.clear_all_pending()
        indexing.rebuild(rebuilt, store)
    finally:
        store.close()
    return rebuilt


def _titles(home) -> list[tuple]:
    """Every title's keys as the search-key files give them back (an index without keys is left
    out: a tombstone gives it as empty, a compact file not at all)."""
    return [(t.isn, {name: keys for name, keys in t.keys.items() if keys}, t.control)
            for t in SearchKeyFiles(home.searchkeys_dir).read_all()]


def _counting_extractions(monkeypatch) -> list[int]:
    """Counts the display records the index phase parses and extracts (not handed over)."""
    calls: list[int] = []
    real = indexing._extract

    def counted(row):
        calls.append(row[0])
        return real(row)

    monkeypatch.setattr(indexing, "_extract", counted)
    return calls


def test_sample_loads_give_the_keys_of_the_store(tmp_path, monkeypatch):
    """Each sample delivery through the pipeline: the search-key files are those a rebuild from the
    store writes (byte for byte after the first load, title by title after appended updates), and
    only titles whose display record changed after the worker saw it are parsed again."""
    monkeypatch.setattr(pipeline, "BATCH", 50)   # many batches in flight, even for the PICA+ file
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    extracted = _counting_extractions(monkeypatch)
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    assert extracted == []   # 1,200 new titles of one record each: every key handed over
    assert key_files(home) == key_files(_rebuilt(home, tmp_path / "after-a"))

    config = home.config()
    for library, name in SAMPLE_LOADS[1:]:
        store = CatalogStore.of(home)
        try:
            report = load_file(home, store, config.libraries[library], SAMPLE_DATA / name)
            changed, _deleted = store.pending()
            del extracted[:]
            indexing.update(home, store)
        finally:
            store.close()
        # of the titles this load changed, only those merged into were parsed again (a rebuild
        # parses the titles indexed before as well)
        assert len(set(changed) & set(extracted)) <= report.counts["merged"] < len(changed)
    rebuilt = _rebuilt(home, tmp_path / "after-all")
    assert _titles(home) == _titles(rebuilt)
    assert hit_counts(home, QUERIES) == hit_counts(rebuilt, QUERIES)


def test_an_lc_slice_gives_the_keys_of_the_store(tmp_path):
    """2,000 LC records through the worker processes: the search-key files and the hits are
    those of a rebuild from the store."""
    delivery = lc_slice(2000, tmp_path / "lc-2000.mrc")
    home = make_home(tmp_path / "home", LC_CONFIG)
    report = load(home, "LC", delivery, workers=2)
    assert report.counts["read"] == 2000
    rebuilt = _rebuilt(home, tmp_path / "rebuilt")
    assert key_files(home) == key_files(rebuilt)
    counts = hit_counts(home)
    assert counts == hit_counts(rebuilt)
    assert sum(counts.values()) > 1000


BROKEN = ["github/marc4j+marc4j/bad_leaders_10_11.mrc", "github/marc4j+marc4j/bad_hathi_records.mrc",
          "github/marc4j+marc4j/chinese_mangled_multibyte.mrc",
          "github/marc4j+marc4j/pride-and-prejudice-with-many-errors.mrc",
          "github/marc4j+marc4j/chabon-missing-subfield-code.xml", "github/marc4j+marc4j/chabon-bad-subfields-element.xml",
          "github/traject+traject/bad_subfield_code.marc", "github/traject+traject/bad_utf_byte.utf8.marc",
          "github/solrmarc+solrmarc/specTestRecs.xml"]


def test_broken_records_in_workers_as_in_one_process(tmp_path, monkeypatch):
    """Broken and odd records (bad leaders, encodings, subfield codes; MARCXML that ISO 2709 cannot
    say): the same store and rejects with worker processes as without, and the keys handed over
    are those the stored display records give."""
    monkeypatch.setattr(pipeline, "BATCH", 3)
    paths = [shared(name) for name in BROKEN]
    homes = {}
    for workers in (0, 2):
        home = homes[workers] = make_home(tmp_path / f"workers-{workers}")
        reports = [load(home, "A", path, workers=workers) for path in paths]
        assert sum(r.counts["rejected"] for r in reports) > 0
    assert store_contents(homes[0]) == store_contents(homes[2])
    assert _rejects(homes[0]) == _rejects(homes[2])
    assert key_files(homes[2]) == key_files(homes[0])
    assert _titles(homes[2]) == _titles(_rebuilt(homes[2], tmp_path / "rebuilt"))


def _rejects(home) -> list[tuple]:
    store = CatalogStore.of(home)
    try:
        return store.db.execute('SELECT position, "offset", reason, raw FROM rejects ORDER BY id').fetchall()
    finally:
        store.close()


_PREPARER = Preparer(LibraryConfig(code="A", name="A", source_system="A", holdings="record"), "marc21")


def _record(odd: Field | None = None) -> pymarc.Record:
    """A record with a title, a subject and the `odd` field."""
    record = pymarc.Record(leader="00000nam a2200000 a 4500")
    record.add_field(Field(tag="001", data="x1"), _field("245", Subfield("a", "A title")),
                     _field("650", Subfield("a", "Subjects"), Subfield("x", "History")))
    if odd is not None:
        record.add_field(odd)
    return record


def _field(tag: str, *subfields: Subfield, indicators=("1", "0")) -> Field:
    return Field(tag=tag, indicators=Indicators(*indicators), subfields=list(subfields))


@pytest.mark.parametrize(("record", "reads_back"), [
    (_record(), True),
    (_record(_field("246", Subfield("a", "Other"), Subfield("", "no code"))), False),
    (_record(_field("246", Subfield("a", "Other"), Subfield("ab", "two-letter code"))), False),
    (_record(_field("246", Subfield("a", "Other \x1fbwith a delimiter"))), False),
    (_record(_field("246", Subfield("a", "Other"), indicators=("10", " "))), False),
    (_record(_field("24", Subfield("a", "Other"))), True),    # pymarc makes the tag 024
    (_record(_field("ab", Subfield("a", "Other"))), False),
    (_record(_field("abc", Subfield("a", "Other"))), True),
    (_record(_field("246", Subfield("a", "Ünïcödé title ✓"))), True),
], ids=["plain", "empty code", "long code", "delimiter in value", "long indicator", "short numeric tag",
        "short tag", "letter tag", "unicode"])
def test_keys_come_from_the_parsed_record_only_when_it_reads_back_the_same(record, reads_back):
    """The keys handed over are always those of the record as stored, read back; the parsed
    record itself serves when reading back gives the same fields."""
    marc = record.as_marc()
    assert _reads_back(record) is reads_back
    stored = pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
    if reads_back:
        assert extract(0, record) == extract(0, stored)
    prepared = _PREPARER.prepare(RawRecord(marc, 1, 0))
    assert handover.unpack(0, prepared.keys) == extract(0, stored, [Holding(library="A")])


def test_results_come_in_order_with_a_bounded_number_of_batches_out(monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH", 10)
    raws = list(iso2709_records((SAMPLE_DATA / "lib-a.mrc").read_bytes()))
    pulled = []

    def delivery():
        for raw in raws:
            pulled.append(raw.position)
            yield raw

    seen = []
    with pipeline.preparing(_PREPARER, delivery(), 2) as results:
        for item, _prepared in results:
            seen.append(item.position)
            # taken from the delivery: what was handed out (2 workers x IN_FLIGHT batches), the batch
            # being read, and what the main process has taken back
            assert len(pulled) - len(seen) <= (2 * pipeline.IN_FLIGHT + 1) * pipeline.BATCH
    assert seen == list(range(1, len(raws) + 1))
    expected = [item.record.get("001").data.strip() for item in read_marc21((SAMPLE_DATA / "lib-a.mrc").read_bytes())]
    with pipeline.preparing(_PREPARER, iter(raws), 2) as results:
        assert [prepared.source_id for _item, prepared in results] == expected


def test_an_error_in_a_worker_reaches_the_main_process(monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH", 10)
    raws = list(iso2709_records((SAMPLE_DATA / "lib-a.mrc").read_bytes()))[:100]
    preparer = Preparer(_PREPARER.library, "no such format")
    with pytest.raises(ValueError, match="unknown format"), pipeline.preparing(preparer, raws, 2) as results:
        list(results)


def test_workers_or_not_the_store_is_the_same(tmp_path):
    """Records come back in delivery order: ISNs, record ids and clusters do not depend on how
    many processes prepared them."""
    homes = []
    for workers in (0, 2):
        home = make_home(tmp_path / f"workers-{workers}", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
        for library, name in SAMPLE_LOADS[:2]:
            load(home, library, SAMPLE_DATA / name, workers=workers)
        homes.append(home)
    assert store_contents(homes[0]) == store_contents(homes[1])
    assert key_files(homes[0]) == key_files(homes[1])


@pytest.mark.parametrize(("holdings", "reason"), [
    ("pica", "no holdings of library ZDB (the PICA+ record has no local record of any library)"),
    ("record", "no title (021A)"),
])
def test_pica_rejects_name_pica_fields(holdings, reason):
    # a PICA+ record is read into MARC fields, but its rejects speak PICA+
    from index.records.pica import pica_records

    plain = b"002@ $0Oau\n003@ $0123456789\n" + (b"021A $aA title\n" if holdings == "pica" else b"") + b"\n"
    serialization, records = pica_records(plain)
    library = LibraryConfig(code="ZDB", name="ZDB", source_system="ZDB", holdings=holdings, require_holdings=True)
    prepared = Preparer(library, "pica", serialization=serialization).prepare(next(records))
    assert prepared.reject == reason
