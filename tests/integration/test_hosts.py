"""unikat on several hosts, built on this machine from network namespaces (`tests/netns.py`):
one PostgreSQL host holding the catalog store, reached over TCP, and loading hosts, each a
home of its own whose `[store]` names that server.

- Two loading hosts load one library's delivery in two halves at once: the store ends with every
  record once, in the titles one host loading the whole delivery forms.
- A loading host killed (kill -9) mid-delivery: the other loads the same delivery, and the store
  ends with every record exactly once (nothing lost, nothing doubled).
- Two search hosts (`unikat serve --replica-of`) answer yaz-client and SRU clients on a client
  host alike; one cut off from the network, the other serves on and takes up the next load, and
  the one cut off catches up once it is back.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymarc
import pytest
from conftest import REPO, SAMPLE_DATA, title_members
from netns import Network
from pgserver import PostgresServer
from test_yaz_client import require

from index.home import Home
from index.search import REFRESH_SECONDS
from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration

LIBRARIES = '[libraries.A]\nsource_system = "A-ILS"\nholdings = "record"\n' \
            '[libraries.B]\nsource_system = "B-ILS"\nholdings = "record"\n'


@pytest.fixture(scope="module")
def network():
    why = Network.available()
    if why:
        pytest.skip(why)
    network = Network.make(["db", "load1", "load2", "search1", "search2", "client"])
    try:
        yield network
    finally:
        network.remove()


@pytest.fixture(scope="module")
def database_host(network):
    db = network.hosts["db"]
    server = PostgresServer.start(inside=["ip", "netns", "exec", db.namespace], listen=db.address)
    if server is None:
        pytest.skip(f"PostgreSQL on the database host: {PostgresServer.unavailable}")
    yield server
    server.stop()


def _home(root: Path, dsn: str) -> Home:
    home = Home(root)
    home.init(LIBRARIES + f'\n[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n[index]\nengine = "postings"\n')
    return home


def _load_command(home: Home, library: str, delivery: Path) -> list[str]:
    return [sys.executable, "-m", "zserver", "--home", str(home.root), "load", "--library", library, str(delivery)]


def _halves(tmp_path: Path) -> tuple[Path, Path]:
    with (SAMPLE_DATA / "lib-a.mrc").open("rb") as source:
        records = list(pymarc.MARCReader(source, to_unicode=True, force_utf8=True))
    paths = tmp_path / "first-half.mrc", tmp_path / "second-half.mrc"
    middle = len(records) // 2
    for path, part in zip(paths, (records[:middle], records[middle:]), strict=True):
        path.write_bytes(b"".join(record.as_marc() for record in part))
    return paths


def _store(server: PostgresServer, home: Home) -> CatalogStore:
    """The store of a host's home, opened here (outside the hosts' network) by the server's socket."""
    return CatalogStore(home.store_path, server.dsn(home.config().store.dsn.rsplit("/", 1)[1]))


def _members(server: PostgresServer, home: Home) -> list[tuple[str, str]]:
    store = _store(server, home)
    try:
        return [tuple(row) for row in store.db.execute("SELECT library, source_id FROM records ORDER BY 1, 2")]
    finally:
        store.close()


def _titles(server: PostgresServer, home: Home) -> set[frozenset]:
    store = _store(server, home)
    try:
        return title_members(store)
    finally:
        store.close()


def test_two_loading_hosts_share_one_delivery(network, database_host, tmp_path):
    dsn = database_host.new_database()
    first, second = _home(tmp_path / "load1", dsn), _home(tmp_path / "load2", dsn)
    halves = _halves(tmp_path)
    loads = [network.hosts["load1"].start(*_load_command(first, "A", halves[0]), cwd=REPO),
             network.hosts["load2"].start(*_load_command(second, "A", halves[1]), cwd=REPO)]
    for process in loads:
        assert process.wait(timeout=600) == 0
    members = _members(database_host, first)
    assert len(members) == len(set(members)) == 1200   # lib-a.mrc: every record once

    alone = _home(tmp_path / "alone", database_host.new_database())
    assert network.hosts["load1"].run(*_load_command(alone, "A", SAMPLE_DATA / "lib-a.mrc"), cwd=REPO,
                                      timeout=600).returncode == 0
    assert _titles(database_host, first) == _titles(database_host, alone)


def _big_delivery(path: Path, copies: int) -> int:
    """lib-a.mrc `copies` times, each copy's records under numbers of their own: a delivery that
    takes several commits to store. Returns its record count."""
    with (SAMPLE_DATA / "lib-a.mrc").open("rb") as source:
        records = list(pymarc.MARCReader(source, to_unicode=True, force_utf8=True))
    with path.open("wb") as out:
        for copy in range(copies):
            for record in records:
                if copy:
                    record["001"].data = f"{record['001'].data.split('-')[0]}-{copy}"
                out.write(record.as_marc())
    return copies * len(records)


