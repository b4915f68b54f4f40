"""`unikat load` into a home it cannot write to (a read-only file system, a full disk) says so in
one line and exits 1, the store as it was: no SQLite traceback.

A read-only home is a read-only bind mount and a full disk a small tmpfs, each in a mount namespace
of its own (`unshare -rm`: nothing mounted outside the test), since running as root makes chmod
ineffective; without user namespaces the test is skipped with the reason printed."""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_DATA, load, make_home, sqlite_only

pytestmark = sqlite_only   # copies, checks or breaks the catalog.sqlite file itself


def _in_namespace(script: str) -> subprocess.CompletedProcess:
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1): cannot make a read-only or full file system without privileges")
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True)
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip()
        print(f"skipped: no user and mount namespaces here ({reason})")
        pytest.skip(f"no user and mount namespaces here ({reason})")
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True, timeout=300)


def _unikat(home: Path, *args: str) -> str:
    return shlex.join([sys.executable, "-m", "zserver", "--home", str(home), *args])


def _records(home: Path) -> list:
    db = sqlite3.connect(home / "catalog.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return db.execute("SELECT library, count(*) FROM records GROUP BY library").fetchall()
    finally:
        db.close()


def test_load_into_a_read_only_home(tmp_path):
    home = make_home(tmp_path / "home")
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    before = _records(home.root)
    root = shlex.quote(str(home.root))
    done = _in_namespace(f"mount --bind {root} {root} && mount -o remount,ro,bind {root} && "
                         + _unikat(home.root, "load", "--library", "B", str(SAMPLE_DATA / "lib-b.mrc")))
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.splitlines()[-1].startswith(f"unikat: cannot write to {home.root}")
    assert "read-only file system" in err and "Traceback" not in err
    assert _records(home.root) == before


def test_load_onto_a_full_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    home = disk / "home"
    config = shlex.quote(make_home(tmp_path / "config").config_path.read_text())
    # 3 MB: room for the home and a few batches, not for 1,200 records and their index
    done = _in_namespace(f"mount -t tmpfs -o size=3m tmpfs {shlex.quote(str(disk))} && mkdir {home} && "
                         f"printf %s {config} > {home}/unikat.toml && "
                         + _unikat(home, "load", "--library", "A", str(SAMPLE_DATA / "lib-a.mrc"))
                         + f" ; status=$? ; cp {home}/catalog.sqlite* {tmp_path}/ ; exit $status")
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.splitlines()[-1].startswith("unikat: cannot write to ") and "disk full" in err, err
    assert "Traceback" not in err
    assert _records(tmp_path) == []   # the batch under way rolled back, the store consistent
