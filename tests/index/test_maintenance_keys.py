"""Maintenance-key rules of a load: an older 005 does not replace a newer record; a record
without 001 is maintained by its 035 where the library says so; a library configured for 852
holdings whose records have none is told what to change."""

from __future__ import annotations

from itertools import islice

import pymarc
from conftest import SAMPLE_DATA, load, make_home, shared

from index.query import Term
from index.search import Catalog
from index.store.catalog import CatalogStore


def _records(count: int) -> list[pymarc.Record]:
    with open(SAMPLE_DATA / "lib-a.mrc", "rb") as handle:
        return list(islice(pymarc.MARCReader(handle, to_unicode=True, force_utf8=True), count))


def _write(path, records: list[pymarc.Record], version: str, title: str | None = None):
    with open(path, "wb") as out:
        for record in records:
            record["005"].data = version
            if title:
                record["245"]["a"] = title
            out.write(record.as_marc())
    return path


def test_an_older_005_is_refused_counted_and_written_to_the_reject_file(home, tmp_path):
    records = _records(5)
    load(home, "A", _write(tmp_path / "new.mrc", records, "20200101120000.0"))
    old = _write(tmp_path / "old.mrc", _records(5), "20190101120000.0", title="Zyxwvut stale title")
    report = load(home, "A", old)
    assert report.counts["older"] == 5 and report.counts["rejected"] == 5 and report.counts["updated"] == 0
    assert "5 rejected (5 older than the stored record)" in report.summary()
    text = report.reject_file.read_text(encoding="utf-8", errors="replace")
    assert text.count("reason=older than the stored record (005 20190101120000.0 before 20200101120000.0)") == 5
    store = CatalogStore.of(home)
    try:
        reasons = store.db.execute("SELECT reason FROM rejects WHERE load_id = ?", (report.load_id,)).fetchall()
        assert len(reasons) == 5 and all(reason.startswith("older than the stored record") for reason, in reasons)
    finally:
        store.close()
    catalog = Catalog(home)
    assert catalog.search(Term("title", "zyxwvut"), catalog.database("unikat")).size == 0


def test_force_lets_an_older_record_replace_the_newer(home, tmp_path):
    load(home, "A", _write(tmp_path / "new.mrc", _records(5), "20200101120000.0"))
    old = _write(tmp_path / "old.mrc", _records(5), "20190101120000.0", title="Zyxwvut stale title")
    report = load(home, "A", old, force=True)
    assert report.counts["updated"] == 5 and report.counts["rejected"] == 0
    catalog = Catalog(home)
    assert catalog.search(Term("title", "zyxwvut"), catalog.database("unikat")).size == 5


def test_same_or_unreadable_005_is_not_refused(home, tmp_path):
    load(home, "A", _write(tmp_path / "a.mrc", _records(3), "20200101120000.0"))
    same = load(home, "A", _write(tmp_path / "b.mrc", _records(3), "20200101120000.0", title="Changed title"))
    assert same.counts["updated"] == 3
    odd = load(home, "A", _write(tmp_path / "c.mrc", _records(3), "2019", title="Changed again"))
    assert odd.counts["updated"] == 3   # not a 005 timestamp: nothing to compare, the delivery wins


_NO_001 = """
[libraries.A]
source_system = "A-ILS"
holdings = "record"
[libraries.O]
source_system = "O-ILS"
holdings = "record"
id_from_035 = "(OCoLC)"
"""


def _without_001(path, records: list[pymarc.Record], *, deleted: bool = False):
    with open(path, "wb") as out:
        for record in records:
            record.remove_fields("001")
            if deleted:
                record.leader = str(record.leader)[:5] + "d" + str(record.leader)[6:]
            out.write(record.as_marc())
    return path


def test_records_without_001_are_maintained_by_a_configured_035(tmp_path):
    home = make_home(tmp_path / "home", _NO_001)
    delivery = _without_001(tmp_path / "no001.mrc", _records(5))
    plain = load(home, "A", delivery)
    assert plain.counts["rejected"] == 5
    assert "reason=no control number (001): the record" in plain.reject_file.read_text(errors="replace")
    first = load(home, "O", delivery)   # the 5th record has only a (DLC) 035
    assert first.counts["new"] == 4 and first.problems["control number taken from 035 (no 001)"] == 4
    assert first.counts["rejected"] == 1
    reject = first.reject_file.read_text(errors="replace")
    assert "position=5 " in reject and "no control number (001) nor an 035 $a starting with (OCoLC)" in reject
    assert load(home, "O", delivery).counts["unchanged"] == 4
    store = CatalogStore.of(home)
    try:
        ids = {row[0] for row in store.db.execute("SELECT source_id FROM records WHERE library = 'O'")}
    finally:
        store.close()
    assert ids == {"(OCoLC)3190312", "(OCoLC)2315552", "(OCoLC)3322175", "(OCoLC)328551"}
    gone = load(home, "O", _without_001(tmp_path / "delete.mrc", _records(2), deleted=True))
    assert gone.counts["deleted"] == 2


def test_a_library_without_852_fields_is_told_to_set_holdings_record(tmp_path):
    home = make_home(tmp_path / "home", '[libraries.A]\nsource_system = "A-ILS"\nholdings = "852"\n')
    report = load(home, "A", shared("github/pkiraly+qa-catalogue/BooksAll.2014.part01-0001.mrc"))
    assert report.counts["rejected"] == 100
    assert 'set holdings = "record" in [libraries.A]' in report.summary()
    record_home = make_home(tmp_path / "record", '[libraries.A]\nsource_system = "A-ILS"\nholdings = "record"\n')
    assert "hint" not in load(record_home, "A", SAMPLE_DATA / "lib-b.mrc").summary()
