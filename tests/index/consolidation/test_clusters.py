"""Clusters in the store: three libraries load overlapping real records, one updates, one deletes.

After every step the titles, their members, holdings and search results must be what the
overlap says, and equal to a full re-consolidation of a copy of the store. The records are the
sample catalog's (real LC records as libraries A, B and C deliver them, see sample_data/README.md);
each library gets a small subset chosen by LC control number so the test covers every overlap:
A only, A+B, A+C, B+C, A+B+C, C only.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pymarc
import pytest
from conftest import SAMPLE_DATA, copy_home, load, make_home
from pymarc import Field, Indicators, Subfield

from index.config import parse_config
from index.consolidation.clusters import describe
from index.loading import indexing
from index.query import Structure, Term
from index.records.marc import read_marc21, read_marcxml
from index.search import Catalog
from index.store import corrections
from index.store.catalog import CatalogStore
from index.titles import reconsolidate

CONFIG = """
[catalog]
database = "unikat"
[libraries.A]
source_system = "A-ILS"
[libraries.B]
source_system = "B-ILS"
priority = 5
[libraries.C]
source_system = "C-ILS"
"""

# Sample title numbers (sample_data/README.md, "Overlaps") and who holds them.
PICKS = {
    "A": [*range(590, 596), *range(600, 606), *range(800, 806), *range(1000, 1006)],
    "B": [*range(800, 806), *range(1000, 1006), *range(1900, 1906)],
    "C": [*range(600, 606), *range(1000, 1006), *range(1900, 1906), *range(2000, 2004)],
}


def _lccn(record: pymarc.Record) -> str:
    for field in record.get_fields("035"):
        for value in field.get_subfields("a"):
            if value.startswith("(DLC)"):
                return value[5:].strip()
    raise AssertionError("sample record without (DLC) number")


def _sample(library: str) -> list[pymarc.Record]:
    path = SAMPLE_DATA / {"A": "lib-a.mrc", "B": "lib-b.mrc", "C": "lib-c.xml"}[library]
    items = read_marcxml(path.read_bytes()) if path.suffix == ".xml" else read_marc21(path.read_bytes())
    return [item.record for item in items]


@pytest.fixture(scope="module")
def picked() -> dict[str, dict[str, pymarc.Record]]:
    """library -> LCCN -> that library's record, for the picked titles."""
    a_records = _sample("A")
    lccn_of_pick = {number: _lccn(record) for number, record in enumerate(a_records)}
    b_records, c_records = _sample("B"), _sample("C")
    lccn_of_pick.update({800 + n: _lccn(r) for n, r in enumerate(b_records)})
    c_numbers = [*range(600, 700), *range(1000, 1200), *range(1900, 2400)]
    lccn_of_pick.update({c_numbers[n]: _lccn(r) for n, r in enumerate(c_records)})
    by_library = {"A": a_records, "B": b_records, "C": c_records}
    result = {}
    for library, numbers in PICKS.items():
        wanted = {lccn_of_pick[n] for n in numbers}
        result[library] = {_lccn(r): r for r in by_library[library] if _lccn(r) in wanted}
        assert len(result[library]) == len(numbers)
    return result


def _write(records, path: Path) -> Path:
    path.write_bytes(b"".join(record.as_marc() for record in records))
    return path


# -- what the catalog holds, as comparable values ---------------------------------------------------

def _snapshot(home) -> dict:
    """cluster (frozenset of maintenance keys) -> (master key, display fields, holdings libraries)."""
    store = CatalogStore.of(home)
    try:
        result = {}
        for isn, members in store.clusters(all_titles=True):
            keys = frozenset((m.library, m.source_system, m.source_id) for m in members)
            master = store.db.execute("SELECT master FROM titles WHERE isn = ?", (isn,)).fetchone()[0]
            master_key = next((m.library, m.source_id) for m in members if m.id == master)
            display = pymarc.Record(data=store.display(isn), to_unicode=True, force_utf8=True)
            fields = sorted(str(f) for f in display.fields if f.tag != "005")
            holdings = sorted((h.library, h.call_number, h.location) for h in store.holdings(isn))
            result[keys] = (master_key, tuple(fields), tuple(holdings))
        return result
    finally:
        store.close()


def _rebuilt(home, tmp_path: Path) -> dict:
    """The snapshot of a copy of the store after a full re-consolidation (and its search results)."""
    copy = copy_home(home, tmp_path / f"rebuilt-{len(list(tmp_path.iterdir()))}")
    store = CatalogStore.of(copy)
    try:
        with store.transaction():
            reconsolidate(store, parse_config(CONFIG).consolidation.rules)
        indexing.rebuild(copy, store)
    finally:
        store.close()
    return copy


def _hits(home, query: Term, database: str = "unikat") -> set[frozenset]:
    """The titles found, each as the set of its members' maintenance keys (ISNs may differ)."""
    catalog = Catalog(home)
    try:
        found = catalog.search(query, catalog.database(database))
        members = {}
        for isn, records in catalog.store.clusters(all_titles=True):
            members[isn] = frozenset((r.library, r.source_id) for r in records)
        return {members[isn] for isn in found.isns()}
    finally:
        catalog.close()


