"""Dumps: every library of the sample catalog exported in each format and loaded into an empty
home gives the same titles (the same member records merged the same way), the same holdings and
the same hit counts; a dump since a date holds what changed and lists the deletions, which a
load applies; restricted databases are refused without --include-restricted; the command shows
its rate."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pymarc
import pytest
from conftest import REPO, SAMPLE_DATA, copy_home, make_home

from index.config import parse_config
from index.dumps import DumpError, export, parse_since
from index.home import Home
from index.loading import indexing
from index.loading.load import load_file
from index.query import Term
from index.records.formats import parse
from index.search import Catalog
from index.store.catalog import CatalogStore

FORMATS = ("marc21", "marcxml", "json", "pica")
LIBRARIES = ("A", "B", "C", "ZDB")


@pytest.fixture(scope="module")
def source(sample_homes) -> Home:
    return sample_homes["postings"]


def _load(home: Home, library: str, path: Path, holdings: str):
    config = parse_config(home.config_path.read_text())
    store = CatalogStore.of(home)
    try:
        report = load_file(home, store, dataclasses.replace(config.libraries[library], holdings=holdings), path,
                           workers=0)
        indexing.update(home, store)
        return report
    finally:
        store.close()


def _titles(home: Home) -> set[frozenset]:
    """Each title as the set of its members' maintenance keys (library, 001)."""
    store = CatalogStore.of(home)
    try:
        members: dict[int, set] = {}
        for isn, library, source_id in store.db.execute("SELECT isn, library, source_id FROM records"):
            members.setdefault(isn, set()).add((library, source_id))
        return {frozenset(m) for m in members.values()}
    finally:
        store.close()


def _holdings(home: Home) -> Counter:
    store = CatalogStore.of(home)
    try:
        return Counter(store.db.execute(
            "SELECT r.library, r.source_id, h.library, h.location, h.call_number, h.url, h.note, h.lendable,"
            " h.source_id FROM holdings h JOIN records r ON r.id = h.record_id").fetchall())
    finally:
        store.close()


def _queries(home: Home) -> list[Term]:
    """Library, title, author, subject, ISBN and year searches drawn from every 40th title."""
    queries = [Term("library", library) for library in LIBRARIES]
    store = CatalogStore.of(home)
    try:
        for (display,) in store.db.execute("SELECT display FROM titles ORDER BY isn").fetchall()[::40]:
            record = parse(display)
            for tag, code, index in (("245", "a", "title"), ("100", "a", "author"), ("650", "a", "subject")):
                field = record.get(tag)
                words = [w for w in (field.get(code) or "").replace(",", " ").split() if w.isalpha()] if field else []
                if words:
                    queries.append(Term(index, " ".join(words[:2])))
            if record.get("020") is not None and record["020"].get("a"):
                queries.append(Term("isbn", record["020"]["a"].split()[0]))
            year = (record.get("008").data or "")[7:11] if record.get("008") else ""
            if year.isdigit():
                queries.append(Term("year", year))
    finally:
        store.close()
    return queries


