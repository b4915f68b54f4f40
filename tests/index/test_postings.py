"""The posting-array engine (index.engines.postings): updates as segments, their merge, and the array
operations phrases and proximity rest on."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import SAMPLE_DATA, load, make_home
from test_engines import QUERIES

from index.engines.postings import writer
from index.engines.postings.evaluate import _spans_within, difference, intersect, isns_of, union
from index.engines.postings.layout import POSITION_BITS, connect
from index.loading import indexing
from index.search import Catalog
from index.store.catalog import CatalogStore
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

LOADS = (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml"), ("ZDB", "ejournals.pica"))


def _answers(catalog: Catalog) -> dict[str, list[int]]:
    union_db = catalog.database("unikat")
    return {pqf: sorted(catalog.search(rpn_to_query(parse_pqf(pqf)), union_db).isns()) for pqf in QUERIES}


def _segments(home) -> int:
    db = connect(home.root / "postings", readonly=True)
    try:
        return db.execute("SELECT count(*) FROM segments").fetchone()[0]
    finally:
        db.close()


@pytest.fixture(scope="module")
def updated_home(tmp_path_factory):
    """The sample loaded library by library: later loads are updates (new segments)."""
    home = make_home(tmp_path_factory.mktemp("postings"), (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    for library, name in LOADS:
        load(home, library, SAMPLE_DATA / name)
    return home


def test_updates_add_segments_and_answer_as_a_full_rebuild(updated_home):
    assert _segments(updated_home) > 1, "the later loads were expected to be updates"
    catalog = Catalog(updated_home)
    after_updates = _answers(catalog)
    scan_after_updates = catalog.scan("title", "history", count=10, preferred_position=3)
    catalog.close()
    store = CatalogStore.of(updated_home)
    indexing.rebuild(updated_home, store)
    store.close()
    assert _segments(updated_home) == 1
    catalog = Catalog(updated_home)
    assert _answers(catalog) == after_updates
    assert catalog.scan("title", "history", count=10, preferred_position=3) == scan_after_updates
    assert sum(map(len, after_updates.values())) > 0


def test_an_open_catalog_sees_deletions_after_refresh(tmp_path):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    catalog = Catalog(home)
    query = rpn_to_query(parse_pqf("@attr 1=4 history"))
    before = catalog.search(query, catalog.database("unikat")).size
    assert before > 0
    import pymarc

    with open(SAMPLE_DATA / "lib-a.mrc", "rb") as handle, open(tmp_path / "delete.mrc", "wb") as out:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            if "history" in (record.title or "").lower():
                record.leader = str(record.leader)[:5] + "d" + str(record.leader)[6:]
                out.write(record.as_marc())
                break
    load(home, "A", tmp_path / "delete.mrc")
    catalog.refresh(now=float("inf"))
    assert catalog.search(query, catalog.database("unikat")).size == before - 1


def test_too_many_segments_are_merged_by_a_rebuild(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "MAX_SEGMENTS", 2)
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    counts = []
    for library, name in LOADS:
        load(home, library, SAMPLE_DATA / name)
        counts.append(_segments(home))
    assert max(counts) <= 2
    assert any(later < earlier for earlier, later in zip(counts, counts[1:], strict=False)), counts   # merged once


def _codes(*pairs: tuple[int, int]) -> np.ndarray:
    return np.array(sorted((isn << POSITION_BITS) | position for isn, position in pairs), dtype=np.int64)


def test_set_operations_on_sorted_isn_arrays():
    left, right = np.array([1, 3, 5, 9], dtype=np.int64), np.array([3, 4, 9, 12], dtype=np.int64)
    assert intersect(left, right).tolist() == [3, 9]
    assert union(left, right).tolist() == [1, 3, 4, 5, 9, 12]
    assert difference(left, right).tolist() == [1, 5]
    assert difference(right, left).tolist() == [4, 12]
    assert intersect(left, np.zeros(0, dtype=np.int64)).tolist() == []


def _followed_within(first: np.ndarray, second: np.ndarray, distance: int) -> np.ndarray:
    """ISNs where a code of `second` follows one of `first` by 1 … distance positions (one-word spans)."""
    return _spans_within(first, 1, second, 1, distance)


def test_proximity_counts_positions_within_one_title_only():
    first = _codes((1, 0), (2, 5), (3, 7))
    second = _codes((1, 2), (2, 4), (4, 0))
    assert _followed_within(first, second, 2).tolist() == [1]     # title 2: second comes before
    assert _followed_within(second, first, 1).tolist() == [2]
    assert _followed_within(first, second, 1).tolist() == []
    assert isns_of(_codes((1, 0), (1, 3), (7, 2))).tolist() == [1, 7]


def test_an_open_catalog_takes_up_a_full_rebuild(tmp_path):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    catalog = Catalog(home)
    query = rpn_to_query(parse_pqf("@attr 1=4 history"))
    before = catalog.search(query, catalog.database("unikat")).isns()
    store = CatalogStore.of(home)
    indexing.rebuild(home, store)   # a new directory replaces the one the catalog has open
    store.close()
    catalog.refresh(now=float("inf"))
    assert catalog.engine._inode == os.stat(home.root / "postings" / "lexicon.sqlite").st_ino   # reopened
    assert catalog.search(query, catalog.database("unikat")).isns() == before
    assert catalog.scan("title", "history", count=3)[0]