def _expected_clusters(loaded: dict[str, dict[str, str]]) -> set[frozenset]:
    """library -> {LCCN: record id}: members grouped by LCCN."""
    by_lccn = defaultdict(set)
    for library, records in loaded.items():
        for lccn, source_id in records.items():
            by_lccn[lccn].add((library, f"{library}-ILS", source_id))
    return {frozenset(group) for group in by_lccn.values()}


QUERIES = [Term("title", "the"), Term("any", "history"), Term("subject", "technology"),
           Term("year", "1990", structure=Structure.YEAR), Term("library", "B"), Term("library", "C")]


def _check_equal_to_rebuild(home, tmp_path):
    rebuilt = _rebuilt(home, tmp_path)
    assert _snapshot(rebuilt) == _snapshot(home)
    for query in QUERIES:
        assert _hits(rebuilt, query) == _hits(home, query), query


def test_three_libraries_load_update_delete_and_match_a_full_rebuild(picked, tmp_path):
    home = make_home(tmp_path / "home", CONFIG)
    loaded: dict[str, dict[str, str]] = {}
    for library in ("A", "B", "C"):
        records = list(picked[library].values())
        report = load(home, library, _write(records, tmp_path / f"{library}.mrc"))
        loaded[library] = {lccn: r.get("001").data for lccn, r in picked[library].items()}
        shared = sum(1 for lccn in picked[library] if any(lccn in loaded[o] for o in loaded if o != library))
        assert report.counts["new"] == len(records) and report.counts["merged"] == shared
        snapshot = _snapshot(home)
        assert set(snapshot) == _expected_clusters(loaded)
        for keys, (_master, _fields, holdings) in snapshot.items():
            assert sorted({h[0] for h in holdings}) == sorted({k[0] for k in keys})
        _check_equal_to_rebuild(home, tmp_path)

    # A title all three hold: one title in the union catalog, in each library's database.
    everyone = next(lccn for lccn in picked["A"] if lccn in picked["B"] and lccn in picked["C"])
    words = " ".join(picked["A"][everyone].get("245").get_subfields("a")).strip(" /:;.")
    title_query = Term("title", words, structure=Structure.PHRASE)
    assert len(_hits(home, title_query)) == 1
    for library in ("A", "B", "C"):
        assert _hits(home, title_query, library) == _hits(home, title_query)
    # B is the master of what it shares (priority 5); A's and C's record numbers are searchable.
    snapshot = _snapshot(home)
    cluster = next(k for k in snapshot if ("A", "A-ILS", loaded["A"][everyone]) in k)
    assert snapshot[cluster][0][0] == "B"
    assert len(_hits(home, Term("local_number", f"(C-ILS){loaded['C'][everyone]}"))) == 1

    # B updates: one shared title gets another subtitle (still the same title), another is now
    # dated ten years later (another edition: it leaves its cluster).
    shared_ab = [lccn for lccn in picked["B"] if lccn in picked["A"]]
    renamed, redated = shared_ab[0], shared_ab[1]
    changed = []
    for lccn in (renamed, redated):
        record = pymarc.Record(data=picked["B"][lccn].as_marc(), to_unicode=True, force_utf8=True)
        if lccn == renamed:
            record.add_ordered_field(Field(tag="500", indicators=Indicators(" ", " "),
                                           subfields=[Subfield("a", "Unikat consolidation test note.")]))
        else:
            data = record.get("008").data
            record.get("008").data = data[:7] + str(int(data[7:11]) + 10) + data[11:]
            for field in record.get_fields("260", "264"):
                field.subfields = [Subfield(s.code, s.value) for s in field.subfields if s.code != "c"]
                field.add_subfield("c", f"{int(data[7:11]) + 10}.")
        changed.append(record)
    report = load(home, "B", _write(changed, tmp_path / "B-update.mrc"))
    assert report.counts["updated"] == 2
    snapshot = _snapshot(home)
    expected = _expected_clusters(loaded)
    moved = ("B", "B-ILS", loaded["B"][redated])
    expected = {k - {moved} for k in expected} | {frozenset({moved})}
    assert set(snapshot) == expected
    assert len(_hits(home, Term("any", "unikat consolidation test note"))) == 1
    _check_equal_to_rebuild(home, tmp_path)

    # C deletes: one title all three hold (two stay), one shared with B (B's alone stays), one
    # only C holds (the title goes).
    only_c = next(lccn for lccn in picked["C"] if lccn not in picked["A"] and lccn not in picked["B"])
    shared_bc = next(lccn for lccn in picked["C"] if lccn in picked["B"] and lccn not in picked["A"])
    deletions = []
    for lccn in (everyone, shared_bc, only_c):
        record = pymarc.Record(data=picked["C"][lccn].as_marc(), to_unicode=True, force_utf8=True)
        record.leader = str(record.leader)[:5] + "d" + str(record.leader)[6:]
        deletions.append(record)
    report = load(home, "C", _write(deletions, tmp_path / "C-delete.mrc"))
    assert report.counts["deleted"] == 3
    for lccn in (everyone, shared_bc, only_c):
        del loaded["C"][lccn]
    expected = {k - {moved} for k in _expected_clusters(loaded)} | {frozenset({moved})}
    snapshot = _snapshot(home)
    assert set(snapshot) == expected
    c_holdings = [keys for keys, value in snapshot.items() if any(h[0] == "C" for h in value[2])]
    assert all(any(k[0] == "C" for k in keys) for keys in c_holdings)
    assert len(_hits(home, title_query)) == 1 and not _hits(home, title_query, "C")
    _check_equal_to_rebuild(home, tmp_path)


