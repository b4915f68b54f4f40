"""A load that dies half-way keeps what it committed, leaves the store consistent, and a re-run finishes it."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import SAMPLE_DATA, load, make_home

from index.loading import load as loading
from index.query import Term
from index.search import Catalog


def test_crash_mid_load_then_rerun(tmp_path, monkeypatch):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text())
    real_apply = loading._apply
    applied = 0

    def dying_apply(*args, **kwargs):
        nonlocal applied
        applied += 1
        if applied == 450:
            raise KeyboardInterrupt("power cut")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(loading, "BATCH", 100)
    monkeypatch.setattr(loading, "_apply", dying_apply)
    with pytest.raises(KeyboardInterrupt):
        load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    db = sqlite3.connect(home.store_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 400   # four whole batches
    assert db.execute("SELECT count(*) FROM titles WHERE isn NOT IN (SELECT isn FROM records)").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM pending").fetchone()[0] == 400   # none of them indexed yet
    db.close()

    monkeypatch.setattr(loading, "_apply", real_apply)
    report = load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    assert report.counts["unchanged"] == 400 and report.counts["new"] == 800
    catalog = Catalog(home)
    assert catalog.search(Term("library", "A"), catalog.database("unikat")).size == catalog.store.count_titles() == 1200
    assert catalog.store.pending() == ([], [])


def test_a_transaction_that_raises_leaves_nothing_behind(tmp_path):
    from index.store.catalog import CatalogStore

    store = CatalogStore(tmp_path / "catalog.sqlite")
    try:
        with store.transaction():
            kept = store.add_title(b"kept", "am")
        with pytest.raises(KeyboardInterrupt), store.transaction():
            store.add_title(b"lost", "am")
            raise KeyboardInterrupt("power cut")
        assert store.displays([kept, kept + 1]) == {kept: b"kept"}
        assert store.pending() == ([kept], [])
        with store.transaction():   # the store takes the next transaction as before
            store.mark_pending(kept + 5)
        assert store.pending() == ([kept, kept + 5], [])
    finally:
        store.close()