def _hits(home: Home, queries: list[Term]) -> list[int]:
    catalog = Catalog(home)
    try:
        database = catalog.database("unikat")
        return [catalog.search(query, database).size for query in queries]
    finally:
        catalog.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_gives_the_same_titles_holdings_and_hits(source, tmp_path, fmt):
    target = make_home(tmp_path / "target", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    for library in LIBRARIES:
        dump = tmp_path / f"{library}.{fmt}"
        with open(dump, "wb") as out:
            report = export(source, out, library=library, fmt=fmt)
        assert report.records > 0
        loaded = _load(target, library, dump, "pica" if fmt == "pica" else "852-all")
        assert loaded.counts["rejected"] == 0, loaded.reject_file and loaded.reject_file.read_text()[:500]
        assert loaded.counts["read"] == report.records
    assert _titles(target) == _titles(source)
    assert _holdings(target) == _holdings(source)
    queries = _queries(source)
    assert len(queries) > 150
    assert _hits(target, queries) == _hits(source, queries)


def test_whole_catalog_dump_has_every_title_with_every_holding(source, tmp_path):
    with open(tmp_path / "all.pica", "wb") as out:
        report = export(source, out, fmt="pica")
    store = CatalogStore.of(source)
    try:
        assert report.records == store.db.execute("SELECT count(*) FROM titles WHERE bibtype NOT LIKE 'z%'").fetchone()[0]
        held = Counter(library for (library,) in store.db.execute("SELECT library FROM holdings"))
    finally:
        store.close()
    # a union dump loads as one delivery whose holdings are every library's (PICA+ local records)
    target = make_home(tmp_path / "target", '[libraries.ALL]\nsource_system = "unikat"\nholdings = "pica"\n'
                       '[consolidation]\nenabled = false\n', engine="postings")
    loaded = _load(target, "ALL", tmp_path / "all.pica", "pica")
    assert loaded.counts["new"] == report.records
    assert Counter(library for (_, _, library, *_rest) in _holdings(target).elements()) == held


def test_changes_since_a_date_with_deletions(source, tmp_path):
    home = Home(tmp_path / "home")
    copy_home(source, home.root)
    before = parse_since(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()))
    time.sleep(1.1)   # the store's times have whole seconds
    original = (SAMPLE_DATA / "lib-a.mrc").read_bytes()
    first = original[:int(original[:5])]
    second_start = int(original[:5])
    second = original[second_start:second_start + int(original[second_start:second_start + 5])]
    delivery = tmp_path / "changes.mrc"
    # the first record deleted (leader/05 d), the second changed
    record = pymarc.Record(data=second, to_unicode=True, force_utf8=True)
    record["245"].add_subfield("p", "Revised")
    delivery.write_bytes(first[:5] + b"d" + first[6:] + record.as_marc())
    config = parse_config(home.config_path.read_text())
    store = CatalogStore.of(home)
    try:
        report = load_file(home, store, config.libraries["A"], delivery, workers=0)
        indexing.update(home, store)
    finally:
        store.close()
    assert report.counts["deleted"] == 1 and report.counts["updated"] == 1
    gone = first[first.index(b"\x1e", 24) + 1:].split(b"\x1e")[0].decode()   # 001 of the first record
    for fmt in FORMATS:
        dump = tmp_path / f"since.{fmt}"
        with open(dump, "wb") as out:
            done = export(home, out, library="A", fmt=fmt, since=before, deleted_path=tmp_path / f"since.{fmt}.deleted")
        assert (done.records, done.deletions) == (1, 1)
        assert (tmp_path / f"since.{fmt}.deleted").read_text().split("\t")[0] == gone
    # the incremental MARC dump applied to a copy made before: the deletion is carried out
    target = make_home(tmp_path / "target", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    _load(target, "A", SAMPLE_DATA / "lib-a.mrc", "852")
    applied = _load(target, "A", tmp_path / "since.marc21", "852")
    assert (applied.counts["deleted"], applied.counts["updated"]) == (1, 1)
    # the union dump since the date lists the title that went with the deleted record, if one did
    with open(tmp_path / "union.mrc", "wb") as out:
        union = export(home, out, fmt="marc21", since=before)
    store = CatalogStore.of(home)
    try:
        assert union.deletions == len(store.deleted_titles(before))
    finally:
        store.close()


def test_restricted_databases_are_refused_without_the_flag(source, tmp_path):
    home = Home(tmp_path / "home")
    copy_home(source, home.root)
    text = home.config_path.read_text().replace("restricted = []", 'restricted = ["B"]')
    home.config_path.write_text(text)
    with pytest.raises(DumpError, match="library B is a restricted database"):
        export(home, open(tmp_path / "b.mrc", "wb"), library="B")
    with open(tmp_path / "all.json", "wb") as out:
        export(home, out, fmt="json")
    assert "B" not in _libraries_in_852(tmp_path / "all.json")
    with open(tmp_path / "all.json", "wb") as out:
        export(home, out, fmt="json", include_restricted=True)
    assert "B" in _libraries_in_852(tmp_path / "all.json")


def _libraries_in_852(path: Path) -> set[str]:
    return {sub["a"] for record in json.loads(path.read_text()) for field in record["fields"] if "852" in field
            for sub in field["852"]["subfields"] if "a" in sub}


def test_export_command_reports_its_rate_and_refuses_bad_input(source, tmp_path):
    command = [sys.executable, "-m", "zserver", "--home", str(source.root), "export"]
    done = subprocess.run([*command, "--library", "C", "--format", "marcxml", "--out", str(tmp_path / "c.xml")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "exported library C: 800 records, 0 deletions" in done.stdout and "records/s" in done.stdout
    assert (tmp_path / "c.xml").read_bytes().count(b"<record ") == 800
    assert not (tmp_path / "c.xml.partial").exists()
    bad = subprocess.run([*command, "--since", "yesterday"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--since 'yesterday' is not a date" in bad.stderr
    unknown = subprocess.run([*command, "--library", "Q"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "library 'Q' is not in unikat.toml" in unknown.stderr


def test_a_title_too_long_for_iso2709_with_its_holdings_keeps_them_where_the_format_can(tmp_path):
    # a record just under ISO 2709's 99,999 bytes, held by two libraries: with its 852s it is over
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="N1"),
                     pymarc.Field(tag="020", indicators=pymarc.Indicators(" ", " "),
                                  subfields=[pymarc.Subfield("a", "9780306406157")]),
                     pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                  subfields=[pymarc.Subfield("a", "A very long record")]))
    while len(record.as_marc()) < 99_960:
        record.add_field(pymarc.Field(tag="500", indicators=pymarc.Indicators(" ", " "),
                                      subfields=[pymarc.Subfield("a", "small")]))
    delivery = tmp_path / "long.xml"
    delivery.write_bytes(pymarc.record_to_xml(record, namespace=True))
    home = make_home(tmp_path / "home", '[libraries.R]\nsource_system = "R"\nholdings = "record"\n'
                     '[libraries.S]\nsource_system = "S"\nholdings = "record"\n', engine="postings")
    for library in "RS":
        assert _load(home, library, delivery, "record").counts["rejected"] == 0
    written = {}
    for fmt in FORMATS:
        with open(tmp_path / f"all.{fmt}", "wb") as out:
            written[fmt] = export(home, out, fmt=fmt)
        assert written[fmt].records == (0 if fmt == "marc21" else 1)   # one title: the two deliveries merged
    xml = (tmp_path / "all.marcxml").read_text(encoding="utf-8")
    tags = [int(tag) for tag in re.findall(r'<(?:control|data)field tag="(\d+)"', xml)]
    assert tags.count(852) == 2 and tags == sorted(tags) and tags.count(500) > 4000
    assert '<controlfield tag="003">unikat</controlfield>' in xml
    json_tags = [next(iter(field)) for field in json.loads((tmp_path / "all.json").read_bytes())[0]["fields"]]
    assert json_tags.count("852") == 2 and json_tags == sorted(json_tags) and json_tags.count("500") > 4000
    assert (tmp_path / "all.pica").read_text(encoding="utf-8").count("\n101@") == 2   # a local record each
    assert written["marcxml"].oversized == written["json"].oversized == written["pica"].oversized == 0
    # ISO 2709 cannot, not even without holdings (001 and 003 of the union catalog): said, not written broken
    assert written["marc21"].too_long == 1 and written["marc21"].left_out == 2
    assert (tmp_path / "all.marc21").read_bytes() == b""
    summary = written["marc21"].summary("the catalog", "all.marc21")
    assert "2 holdings left out" in summary and "1 records too long for ISO 2709 even without holdings" in summary
