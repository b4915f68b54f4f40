"""`unikat load --cluster`: the per-record work on the workers of a Dask cluster (a scheduler and
worker processes started here, as `dask scheduler` and `dask worker` would run on other hosts)
gives the same store as preparing on this host's cores; no cluster to reach is a clear refusal."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA, make_home

from index.home import Home
from index.store.catalog import CatalogStore
from zserver.cli import main

DASK = Path(sys.executable).with_name("dask")
LIBRARIES = '[libraries.A]\nsource_system = "A-ILS"\nholdings = "record"\n' \
            '[libraries.B]\nsource_system = "B-ILS"\nholdings = "record"\n'


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The address of a Dask scheduler with two single-threaded worker processes."""
    if not DASK.exists():
        pytest.skip(f"{DASK} absent (the Python package distributed is not installed)")
    directory = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    options = {"cwd": directory, "stdout": subprocess.DEVNULL, "stderr": (directory / "dask.log").open("wb")}
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--no-dashboard"], **options)
    workers = subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--nworkers", "2", "--no-dashboard",
                                "--death-timeout", "60"], **options)
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in (workers, scheduler):
            process.terminate()
            process.wait(timeout=30)


def _contents(home: Home) -> list[tuple]:
    store = CatalogStore.of(home)
    try:
        return store.db.execute(
            "SELECT r.library, r.source_id, r.marc, t.display, (SELECT count(*) FROM holdings h WHERE h.record_id = r.id)"
            " FROM records r JOIN titles t ON t.isn = r.isn ORDER BY r.library, r.source_id").fetchall()
    finally:
        store.close()


def test_a_load_on_a_dask_cluster_stores_what_a_local_load_does(cluster, tmp_path, capsys):
    local, spread = make_home(tmp_path / "local", LIBRARIES), make_home(tmp_path / "spread", LIBRARIES)
    for home, extra in ((local, []), (spread, ["--cluster", cluster])):
        for library, name in (("A", "lib-a.mrc"), ("B", "lib-b.mrc")):
            assert main(["--home", str(home.root), "load", "--library", library, *extra,
                         str(SAMPLE_DATA / name)]) == 0
    out = capsys.readouterr().out
    assert "records, 0 rejected" in out
    expected = _contents(local)
    assert len(expected) > 1000   # both deliveries, consolidated into shared titles
    started = time.monotonic()
    assert _contents(spread) == expected, f"compared in {time.monotonic() - started:.1f}s"


def test_no_scheduler_to_reach_is_refused_with_the_address(tmp_path, capsys):
    home = make_home(tmp_path / "home", LIBRARIES)
    address = f"tcp://127.0.0.1:{_free_port()}"
    status = main(["--home", str(home.root), "load", "--library", "A", "--cluster", address,
                   str(SAMPLE_DATA / "lib-a.mrc")])
    assert status == 2
    assert f"no Dask scheduler answers at {address}" in capsys.readouterr().err
