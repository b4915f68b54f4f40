"""Backups: `unikat backup` while a real `unikat load` runs gives a consistent copy, which
`unikat restore` brings into a new, empty home (searchable: the index is rebuilt) and
`unikat backup --verify` checks; a backup killed with -9 half-way leaves the earlier ones intact;
a damaged backup is refused before anything in the home changes; rotation keeps N."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_DATA, load, make_home, shared, sqlite_only

from index import backup
from index.home import Home
from index.query import Term
from index.search import Catalog
from index.store.catalog import CatalogStore

pytestmark = sqlite_only   # copies, checks or breaks the catalog.sqlite file itself

CONFIG = (SAMPLE_DATA / "unikat.toml").read_text() + '\n[libraries.UVA]\nsource_system = "UVA"\nholdings = "record"\n'


def _unikat(home: Path, *args: str, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zserver", "--home", str(home), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zserver", "--home", str(home), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture()
def home(tmp_path) -> Home:
    home = make_home(tmp_path / "home", CONFIG, engine="postings")
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    return home


def _load_under_way(home: Home, process: subprocess.Popen) -> None:
    """Wait until `process` has committed its first batch."""
    while process.poll() is None:
        store = CatalogStore.of(home)
        try:
            if store.db.execute("SELECT count(*) FROM records WHERE library = 'UVA'").fetchone()[0]:
                return
        finally:
            store.close()
        time.sleep(0.02)
    pytest.fail(f"the load ended before it was seen under way: {process.communicate()}")


def test_backup_during_a_load_restores_into_a_new_home_and_verifies(home, tmp_path):
    delivery = shared("github/solrmarc+solrmarc/uva_001_2000.mrc")
    loading = _unikat(home.root, "load", "--library", "UVA", "--workers", "1", str(delivery))
    _load_under_way(home, loading)
    made = _run(home.root, "backup", str(tmp_path / "backups"), "--pause", "0.2")
    load_running = loading.poll() is None
    out, err = loading.communicate(timeout=600)
    assert loading.returncode == 0, err
    assert made.returncode == 0, made.stderr
    print(f"the load was {'still' if load_running else 'no longer'} running when the backup ended")

    (copy,) = (tmp_path / "backups").iterdir()
    manifest = backup.check(copy)   # checksums, integrity, counts
    counts = manifest["counts"]
    assert counts["records_per_library"]["A"] == 1200
    assert 0 < counts["records_per_library"]["UVA"] <= 2000
    # a snapshot of whole batches: the load's row says how far it was, the records agree
    db = sqlite3.connect(f"file:{copy / 'catalog.sqlite'}?mode=ro", uri=True)
    try:
        read, new, unchanged, rejected, updated = db.execute(
            "SELECT read, new, unchanged, rejected, updated FROM loads WHERE library = 'UVA'").fetchone()
        assert counts["records_per_library"]["UVA"] == new
        assert read == new + unchanged + rejected + updated
        assert db.execute("SELECT count(*) FROM records r LEFT JOIN titles t ON t.isn = r.isn"
                          " WHERE t.isn IS NULL").fetchone()[0] == 0
    finally:
        db.close()

    restored = tmp_path / "restored"   # a new, empty place
    done = _run(restored, "restore", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    assert f"{counts['titles']} titles" in done.stdout and "index rebuilt" in done.stdout
    catalog = Catalog(Home(restored))
    try:
        database = catalog.database("unikat")
        held = catalog.store.db.execute("SELECT count(DISTINCT isn) FROM records WHERE library = 'UVA'").fetchone()[0]
        assert catalog.search(Term("library", "UVA"), database).size == held > 0
        assert catalog.search(Term("library", "A"), database).size > 1000
    finally:
        catalog.close()

    verified = _run(home.root, "backup", "--verify", str(tmp_path / "backups"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified" in verified.stdout and "counts equal" in verified.stdout
    assert "sample titles searched by their title words: all found" in verified.stdout
    live = sqlite3.connect(f"file:{home.store_path}?mode=ro", uri=True)
    try:
        loaded = live.execute("SELECT count(*) FROM records WHERE library = 'UVA'").fetchone()[0]
    finally:
        live.close()
    if counts["records_per_library"]["UVA"] < loaded:   # the load went on after the snapshot
        assert "has changed since the backup" in verified.stdout
    else:   # on a quiet machine the load can end before the snapshot: then the counts agree
        assert "hit counts of 20 searches compared with" in verified.stdout and ": equal" in verified.stdout


def test_verify_compares_hit_counts_with_an_unchanged_home(home, tmp_path):
    assert _run(home.root, "backup", str(tmp_path / "b")).returncode == 0
    verified = _run(home.root, "backup", "--verify", str(tmp_path / "b"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"hit counts of 20 searches compared with {home.root}: equal" in verified.stdout


def test_kill_during_backup_leaves_earlier_backups_intact(home, tmp_path):
    dest = tmp_path / "backups"
    first = _run(home.root, "backup", str(dest))
    assert first.returncode == 0, first.stderr
    (earlier,) = dest.iterdir()
    before = {p.name: p.read_bytes() for p in earlier.iterdir()}

    slow = _unikat(home.root, "backup", str(dest), "--pause", "2")
    while not any(p.name.endswith(f".partial-{slow.pid}") and (p / "catalog.sqlite").exists() for p in dest.iterdir()):
        assert slow.poll() is None, slow.communicate()
        time.sleep(0.01)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait()
    assert sorted(p.name for p in dest.iterdir() if not p.name.startswith(".")) == [earlier.name]
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == before
    backup.check(earlier)

    again = _run(home.root, "backup", str(dest), "--keep", "1")
    assert again.returncode == 0, again.stderr
    assert "left by a backup that did not finish" in again.stderr
    (newest,) = dest.iterdir()   # the partial removed, the earlier one rotated out (keep 1)
    assert newest.name != earlier.name
    backup.check(newest)


def _damage(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_backup_is_refused_before_the_home_changes(home, tmp_path):
    assert _run(home.root, "backup", str(tmp_path / "b")).returncode == 0
    (copy,) = (tmp_path / "b").iterdir()
    target = make_home(tmp_path / "target", CONFIG, engine="postings")
    load(target, "B", SAMPLE_DATA / "lib-b.mrc")
    store_before = target.store_path.read_bytes()

    store = copy / "catalog.sqlite"
    _damage(store, store.stat().st_size - 5000)   # a byte in the last page
    refused = _run(target.root, "restore", str(copy))
    assert refused.returncode == 1
    assert "catalog.sqlite does not match its checksum in the manifest" in refused.stderr
    assert "nothing restored" in refused.stderr

    # the checksum made to fit the damage: now the store's own integrity check finds it
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["catalog.sqlite"]["sha256"] = hashlib.sha256(store.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _damage(store, 4096)   # the type byte of page 2, a b-tree page
    manifest["files"]["catalog.sqlite"]["sha256"] = hashlib.sha256(store.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    refused = _run(target.root, "restore", str(copy))
    assert refused.returncode == 1
    assert "nothing restored" in refused.stderr
    assert "integrity_check" in refused.stderr or "counts differ" in refused.stderr or "not a readable" in refused.stderr
    assert target.store_path.read_bytes() == store_before

    missing = _run(target.root, "restore", str(tmp_path / "nothing-here"))
    assert missing.returncode == 1 and "is no backup and holds none" in missing.stderr


def test_rotation_keeps_the_newest(home, tmp_path):
    for _ in range(3):
        assert _run(home.root, "backup", str(tmp_path / "b"), "--keep", "2").returncode == 0
    kept = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(kept) == 2 and all(name.startswith("unikat-backup-") for name in kept)


def test_a_full_disk_during_the_copy_is_one_line_and_leaves_nothing(home, tmp_path, monkeypatch):
    # SQLite's copy says "database or disk is full" as its own error, not an OSError: it had been a traceback
    def full(*_args, **_kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(backup, "_copy_store", full)
    with pytest.raises(backup.BackupError, match="failed: database or disk is full; earlier backups"):
        backup.backup(home, tmp_path / "b")
    assert list((tmp_path / "b").iterdir()) == []   # no partial directory left behind


def test_a_full_disk_during_a_restore_is_one_line(home, tmp_path, monkeypatch):
    made = backup.backup(home, tmp_path / "b")

    def full(*_args, **_kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(backup.snapshots, "restore", full)
    with pytest.raises(backup.BackupError, match="cannot restore into .*: database or disk is full"):
        backup.restore(Home(tmp_path / "new"), made.path)