def _variant(record: pymarc.Record, control: str, isbns: list[str]) -> pymarc.Record:
    """A copy of `record` with its own 001, no LC numbers, and the given ISBNs."""
    copy = pymarc.Record(data=record.as_marc(), to_unicode=True, force_utf8=True)
    copy.remove_fields("001", "010", "020", "035")
    copy.add_ordered_field(Field(tag="001", data=control))
    for isbn in isbns:
        copy.add_ordered_field(Field(tag="020", indicators=Indicators(" ", " "), subfields=[Subfield("a", isbn)]))
    return copy


def test_a_record_that_matches_two_titles_that_do_not_match_joins_one_of_them(picked, tmp_path):
    """X (hardback ISBN) and Y (paperback ISBN) do not match; Z names both ISBNs and matches
    each. Z joins X only (the older title, as strong a link): no chain makes X and Y one title
    (issue 18). When X is deleted, Z is free to join Y: the two become one under the older number,
    and the other number answers as it."""
    base = picked["A"][next(iter(picked["A"]))]
    x = _variant(base, "X1", ["0-306-40615-2"])
    y = _variant(base, "Y1", ["0-19-852663-6"])
    z = _variant(base, "Z1", ["0-306-40615-2", "0-19-852663-6"])
    config = CONFIG
    for library in ("A", "B", "C"):
        config = config.replace(f'"{library}-ILS"', f'"{library}-ILS"\nholdings = "record"')
    home = make_home(tmp_path / "home", config)
    load(home, "A", _write([x], tmp_path / "x.mrc"))
    load(home, "B", _write([y], tmp_path / "y.mrc"))
    assert sorted(len(k) for k in _snapshot(home)) == [1, 1]
    report = load(home, "C", _write([z], tmp_path / "z.mrc"))
    assert report.counts["merged"] == 1
    snapshot = _snapshot(home)
    assert set(snapshot) == {frozenset({("A", "A-ILS", "X1"), ("C", "C-ILS", "Z1")}), frozenset({("B", "B-ILS", "Y1")})}
    store = CatalogStore.of(home)
    try:
        isn_x, isn_y = (store.find_record(lib, f"{lib}-ILS", sid).isn for lib, sid in (("A", "X1"), ("B", "Y1")))
        why = describe(store, isn_x, parse_config(CONFIG).consolidation.rules)
        assert [m["library"] for m in why["members"]] == ["A", "C"]
        assert len(why["pairs"]) == 1 and why["pairs"][0]["matched"]
        assert "pass 1: same isbn" in why["pairs"][0]["why"]
    finally:
        store.close()
    _check_equal_to_rebuild(home, tmp_path)
    x.leader = str(x.leader)[:5] + "d" + str(x.leader)[6:]
    load(home, "A", _write([x], tmp_path / "x-delete.mrc"))
    snapshot = _snapshot(home)
    assert set(snapshot) == {frozenset({("B", "B-ILS", "Y1"), ("C", "C-ILS", "Z1")})}
    store = CatalogStore.of(home)
    try:
        assert store.find_record("B", "B-ILS", "Y1").isn == isn_x and store.display(isn_y) is None
        assert corrections.redirect(store, isn_y) == isn_x
    finally:
        store.close()
    _check_equal_to_rebuild(home, tmp_path)


def test_a_store_from_before_consolidation_gets_its_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE records (id INTEGER PRIMARY KEY, isn INTEGER NOT NULL, library TEXT NOT NULL,
            source_system TEXT NOT NULL, source_id TEXT NOT NULL, marc BLOB NOT NULL, version TEXT NOT NULL DEFAULT '',
            quality INTEGER NOT NULL DEFAULT 0, load_id INTEGER, UNIQUE (library, source_system, source_id));
        CREATE TABLE loads (id INTEGER PRIMARY KEY, library TEXT NOT NULL, source_system TEXT NOT NULL,
            file TEXT NOT NULL, format TEXT NOT NULL, started TEXT, finished TEXT, read INTEGER NOT NULL DEFAULT 0,
            new INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, problems TEXT NOT NULL DEFAULT '{}');
    """)
    db.close()
    store = CatalogStore(path)
    try:
        assert "profile" in {row[1] for row in store.db.execute("PRAGMA table_info(records)")}
        assert "merged" in {row[1] for row in store.db.execute("PRAGMA table_info(loads)")}
    finally:
        store.close()
