"""A load that dies half-way keeps what it committed, leaves the store consistent, and a re-run
finishes it: the same store, search-key files and hits as a load that never died."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_DATA, STORE, load, make_home
from test_pipeline import LC_CONFIG, hit_counts, key_files, lc_slice, store_contents

from index.loading import indexing
from index.loading import load as loading
from index.loading.forked import WorkerDied
from index.query import Term
from index.search import Catalog
from index.store.catalog import CatalogStore


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
    store = CatalogStore.of(home)
    db = store.db
    if store.backend == "sqlite":
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


def test_an_index_build_whose_worker_dies_fails_at_once_and_a_rerun_builds_it(tmp_path, monkeypatch):
    """`unikat index --full` parses titles in worker processes: one killed (the OOM killer, say)
    fails the build at once, and the next build gives the index and key files as before."""
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text())
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    before_keys, before_hits = key_files(home), hit_counts(home)
    store = CatalogStore.of(home)
    isns = [row[0] for row in store.db.execute("SELECT isn FROM titles ORDER BY isn")]
    assert len(isns) >= indexing._POOL_AT   # enough titles to start worker processes
    real = indexing._extract_all

    def dying(rows):
        if rows[-1][0] >= isns[len(isns) // 2]:   # a chunk past the middle: its worker is killed
            os.kill(os.getpid(), signal.SIGKILL)
        return real(rows)

    monkeypatch.setattr(indexing, "_extract_all", dying)
    try:
        with pytest.raises(WorkerDied, match="killed by SIGKILL"):
            indexing.rebuild(home, store, procs=2)
        # nothing left behind: Whoosh's writer tasks waited on their queue for good, and the
        # process's exit waited for them (a CI run hung so)
        assert not multiprocessing.active_children()
        monkeypatch.setattr(indexing, "_extract_all", real)
        assert indexing.rebuild(home, store, procs=2) == len(isns)
    finally:
        store.close()
    assert key_files(home) == before_keys
    assert hit_counts(home) == before_hits


def test_a_transaction_that_raises_leaves_nothing_behind(tmp_path):

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


# -- kill -9 ------------------------------------------------------------------------------------

def _newest_load(home) -> tuple[int, int, bool] | None:
    """(id, records read, finished) of the newest load in the store, read while it runs."""
    if not home.has_store():
        return None
    try:
        # read-only on SQLite: opening a CatalogStore writes (its schema), and would wait for
        # the load's write transactions, seeing the load only between two of them
        db = (sqlite3.connect(f"file:{home.store_path}?mode=ro", uri=True, timeout=0.1) if STORE == "sqlite"
              else CatalogStore.of(home).db)
    except Exception:   # the schema is still being made
        return None
    try:
        return db.execute("SELECT id, read, finished IS NOT NULL FROM loads ORDER BY id DESC LIMIT 1").fetchone()
    except Exception:   # the schema is still being made
        return None
    finally:
        db.close()


def _group_alive(group: int) -> bool:
    """Whether a process of process group `group` is still running (zombies count as gone)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _load(home, delivery: Path, kill_when: Callable[[float, int], bool] | None = None, *,
          victim: str = "main", seen: list[int] | None = None) -> int:
    """Run `unikat load` on `delivery`; with `kill_when`, SIGKILL its main process (its workers
    are left to notice), or with `victim` "worker" one of its worker processes, as soon as
    `kill_when(seconds since start, id of the load before)` holds. Returns the exit status (-9
    when the main process was killed); `seen` gets the children of the main process at the kill."""
    before = (_newest_load(home) or (0, 0, False))[0]
    command = [sys.executable, "-m", "zserver", "--home", str(home.root), "load", "--library", "LC", str(delivery)]
    with open(home.root / "out.log", "ab") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=log, start_new_session=True)
    started = time.monotonic()
    try:
        while kill_when is not None and process.poll() is None:
            if kill_when(time.monotonic() - started, before):
                if seen is not None:
                    seen.extend(_children(process.pid))
                if victim == "main":
                    process.send_signal(signal.SIGKILL)
                    break
                if workers := _children(process.pid):
                    os.kill(workers[0], signal.SIGKILL)
                    break
            time.sleep(0.01)
        status = process.wait(timeout=120)
        deadline = time.monotonic() + 15
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphans = _group_alive(process.pid)
    finally:
        if process.poll() is None or _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
    assert not orphans, "worker processes outlived the killed load"
    return status


def _running(home, before: int) -> tuple[int, bool] | None:
    """(records read, finished) of the load started after load `before`, once it exists."""
    newest = _newest_load(home)
    return (newest[1], bool(newest[2])) if newest and newest[0] > before else None


def _into_the_load(home, delay: float) -> Callable[[float, int], bool]:
    """A kill point `delay` seconds after the load started (its row is in the store)."""
    started: list[float] = []

    def kill_when(seconds: float, before: int) -> bool:
        if not started and _running(home, before) is not None:
            started.append(seconds)
        return bool(started) and seconds - started[0] >= delay

    return kill_when


def _writing_keys(home, since: float) -> bool:
    control = home.searchkeys_dir / "IC.tsv"
    return control.exists() and control.stat().st_mtime > since and control.stat().st_size > 0


