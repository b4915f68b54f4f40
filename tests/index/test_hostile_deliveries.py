"""Deliveries a hostile review of `unikat load` broke (2026-12-04): each harms only itself now.

A MARCXML file that stops being well-formed stored the broken record cut off and dropped the rest
without a word; a MARC-in-JSON record with a number for a subfield killed the load (and every
rerun); /dev/zero was read until memory ran out; a byte-order mark cost an ISO 2709 file its first
record."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE_DATA, load, make_home

from index.errors import LoadError
from index.records.marc import iso2709_records, marcxml_records
from index.records.model import LoadProblem, RawRecord
from index.store.catalog import CatalogStore

LIBRARY_A = '[catalog]\nname = "hostile"\n[libraries.A]\nsource_system = "A"\nholdings = "record"\n'


def _marcxml(notes: list[str]) -> bytes:
    records = "".join(
        f'<record><leader>01183cam a2200325 a 4500</leader><controlfield tag="001">T{number}</controlfield>'
        f'<datafield tag="245" ind1=" " ind2=" "><subfield code="a">Title {number}</subfield></datafield>'
        f'<datafield tag="500" ind1=" " ind2=" "><subfield code="a">{note}</subfield></datafield>'
        f'<datafield tag="700" ind1="1" ind2=" "><subfield code="a">Author {number}</subfield></datafield></record>\n'
        for number, note in enumerate(notes, 1))
    return ('<?xml version="1.0"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n' + records
            + "</collection>\n").encode()


def _stored(home) -> dict[str, bytes]:
    store = CatalogStore.of(home)
    try:
        return {source_id: marc for source_id, marc in store.db.execute("SELECT source_id, marc FROM records")}
    finally:
        store.close()


def test_a_marcxml_file_that_breaks_off_gives_the_records_before_and_one_problem_for_the_rest():
    data = _marcxml(["one", "two & three", "four", "five"])
    items = list(marcxml_records(data))
    assert [type(item) for item in items] == [RawRecord, LoadProblem]
    problem = items[1]
    assert problem.position == 2 and problem.rest_unread
    assert "line" in problem.reason and "were not read" in problem.reason
    assert problem.raw.startswith(b"<record>") and b"T2" in problem.raw   # the broken record is shown
    assert data[problem.offset:].startswith(problem.raw)


def test_an_iso2709_file_cut_inside_a_record_says_it_breaks_off(tmp_path):
    # as a MARCXML file does: the load reports it and `unikat load` exits 1, so a cron job notices
    data = (SAMPLE_DATA / "lib-a.mrc").read_bytes()
    offsets = [raw.offset for raw in iso2709_records(data)][:4]
    path = tmp_path / "cut.mrc"
    path.write_bytes(data[:offsets[3] + 100])   # three records whole, the fourth cut short
    *whole, problem = iso2709_records(path.read_bytes())
    assert len(whole) == 3 and all(isinstance(item, RawRecord) for item in whole)
    assert isinstance(problem, LoadProblem) and problem.rest_unread and problem.offset == offsets[3]
    assert "breaks off inside this record (100 of its" in problem.reason
    home = make_home(tmp_path / "home", LIBRARY_A)
    report = load(home, "A", path)
    assert report.rest_unread and report.counts["new"] == 3 and report.counts["rejected"] == 1
    assert "breaks off" in report.summary()
    cli = subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "load", "--library", "A",
                          str(path)], cwd=REPO, capture_output=True, timeout=120)
    assert cli.returncode == 1 and b"breaks off" in cli.stdout + cli.stderr, cli.stdout + cli.stderr
    # trailing bytes that are no record's beginning stay a plain reject
    path.write_bytes(data[:offsets[3]] + b"junk")
    assert not any(getattr(item, "rest_unread", False) for item in iso2709_records(path.read_bytes()))


def test_the_broken_record_is_not_stored_cut_off_and_the_load_says_the_file_broke_off(tmp_path):
    home = make_home(tmp_path / "home", LIBRARY_A)
    path = tmp_path / "broken.xml"
    path.write_bytes(_marcxml(["one", "two & three", "four"]))
    report = load(home, "A", path)
    assert report.rest_unread and report.counts["read"] == 2 and report.counts["rejected"] == 1
    assert "breaks off" in report.summary()
    assert list(_stored(home)) == ["T1"]


def test_a_cut_off_redelivery_does_not_replace_a_stored_record_with_its_broken_copy(tmp_path):
    home = make_home(tmp_path / "home", LIBRARY_A)
    whole = tmp_path / "whole.xml"
    whole.write_bytes(_marcxml(["one", "two", "three"]))
    load(home, "A", whole)
    before = _stored(home)
    cut = tmp_path / "cut.xml"
    data = whole.read_bytes()
    cut.write_bytes(data[:data.index(b"Author 2")])   # an interrupted transfer
    report = load(home, "A", cut)
    assert report.rest_unread and report.counts["unchanged"] == 1
    assert _stored(home) == before


def test_a_record_no_check_foresaw_is_rejected_and_the_load_goes_on(tmp_path):
    home = make_home(tmp_path / "home", LIBRARY_A)
    records = [{"leader": "00000cam a2200000 a 4500",
                "fields": [{"001": f"J{number}"}, {"245": {"ind1": " ", "ind2": " ", "subfields": [{"a": f"Title {number}"}]}},
                           {"500": {"ind1": " ", "ind2": " ", "subfields": [{"a": 1984 if number == 300 else "note"}]}}]}
               for number in range(1, 501)]
    path = tmp_path / "records.json"
    path.write_text("\n".join(json.dumps(record) for record in records))
    report = load(home, "A", path, fmt="json", workers=2)
    assert report.counts["read"] == 500 and report.counts["rejected"] == 1 and report.counts["new"] == 499
    reasons = (home.rejects_dir / f"load-{report.load_id}-A.rej").read_text()
    assert "position=300" in reasons and "could not be prepared (AttributeError" in reasons


def test_a_byte_order_mark_before_iso_2709_costs_no_record(tmp_path):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text())
    path = tmp_path / "bom.mrc"
    path.write_bytes(b"\xef\xbb\xbf" + (SAMPLE_DATA / "lib-a.mrc").read_bytes())
    report = load(home, "A", path)
    assert report.counts["rejected"] == 0 and report.counts["read"] == 1200


def _unikat_load(home, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "load", "--library", "A", *files],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_device_is_refused_and_a_file_that_breaks_off_fails_the_command(tmp_path):
    home = make_home(tmp_path / "home", LIBRARY_A)
    refused = _unikat_load(home, "/dev/zero")
    assert refused.returncode == 1 and "/dev/zero is not a file but a pipe or a device; nothing loaded" in refused.stderr
    broken = tmp_path / "broken.xml"
    broken.write_bytes(_marcxml(["one", "two & three"]))
    partly = _unikat_load(home, str(broken))
    assert partly.returncode == 1, partly.stderr
    assert "1 file(s) break off and were read only in part" in partly.stderr


class _Watched(bytes):
    """Bytes that remember how far a slice of them has reached."""

    furthest = 0

    def __getitem__(self, index):
        if isinstance(index, slice):
            type(self).furthest = max(type(self).furthest, min(index.stop or len(self), len(self)))
        return super().__getitem__(index)


def test_a_marcxml_file_is_read_a_piece_at_a_time(monkeypatch):
    """The whole tree of a big file took 16 times its size before the first record was given."""
    monkeypatch.setattr("index.records.marc._FEED_BYTES", 4096)
    data = _Watched(_marcxml([f"note {number}" for number in range(1, 301)]))
    records = marcxml_records(data)
    first = next(records)
    assert isinstance(first, RawRecord) and b"T1" in first.raw
    assert 0 < _Watched.furthest <= 3 * 4096 < len(data)
    assert sum(1 for _ in records) == 299


@pytest.mark.parametrize(("delivery", "asked", "seen"), [
    ("ejournals.pica", "marc21", "PICA+"), ("lib-c.xml", "marc21", "MARCXML"), ("lib-a.mrc", "pica", "MARC21"),
])
def test_a_format_asked_for_a_file_plainly_in_another_is_refused_whole(tmp_path, delivery, asked, seen):
    # read as asked, the whole file had been one or hundreds of rejects, and exit 0
    home = make_home(tmp_path / "home", LIBRARY_A)
    with pytest.raises(LoadError, match=f"looks like {re.escape(seen)}.*not .* as asked.*nothing loaded"):
        load(home, "A", SAMPLE_DATA / delivery, fmt=asked)
    assert not home.has_store() or list(_stored(home)) == []
    cli = subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "load", "--library", "A",
                          "--format", asked, str(SAMPLE_DATA / delivery)], cwd=REPO, capture_output=True, timeout=120)
    assert cli.returncode == 1 and b"as asked" in cli.stderr and b"Traceback" not in cli.stderr, cli.stderr
