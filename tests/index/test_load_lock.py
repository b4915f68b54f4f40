"""One load at a time per home: two real `unikat load` processes started together both end well
and every title of both ends up in the index (the second waits, saying for whom), on each
engine; with --no-wait the second stops at once with status 75 and touches nothing."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from conftest import ENGINES, REPO, SAMPLE_DATA, load, make_home

from index.loading.lock import exclusive
from index.query import Term
from index.search import Catalog
from index.store.catalog import CatalogStore


def _start(home, library: str, delivery, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "zserver", "--home", str(home.root), "load", "--library", library,
               *extra, str(delivery)]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _started(home, first: subprocess.Popen) -> None:
    """Wait until `first` has its load under way (its row is in the store)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        if home.has_store():
            store = CatalogStore.of(home)
            try:
                if store.loads():
                    return
            except Exception:   # the schema is still being made
                pass
            finally:
                store.close()
        time.sleep(0.02)
    pytest.fail("the first load never started")


@pytest.mark.parametrize("engine", ENGINES)
def test_two_loads_at_once_both_end_indexed(tmp_path, engine):
    home = make_home(tmp_path / "home", engine=engine)
    first = _start(home, "A", SAMPLE_DATA / "lib-a.mrc")
    _started(home, first)
    second = _start(home, "B", SAMPLE_DATA / "lib-b.mrc")
    out_first, err_first = first.communicate(timeout=300)
    out_second, err_second = second.communicate(timeout=300)
    assert first.returncode == 0, err_first.decode()
    assert second.returncode == 0, err_second.decode()
    assert b"Traceback" not in err_first + err_second
    assert b"unikat: waiting for the load running since " in err_second
    assert f"(pid {first.pid})".encode() in err_second

    catalog = Catalog(home)
    try:
        assert catalog.store.pending() == ([], [])
        database = catalog.database("unikat")
        found = {library: catalog.search(Term("library", library), database).size for library in "AB"}
        assert found["A"] > 1000 and found["B"] > 1000
        assert {load["library"] for load in catalog.store.loads()} == {"A", "B"}
    finally:
        catalog.close()


def test_no_wait_stops_the_second_load_at_once(tmp_path):
    home = make_home(tmp_path / "home", engine="postings")
    first = _start(home, "A", SAMPLE_DATA / "lib-a.mrc")
    _started(home, first)
    second = _start(home, "B", SAMPLE_DATA / "lib-b.mrc", "--no-wait")
    _out, err = second.communicate(timeout=60)
    still_running = first.poll() is None
    first.communicate(timeout=300)
    assert still_running, "the first load ended before the second was refused: nothing tested"
    assert second.returncode == 75, err.decode()
    assert err.decode().startswith("unikat: the load running since ") and f"(pid {first.pid})" in err.decode()
    assert "--no-wait" in err.decode() and b"Traceback" not in err
    store = CatalogStore.of(home)
    try:
        assert [load["library"] for load in store.loads()] == ["A"]
    finally:
        store.close()


def test_index_build_takes_the_same_lock_and_a_killed_load_releases_it(tmp_path):
    home = make_home(tmp_path / "home", engine="postings")
    first = _start(home, "A", SAMPLE_DATA / "lib-a.mrc")
    _started(home, first)
    index = subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "index", "--full", "--no-wait"],
                           cwd=REPO, capture_output=True, timeout=60)
    running = first.poll() is None
    first.kill()   # kill -9: the kernel drops its lock
    first.communicate(timeout=60)
    assert running, "the load ended before the index build was refused: nothing tested"
    assert index.returncode == 75, index.stderr.decode()
    assert f"(pid {first.pid})" in index.stderr.decode()
    again = _start(home, "A", SAMPLE_DATA / "lib-a.mrc", "--no-wait")
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()


def _clusters(home, *words: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "clusters", *words],
                          cwd=REPO, capture_output=True, timeout=300)


def test_a_cluster_correction_waits_for_the_load(tmp_path):
    # a correction writes titles and the index: during a load's index phase it had broken both builds.
    # The test holds the load lock itself, as a load does, so no race decides what is tested.
    home = make_home(tmp_path / "home", engine="postings")
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    with exclusive(home):
        refused = _clusters(home, "pin", "1", "--no-wait")
        waiting = subprocess.Popen([sys.executable, "-m", "zserver", "--home", str(home.root), "clusters", "pin", "1",
                                    "--note", "after the load"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.0)
        still_waiting = waiting.poll() is None   # it cannot end while the lock is held
    _out, err = waiting.communicate(timeout=300)
    assert refused.returncode == 75 and "not started" in refused.stderr.decode(), refused.stderr.decode()
    assert still_waiting, err.decode()
    assert waiting.returncode == 0 and b"Traceback" not in err, err.decode()
    store = CatalogStore.of(home)
    try:
        assert store.pending() == ([], [])   # the correction's index update ran
    finally:
        store.close()
