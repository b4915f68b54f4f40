"""`unikat serve --replica-of DSN`: a search host started on an empty directory takes the index a
catalog on PostgreSQL publishes, answers as the loading home does (yaz-client and SRU), and
takes up a newer index published while it serves."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA, TEST_CONFIG, load, make_home, postgres
from test_yaz_client import REPO, Server, _drain, _wait_for_port, require, run_yaz_client, stop_serving

from index.home import Home
from index.query import Term
from index.search import REFRESH_SECONDS, Catalog

pytestmark = pytest.mark.integration

POLL = 1   # seconds between the replica's looks at the store


def _title_hits(home: Home, word: str) -> int:
    catalog = Catalog(home)
    try:
        return catalog.search(Term("title", word), catalog.database("unikat")).size
    finally:
        catalog.close()


def _start_replica(root: Path, dsn: str) -> tuple[subprocess.Popen, list[str], threading.Event, dict]:
    process = subprocess.Popen(
        [sys.executable, "-m", "zserver.cli", "--home", str(root), "serve", "--replica-of", dsn,
         "--replica-poll", str(POLL), "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()
    found: dict = {"workers": 2}
    threading.Thread(target=_drain, args=(process.stderr, lines, ready, found), daemon=True).start()
    return process, lines, ready, found


def _ready(root: Path, process: subprocess.Popen, lines: list[str], ready: threading.Event, found: dict) -> Server:
    if not ready.wait(60) or "address" not in found:
        process.kill()
        pytest.fail("unikat serve --replica-of did not start:\n" + "\n".join(lines))
    host, port = found["address"]
    _wait_for_port(host, port)
    return Server(host, port, Home(root), process, lines)


def _sru_hits(server: Server, word: str) -> int:
    url = (f"http://{server.host}:{server.port}/unikat?version=1.2&operation=searchRetrieve&maximumRecords=0"
           f"&query=dc.title%3D{word}")
    with urllib.request.urlopen(url, timeout=30) as answer:
        return int(re.search(r"<(?:\w+:)?numberOfRecords>(\d+)<", answer.read().decode()).group(1))


def _z3950_hits(server: Server, directory: Path, word: str) -> int:
    output = run_yaz_client(server, directory, f"find @attr 1=4 {word}")
    return int(re.search(r"Number of hits: (\d+)", output).group(1))


def test_replica_server_follows_the_catalog(tmp_path):
    require("yaz-client")
    dsn = postgres().new_database()
    primary = make_home(tmp_path / "primary", TEST_CONFIG + f'\n[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n',
                        engine="postings")
    # started on an empty directory before anything is published: it waits, saying so, and
    # then writes its unikat.toml from the published one
    started = _start_replica(tmp_path / "replica", dsn)
    lines = started[1]
    deadline = time.monotonic() + 30
    while not any("no index published in the store yet" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (tmp_path / "replica" / "unikat.toml").exists(), "\n".join(lines)
    load(primary, "A", SAMPLE_DATA / "lib-a.mrc")
    before = _title_hits(primary, "history")

    server = _ready(tmp_path / "replica", *started)
    try:
        assert "replica: generation 1 taken" in "\n".join(server.log)
        assert _z3950_hits(server, tmp_path, "history") == before
        assert _sru_hits(server, "history") == before

        load(primary, "B", SAMPLE_DATA / "lib-b.mrc")
        load(primary, "C", SAMPLE_DATA / "lib-c.xml")
        after = _title_hits(primary, "history")
        assert after > before
        deadline = time.monotonic() + 10 * POLL + 10   # a few polls, and the workers' refresh
        while _z3950_hits(server, tmp_path, "history") != after and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(REFRESH_SECONDS + 0.5)   # each worker refreshes at most so often: both have by now
        for _ in range(4):   # connections land on either worker
            assert _z3950_hits(server, tmp_path, "history") == after, "\n".join(server.log)
            assert _sru_hits(server, "history") == after
        assert "replica: generation 3 taken" in "\n".join(server.log)
    finally:
        stop_serving(server)


def test_replica_home_of_another_store_is_refused(tmp_path):
    dsn = postgres().new_database()
    home = make_home(tmp_path / "home", TEST_CONFIG)
    done = subprocess.run([sys.executable, "-m", "zserver.cli", "--home", str(home.root), "serve", "--replica-of", dsn,
                           "--port", "0"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--replica-of needs the same dsn" in done.stderr
