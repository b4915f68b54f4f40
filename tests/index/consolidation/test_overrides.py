"""Librarians' overrides (split, merge, keep-apart, pin, undo) and stable title numbers.

Libraries A and B deliver the same six real LC records (sample_data, A's 800-805 are B's 0-5), so
the catalog has six titles of two records each. A librarian splits one, merges two others and
keeps two apart; every override must survive a reload of the same delivery, a changed delivery
and a full rebuild, and old numbers must keep answering (search by ISN, record fetch).
"""

from __future__ import annotations

from pathlib import Path

import pymarc
import pytest
from conftest import SAMPLE_DATA, copy_home, load, make_home
from pymarc import Field, Indicators, Subfield

from index.config import parse_config
from index.consolidation import overrides
from index.loading import indexing
from index.query import Structure, Term
from index.records.marc import read_marc21
from index.search import Catalog
from index.store import corrections
from index.store.catalog import CatalogStore
from index.titles import reconsolidate, refresh_title

CONFIG = """
[catalog]
database = "unikat"
[libraries.A]
source_system = "A-ILS"
[libraries.B]
source_system = "B-ILS"
"""
RULES = parse_config(CONFIG).consolidation.rules


def _records(name: str, numbers: range) -> list[pymarc.Record]:
    items = list(read_marc21((SAMPLE_DATA / name).read_bytes()))
    return [items[n].record for n in numbers]


def _write(records, path: Path) -> Path:
    path.write_bytes(b"".join(r.as_marc() for r in records))
    return path


def _shape(home) -> dict[int, frozenset]:
    """ISN -> its members' (library, record id)."""
    store = CatalogStore.of(home)
    try:
        return {isn: frozenset((m.library, m.source_id) for m in members)
                for isn, members in store.clusters(all_titles=True)}
    finally:
        store.close()


def _do(home, action: str, isns: list[int], records: list[int] = ()) -> int:
    store = CatalogStore.of(home)
    try:
        with store.transaction():
            number, touched = overrides.apply(store, RULES, action, isns, list(records), "test", "tester")
            for isn in touched:
                if store.display(isn) is not None:
                    refresh_title(store, isn)
        indexing.update(home, store)
        return number
    finally:
        store.close()


def _isn_hits(home, isn: int) -> list[int]:
    catalog = Catalog(home)
    try:
        return catalog.search(Term("isn", str(isn), structure=Structure.KEY), catalog.database("unikat")).isns()
    finally:
        catalog.close()


@pytest.fixture
def home(tmp_path):
    home = make_home(tmp_path / "home", CONFIG)
    load(home, "A", _write(_records("lib-a.mrc", range(800, 806)), tmp_path / "a.mrc"))
    load(home, "B", _write(_records("lib-b.mrc", range(0, 6)), tmp_path / "b.mrc"))
    return home