def test_a_loading_host_killed_mid_delivery_and_the_other_finishes_it(network, database_host, tmp_path):
    dsn = database_host.new_database()
    first, second = _home(tmp_path / "load1", dsn), _home(tmp_path / "load2", dsn)
    delivery = tmp_path / "big.mrc"
    total = _big_delivery(delivery, 4)
    loading = network.hosts["load1"].start(*_load_command(first, "A", delivery), cwd=REPO, start_new_session=True)
    deadline = time.monotonic() + 300
    watcher = None
    while time.monotonic() < deadline and loading.poll() is None:
        try:
            watcher = watcher or _store(database_host, first)
            if watcher.db.execute("SELECT count(*) FROM records").fetchone()[0]:
                break
        except Exception:   # the store's tables are still being made
            pass
        time.sleep(0.02)
    assert loading.poll() is None, "the load ended before it could be killed"
    os.killpg(loading.pid, signal.SIGKILL)   # the host dies: its process group, workers included
    loading.wait(timeout=60)
    watcher.close()
    killed_at = len(_members(database_host, first))
    assert 0 < killed_at < total

    finished = network.hosts["load2"].run(*_load_command(second, "A", delivery), cwd=REPO, timeout=600)
    assert finished.returncode == 0, finished.stderr
    members = _members(database_host, second)
    assert len(members) == len(set(members)) == total
    # what the killed host committed is kept, not stored again (a commit it sent as it died may
    # have landed after the count above)
    new, unchanged = (int(n) for n in re.search(r"(\d+) new .* (\d+) unchanged", finished.stdout).groups())
    assert unchanged >= killed_at and new + unchanged == total, finished.stdout


def _yaz_hits(network: Network, target: str, word: str, tmp_path: Path, timeout: float = 30) -> int | None:
    """The hit count yaz-client on the client host gets from `target` for a title word (None: no answer)."""
    script = tmp_path / f"yaz-{time.monotonic_ns()}.cmd"
    script.write_text(f"open tcp:{target}:2100/unikat\nfind @attr 1=4 {word}\n", encoding="utf-8")
    try:
        done = network.hosts["client"].run(require("yaz-client"), "-f", script, stdin=subprocess.DEVNULL,
                                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    found = re.search(r"Number of hits: (\d+)", done.stdout)
    return int(found.group(1)) if found else None


def _sru_hits(network: Network, target: str, word: str) -> int:
    url = (f"http://{target}:2100/unikat?version=1.2&operation=searchRetrieve&maximumRecords=0"
           f"&query=dc.title%3D{word}")
    done = network.hosts["client"].run(sys.executable, "-c", f"import urllib.request; print(urllib.request.urlopen("
                                       f"{url!r}, timeout=30).read().decode())", timeout=60)
    return int(re.search(r"<(?:\w+:)?numberOfRecords>(\d+)<", done.stdout).group(1))


def _load_hits(network: Network, home: Home, word: str) -> int:
    """What the loading host's own catalog finds (`unikat search` there)."""
    done = network.hosts["load1"].run(sys.executable, "-m", "zserver", "--home", home.root, "search",
                                      f"@attr 1=4 {word}", cwd=REPO, timeout=120)
    return int(re.match(r"(\d+) hits", done.stdout).group(1))


def _wait_for(condition, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := condition()) is not None:
            return value
        time.sleep(0.5)
    return None


def test_search_hosts_answer_alike_and_serve_on_when_one_is_cut_off(network, database_host, tmp_path):
    dsn = database_host.new_database()
    loader = _home(tmp_path / "load1", dsn)
    assert network.hosts["load1"].run(*_load_command(loader, "A", SAMPLE_DATA / "lib-a.mrc"), cwd=REPO,
                                      timeout=600).returncode == 0
    expected = _load_hits(network, loader, "history")
    assert expected > 0
    servers = []
    try:
        for name in ("search1", "search2"):
            host = network.hosts[name]
            log = (tmp_path / f"{name}.log").open("w")
            servers.append(host.start(sys.executable, "-m", "zserver", "--home", tmp_path / name, "serve",
                                      "--replica-of", dsn, "--replica-poll", "1", "--host", host.address,
                                      "--port", "2100", "--workers", "2", cwd=REPO, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=log))
        first, second = network.hosts["search1"].address, network.hosts["search2"].address
        assert _wait_for(lambda: _yaz_hits(network, first, "history", tmp_path)) == expected
        assert _wait_for(lambda: _yaz_hits(network, second, "history", tmp_path)) == expected
        assert _sru_hits(network, first, "history") == _sru_hits(network, second, "history") == expected

        network.hosts["search1"].cut()   # off the network: its clients get no answer, the other serves on
        assert _yaz_hits(network, first, "history", tmp_path, timeout=5) is None
        assert _yaz_hits(network, second, "history", tmp_path) == expected
        assert network.hosts["load1"].run(*_load_command(loader, "B", SAMPLE_DATA / "lib-b.mrc"), cwd=REPO,
                                          timeout=600).returncode == 0
        more = _load_hits(network, loader, "history")
        assert more > expected
        assert _wait_for(lambda: _yaz_hits(network, second, "history", tmp_path) == more or None)
        network.hosts["search1"].mend()   # back: it takes up the generation it missed
        assert _wait_for(lambda: _yaz_hits(network, first, "history", tmp_path) == more or None)
        # each of a host's workers takes up a new index at its first request REFRESH_SECONDS after
        # its last look: the worker that answered yaz-client has it, another may look only now
        time.sleep(REFRESH_SECONDS)
        assert _sru_hits(network, first, "history") == _sru_hits(network, second, "history") == more
    finally:
        network.hosts["search1"].mend()
        for server in servers:
            server.terminate()
            server.wait(timeout=60)