def _assert_as_never_killed(home, reference) -> None:
    """`home`, killed and rerun, has the store, search-key files and hit counts of `reference`,
    loaded once and never killed."""
    assert store_contents(home) == store_contents(reference)
    assert key_files(home) == key_files(reference)
    assert hit_counts(home) == hit_counts(reference)


@pytest.mark.skipif(STORE != "sqlite", reason="compares row ids, which PostgreSQL's sequences skip past a killed"
                    " transaction; on PostgreSQL tests/integration/test_hosts.py kills a loading host mid-delivery")
def test_kill_9_at_any_point_then_rerun_gives_the_same_catalog(tmp_path):
    """`unikat load` of 3,000 LC records killed with SIGKILL again and again, each time further on
    (early in the first batch, just after a commit, late in the load, between the load and the
    index, while the search-key files are written; once a worker instead of the main process),
    then run to its end: the store,
    the search-key files and the hit counts are those of a load into a fresh home that was never
    killed."""
    delivery = lc_slice(3000, tmp_path / "lc-3000.mrc")
    reference = make_home(tmp_path / "reference", LC_CONFIG)
    assert _load(reference, delivery) == 0

    home = make_home(tmp_path / "killed", LC_CONFIG)
    kill_points = {
        "0.1 s into the load (the first batch under way)": _into_the_load(home, 0.1),
        "just after the first commit": lambda seconds, before: (
            (run := _running(home, before)) is not None and run[0] >= 1000),
        "late in the load": lambda seconds, before: (run := _running(home, before)) is not None and run[0] >= 2000,
        "between load and index": lambda seconds, before: (run := _running(home, before)) is not None and run[1],
        "writing the search-key files": lambda seconds, before: (
            (run := _running(home, before)) is not None and run[1] and _writing_keys(home, time.time() - seconds)),
    }
    for point, kill_when in kill_points.items():
        assert _load(home, delivery, kill_when) == -signal.SIGKILL, f"the load ended before the kill point: {point}"
        if point.startswith("0.1 s"):
            # a worker killed: the load fails at once (it does not wait for the lost batch) and
            # keeps what it committed
            assert _load(home, delivery, _into_the_load(home, 0.3), victim="worker") == 1
            assert b"died in the middle of the work (killed by SIGKILL)" in (home.root / "out.log").read_bytes()
    assert _load(home, delivery) == 0

    _assert_as_never_killed(home, reference)


@pytest.mark.skipif(STORE != "sqlite", reason="its kill points are timed for the SQLite pipeline's index phase")
def test_kill_9_while_whoosh_writes_the_index_leaves_no_process_behind(tmp_path):
    """Whoosh's index writer forks processes of its own (not the load's workers): a `kill -9` of
    the load while they write must end them too (they used to wait on their queue for ever,
    holding ~930 MB), and the next load still finishes the catalog."""
    delivery = lc_slice(6000, tmp_path / "lc-6000.mrc")
    home = make_home(tmp_path / "home", LC_CONFIG.replace('engine = "postings"', 'engine = "whoosh"'))
    staging = home.root / "whoosh.new"
    appeared: list[float] = []

    def writing_the_index(seconds: float, before: int) -> bool:
        if not appeared and staging.exists():
            appeared.append(seconds)
        return bool(appeared) and seconds - appeared[0] >= 0.5

    writers: list[int] = []
    assert _load(home, delivery, writing_the_index, seen=writers) == -signal.SIGKILL
    assert writers, "no writer process was running at the kill: nothing tested"
    for pid in writers:   # each of them gone (or a zombie), not only out of the group
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", pid
    assert _load(home, delivery) == 0
    catalog = Catalog(home)
    try:
        assert catalog.search(Term("library", "LC"), catalog.database("unikat")).size == catalog.store.count_titles()
    finally:
        catalog.close()


@pytest.mark.skipif(STORE != "sqlite", reason="compares row ids, which PostgreSQL's sequences skip past a killed"
                    " transaction")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the postings build forks run workers and merge parts only"
                    " with two cores or more (unikat's index procs: one per core)")
def test_kill_9_while_postings_runs_are_collected_or_merged_by_forked_processes_then_rerun(tmp_path):
    """The postings build of a first load forks processes that collect and spill its runs, then
    one that merges a part of the fields: a `kill -9` of the load while either works leaves no
    process behind, and a rerun gives the catalog and hit counts of a load never killed."""
    delivery = lc_slice(6000, tmp_path / "lc-6000.mrc")   # about 840,000 occurrences: several runs
    reference = make_home(tmp_path / "reference", LC_CONFIG)
    assert _load(reference, delivery) == 0

    home = make_home(tmp_path / "killed", LC_CONFIG)
    staging = home.root / "postings.new"
    kill_points = {
        "runs being collected": lambda seconds, before: any((staging / "runs").glob("run-*.counts")),
        # the forked part's own lexicon file: its process has begun
        "runs being merged": lambda seconds, before: (staging / "runs" / "lexicon-1.sqlite").exists(),
    }
    for point, kill_when in kill_points.items():
        children: list[int] = []
        assert _load(home, delivery, kill_when, seen=children) == -signal.SIGKILL, \
            f"the load ended before the kill point: {point}"
        assert children, f"no forked process was working at the kill ({point}): nothing tested"
    assert _load(home, delivery) == 0

    _assert_as_never_killed(home, reference)