def test_overrides_survive_reloads_and_a_rebuild_and_old_numbers_keep_answering(home, tmp_path):
    shape = _shape(home)
    assert len(shape) == 6 and all({lib for lib, _ in keys} == {"A", "B"} for keys in shape.values())
    t = sorted(shape)
    b_of = {isn: next(sid for lib, sid in keys if lib == "B") for isn, keys in shape.items()}
    store = CatalogStore.of(home)
    split_record = store.find_record("B", "B-ILS", b_of[t[0]]).id
    store.close()

    _do(home, "split", [t[0]], [split_record])
    merge = _do(home, "merge", [t[2], t[1]])
    _do(home, "keep-apart", [t[3], t[4]])
    _do(home, "pin", [t[5]])
    after = _shape(home)
    # The split: A's record keeps the number (the parts are equal: the older member's part);
    # B's record is a title of its own.
    assert after[t[0]] == shape[t[0]] - {("B", b_of[t[0]])}
    assert frozenset({("B", b_of[t[0]])}) in after.values()
    # The merge: the older number holds all four records, the other answers as it.
    assert after[t[1]] == shape[t[1]] | shape[t[2]] and t[2] not in after
    store = CatalogStore.of(home)
    try:
        assert corrections.redirect(store, t[2]) == t[1]
    finally:
        store.close()
    assert _isn_hits(home, t[2]) == [t[1]] and _isn_hits(home, t[1]) == [t[1]]
    catalog = Catalog(home)
    try:
        assert catalog.record(t[2]).isn == t[1]
    finally:
        catalog.close()

    # The same delivery again, then a changed one (B's split-off record and a merged one get a
    # note): nothing moves back.
    load(home, "B", _write(_records("lib-b.mrc", range(0, 6)), tmp_path / "b-again.mrc"))
    assert _shape(home) == after
    changed = []
    for record in _records("lib-b.mrc", range(0, 3)):
        record.add_ordered_field(Field(tag="500", indicators=Indicators(" ", " "),
                                       subfields=[Subfield("a", "Changed by a later delivery.")]))
        record.remove_fields("005")
        record.add_ordered_field(Field(tag="005", data="20260101000000.0"))
        changed.append(record)
    report = load(home, "B", _write(changed, tmp_path / "b-changed.mrc"))
    assert report.counts["updated"] == 3
    assert _shape(home) == after
    store = CatalogStore.of(home)
    try:
        statuses = {o.action: overrides.status(store, RULES, o) for o in corrections.overrides(store)}
        assert len(statuses) == 4
        assert any("changed since" in p for p in statuses["split"].problems)
        assert not statuses["keep-apart"].problems and not statuses["pin"].problems
    finally:
        store.close()

    # A full rebuild of a copy forms the same titles under the same numbers.
    copy = copy_home(home, tmp_path / "copy")
    store = CatalogStore.of(copy)
    try:
        with store.transaction():
            counts = reconsolidate(store, RULES)
        assert counts["titles_changed"] == 0
    finally:
        store.close()
    assert _shape(copy) == after

    # Undoing the merge gives the retired number back to its records.
    store = CatalogStore.of(home)
    try:
        with store.transaction():
            touched = overrides.undo(store, RULES, merge, "tester")
            for isn in touched:
                refresh_title(store, isn)
        indexing.update(home, store)
        assert corrections.redirect(store, t[2]) is None
        with pytest.raises(overrides.OverrideError, match="already undone"):
            overrides.undo(store, RULES, merge, "tester")
    finally:
        store.close()
    undone = _shape(home)
    assert undone[t[1]] == shape[t[1]] and undone[t[2]] == shape[t[2]]
    assert _isn_hits(home, t[2]) == [t[2]]


def test_a_pinned_title_takes_no_new_record(home, tmp_path):
    shape = _shape(home)
    t = sorted(shape)
    _do(home, "pin", [t[0]])
    # C-like third library: A's record of title t[0] delivered again under another library.
    config = home.config_path.read_text() + '\n[libraries.C]\nsource_system = "C-ILS"\nholdings = "record"\n'
    home.config_path.write_text(config)
    record = _records("lib-a.mrc", range(800, 801))[0]
    record.get("001").data = "C-COPY"
    load(home, "C", _write([record], tmp_path / "c.mrc"))
    after = _shape(home)
    assert after[t[0]] == shape[t[0]]
    assert frozenset({("C", "C-COPY")}) in after.values()


def test_refusals_say_why(home):
    t = sorted(_shape(home))
    store = CatalogStore.of(home)
    try:
        for action, isns, records, why in [
            ("split", [t[0]], [], "split takes one title and the records"),
            ("split", [t[0]], [999999], "not members of title"),
            ("merge", [t[0]], [], "two or more different titles"),
            ("keep-apart", [t[0], t[0]], [], "two different titles"),
            ("pin", [999999], [], "no title 999999"),
            ("shuffle", [t[0]], [], "unknown action"),
        ]:
            with pytest.raises(overrides.OverrideError, match=why):
                overrides.apply(store, RULES, action, isns, records, "", "tester")
    finally:
        store.close()
