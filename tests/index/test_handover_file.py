"""Search keys a load hands over to the index phase wait in a side file of their own
(`index.store.handover`): the index phase takes them, and afterwards neither the side file nor
the store keeps the space they took."""

from __future__ import annotations

import sqlite3

from conftest import SAMPLE_DATA, load, make_home, sqlite_only

from index.store import handover
from index.store.catalog import CatalogStore

pytestmark = sqlite_only   # copies, checks or breaks the catalog.sqlite file itself


def _pages(path) -> tuple[int, int]:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return db.execute("PRAGMA page_count").fetchone()[0], db.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        db.close()


def test_handed_over_keys_are_taken_and_leave_no_space_behind(tmp_path, monkeypatch):
    home = make_home(tmp_path / "home", engine="postings")
    taken: list[int] = []
    offered_keys = CatalogStore.offered_keys
    monkeypatch.setattr(CatalogStore, "offered_keys",
                        lambda self, isns: taken.append(len(keys := offered_keys(self, isns))) or keys)
    report = load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    assert report.counts["new"] > 500
    assert sum(taken) > 0.9 * report.counts["new"], "the index phase takes the keys the load worked out"
    side = handover.side_path(home.store_path)
    db = sqlite3.connect(side)
    try:
        assert db.execute("SELECT count(*) FROM pending_keys").fetchone()[0] == 0
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 1   # full: the file shrinks as keys go
    finally:
        db.close()
    pages, free = _pages(side)
    assert pages <= 4, f"the side file keeps {pages} pages after the index phase"
    pages, free = _pages(home.store_path)
    assert free <= 0.02 * pages, f"{free} of the store's {pages} pages are free after a first load"
