"""`unikat harvest` against servers others wrote, then the `external` database with yaz-client.

- Zebra (`zebrasrv`, Z39.50 and SRU on one port, set up with bench/common.py's zebra.cfg and
  YAZ frontend config) over 300 of library A's sample records, started here;
- a second `unikat serve` over the sample catalog: SRU, Z39.50 and OAI-PMH (/oai).

Both engines (the harvesting home uses the `sample_home` parameter's engine). Also: a harvest
killed with SIGKILL half-way resumes where it stood; incremental harvests (OAI-PMH `from`, SRU
re-harvest with change detection) after a load changed one record and deleted another on the
remote server; `unikat adopt` copies an external record into library A's records, through
consolidation; retries with back-off against a server that is not there.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pymarc
import pytest
from conftest import SAMPLE_DATA, change_delivery, copy_home, engine_of, make_home
from test_yaz_client import REPO, Server, require, run_yaz_client, start_serving, stop_serving
from zebraserver import bench_common, start_zebra, stop_zebra

from index.home import Home
from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration

sickle = pytest.importorskip("sickle", reason="Sickle not installed (pip install Sickle)")
ZEBRA_RECORDS = 300


@dataclass
class Zebra:
    port: int
    process: subprocess.Popen
    records: Path

    @property
    def z3950(self) -> str:
        return f"tcp:127.0.0.1:{self.port}/Default"

    @property
    def sru(self) -> str:
        return f"http://127.0.0.1:{self.port}/Default"


@pytest.fixture(scope="module")
def zebra(tmp_path_factory) -> Zebra:
    """zebrasrv with Z39.50 and SRU on one port over the first 300 records of lib-a.mrc; its
    MARC21 rules are Zebra's stock marc21.abs plus ISBN (020) and ISSN (022) indexes."""
    directory = tmp_path_factory.mktemp("zebra")
    records = directory / "records.mrc"
    with (SAMPLE_DATA / "lib-a.mrc").open("rb") as source:
        reader = pymarc.MARCReader(source)
        records.write_bytes(b"".join(next(reader).as_marc() for _ in range(ZEBRA_RECORDS)))
    port, process = start_zebra(directory, records, abs_rules="melm 020$a\t\tISBN\nmelm 022$a\t\tISSN\n")
    yield Zebra(port, process, records)
    stop_zebra(process)


@pytest.fixture(scope="module")
def remote(sample_home, tmp_path_factory) -> Server:
    """A second `unikat serve` over a copy of the sample catalog (never changed by the tests)."""
    root = tmp_path_factory.mktemp("remote") / "home"
    copy_home(sample_home, root)
    running = start_serving(Home(root), workers=1)
    yield running
    stop_serving(running)


@pytest.fixture()
def home(request, sample_home, tmp_path) -> Home:
    """An empty catalog home (the sample configuration, the test's engine) that harvests
    without a politeness delay, 5 records a request."""
    text = (SAMPLE_DATA / "unikat.toml").read_text() + "\n[external]\ndelay = 0\npage_size = 5\n"
    return make_home(tmp_path / "harvester", text, engine=engine_of(request))


def unikat(home: Home, *arguments: str, status: int | None = 0, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "zserver.cli", "--home", str(home.root), *arguments], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    if status is not None:
        assert done.returncode == status, done.stdout + done.stderr
    return done


def harvested(done: subprocess.CompletedProcess) -> dict[str, int]:
    """The counts of a harvest's summary line."""
    line = next(line for line in done.stdout.splitlines() if line.startswith("harvested "))
    counts = {kind: int(number) for number, kind in re.findall(r"(\d+) (new|changed|unchanged|deleted|rejected)", line)}
    counts["records"] = int(re.search(r": (\d+) records", line)[1])
    return counts


def hits(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"Number of hits: (\d+)", output)]


def external_rows(home: Home, sql: str, *parameters) -> list[tuple]:
    db = sqlite3.connect(str(home.root / "external" / "catalog.sqlite"))
    try:
        return db.execute(sql, parameters).fetchall()
    finally:
        db.close()


def test_harvest_zebra_over_z3950_and_sru_then_search_external(zebra, home, tmp_path) -> None:
    require("yaz-client")
    zebra_server = Server("127.0.0.1", zebra.port, home, zebra.process)
    history, = hits(run_yaz_client(zebra_server, tmp_path, "find @attr 1=4 history", database="Default"))
    assert history > 5   # more than one page

    everything = harvested(unikat(home, "harvest", "--from", "z3950", zebra.z3950, "--all"))
    assert everything == {"records": ZEBRA_RECORDS, "new": ZEBRA_RECORDS, "changed": 0, "unchanged": 0, "deleted": 0,
                          "rejected": 0}
    titled = harvested(unikat(home, "harvest", "--from", "sru", zebra.sru, "--query", "dc.title=history"))
    assert titled["new"] == titled["records"] == history

    # each record keeps its source, the query and the time
    rows = external_rows(home, "SELECT source, protocol, url, query, count(*), min(harvested) FROM harvested"
                               " GROUP BY source ORDER BY source")
    assert [row[:5] for row in rows] == [
        (f"sru:{zebra.sru}", "sru", zebra.sru, "dc.title=history", history),
        (f"z3950:{zebra.z3950}", "z3950", zebra.z3950, "all", ZEBRA_RECORDS)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[5]) for row in rows)

    # again, unchanged: nothing written
    again = harvested(unikat(home, "harvest", "--from", "sru", zebra.sru, "--query", "dc.title=history",
                             "--incremental"))
    assert (again["unchanged"], again["new"], again["changed"], again["deleted"]) == (history, 0, 0, 0)

    unikat(home, "index")   # the union catalog's index (empty), so that serve does not build it first
    served = start_serving(home, workers=1)
    try:
        out = run_yaz_client(served, tmp_path, "find @attr 1=4 history", "format usmarc", "show 1",
                             "base unikat", "find @attr 1=4 history", database="external")
        assert hits(out) == [2 * history, 0]   # both sources' copies; none in the union catalog
        assert "[external]Record type: USmarc" in out and re.search(r"\n001 A\d{6}", out)
        with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/external?version=1.2&operation=searchRetrieve"
                                    "&query=dc.title%3Dhistory&maximumRecords=1", timeout=30) as answer:
            found = re.search(r"<(?:\w+:)?numberOfRecords>(\d+)<", answer.read().decode())
        assert int(found[1]) == 2 * history
    finally:
        stop_serving(served)


def test_harvest_isbns_from_zebra_and_unikat(zebra, remote, home, tmp_path) -> None:
    numbers = []
    with zebra.records.open("rb") as source:
        for record in pymarc.MARCReader(source, to_unicode=True, force_utf8=True):
            numbers += [value.split()[0] for field in record.get_fields("020") for value in field.get_subfields("a")][:1]
    chosen = numbers[:4]   # of four records (a record met under two numbers keeps the last query)
    (tmp_path / "isbns.txt").write_text("\n".join([*chosen, "# not in the catalogue:", "9783161484100"]) + "\n")
    for protocol, url in (("z3950", zebra.z3950), ("sru", f"http://{remote.host}:{remote.port}/unikat")):
        done = unikat(home, "harvest", "--from", protocol, url, "--isbns", str(tmp_path / "isbns.txt"), "--name", protocol)
        assert harvested(done)["rejected"] == 0
        rows = external_rows(home, "SELECT query FROM harvested WHERE source = ?", protocol)
        assert {query for (query,) in rows} == {f"isbn {number}" for number in chosen}, protocol
    refused = unikat(home, "harvest", "--from", "sru", zebra.sru, "--isbns", str(SAMPLE_DATA / "unikat.toml"), status=2)
    assert "is not an ISBN or ISSN" in refused.stderr


def test_harvest_unikat_over_sru_z3950_and_oai(remote, home, tmp_path) -> None:
    out = run_yaz_client(remote, tmp_path, "find @attr 1=4 history", "base C", "find @attr 1=4 history")
    history, history_c = hits(out)
    sru = harvested(unikat(home, "harvest", "--from", "sru", f"http://{remote.host}:{remote.port}/unikat",
                           "--query", "dc.title=history"))
    z3950 = harvested(unikat(home, "harvest", "--from", "z3950", f"{remote.host}:{remote.port}/unikat",
                             "--query", "@attr 1=4 history"))
    assert sru["new"] == z3950["new"] == history > 5

    endpoint = f"http://{remote.host}:{remote.port}/oai"
    listed = [header for header in sickle.Sickle(endpoint).ListIdentifiers(metadataPrefix="marc21", set="C",
                                                                             ignore_deleted=True)]
    oai = harvested(unikat(home, "harvest", "--from", "oai", endpoint, "--all", "--set", "C", "--name", "oai-C"))
    assert oai["new"] == len(listed) > 100   # through resumption tokens
    identifiers = {row[0] for row in external_rows(home, "SELECT remote_id FROM harvested WHERE source = 'oai-C'")}
    assert identifiers == {header.identifier for header in listed}
    assert external_rows(home, "SELECT DISTINCT set_spec, protocol FROM harvested WHERE source = 'oai-C'") == [("C", "oai")]

    unikat(home, "index")   # the union catalog's index (empty), so that serve does not build it first
    served = start_serving(home, workers=1)
    try:
        out = run_yaz_client(served, tmp_path, "find @attr 1=4 history", "base unikat", "find @attr 1=4 history",
                             database="external")
        assert hits(out) == [2 * history + history_c, 0]
    finally:
        stop_serving(served)


def _state(home: Home, source: str) -> dict | None:
    path = home.root / "external" / "catalog.sqlite"
    if not path.exists():
        return None
    try:
        rows = external_rows(home, "SELECT state FROM harvest_state WHERE source = ?", source)
    except sqlite3.OperationalError:   # the tables are being made
        return None
    return json.loads(rows[0][0]) if rows else None


def test_killed_harvest_resumes_where_it_stood(zebra, home) -> None:
    source = f"z3950:{zebra.z3950}"
    process = subprocess.Popen([sys.executable, "-m", "zserver.cli", "--home", str(home.root), "harvest", "--from",
                                "z3950", zebra.z3950, "--all", "--page-size", "10", "--delay", "0.2"], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = _state(home, source)
            if state is not None and state["position"] > 100:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    state = _state(home, source)
    assert state is not None and not state["complete"] and 100 < state["position"] < ZEBRA_RECORDS
    stored = external_rows(home, "SELECT count(*) FROM harvested")[0][0]
    assert stored == state["position"] - 1   # each page stored with the position after it

    done = unikat(home, "harvest", "--from", "z3950", zebra.z3950, "--all")
    assert f"resumed at record {state['position']}" in done.stdout
    assert harvested(done)["new"] == ZEBRA_RECORDS - stored
    assert external_rows(home, "SELECT count(*), count(DISTINCT remote_id) FROM harvested") == [(ZEBRA_RECORDS,
                                                                                                 ZEBRA_RECORDS)]
    assert _state(home, source)["complete"]
    unikat(home, "index")   # the (empty) union catalog's index: `unikat search` opens the catalog
    found = unikat(home, "search", "--db", "external", "@attr 1=4 history")
    assert int(found.stdout.split()[0]) > 0


def _wait_for_title(sru: str, words: str) -> None:
    url = f"{sru}?version=1.2&operation=searchRetrieve&maximumRecords=0&query=" + urllib.parse.quote(f'dc.title="{words}"')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=30) as answer:
            if re.search(r"numberOfRecords>[1-9]", answer.read().decode()):
                return
        time.sleep(0.2)
    pytest.fail(f"the server never found {words!r}")


def test_incremental_harvests_after_a_change(sample_home, home, tmp_path) -> None:
    root = tmp_path / "changing"
    copy_home(sample_home, root)
    changing = Home(root)
    # two titles about history that only library A holds: one is changed, one deleted
    store = CatalogStore.of(changing)
    rows = store.db.execute("SELECT r.isn, r.source_id, t.display FROM records r JOIN titles t ON t.isn = r.isn"
                      " WHERE r.library = 'A' AND r.isn IN (SELECT isn FROM records GROUP BY isn HAVING count(*) = 1)"
                      " ORDER BY r.isn").fetchall()
    store.close()
    singles = [(isn, source_id) for isn, source_id, display in rows
               if re.search(r"\bhistory\b", pymarc.Record(data=display, to_unicode=True, force_utf8=True)["245"].value(),
                            re.IGNORECASE)][:2]
    (changed_isn, changed_id), (_deleted_isn, deleted_id) = singles
    server = start_serving(changing, workers=1)
    try:
        sru = f"http://{server.host}:{server.port}/unikat"
        oai = f"http://{server.host}:{server.port}/oai"
        first_sru = harvested(unikat(home, "harvest", "--from", "sru", sru, "--query", "dc.title=history"))
        first_oai = harvested(unikat(home, "harvest", "--from", "oai", oai, "--all", "--set", "A"))
        assert first_sru["new"] > 5 and first_oai["new"] > 100

        change_delivery(tmp_path / "change.mrc", changed_id, deleted_id,
                        "History harvested again: a changed title")   # still about history
        unikat(changing, "load", "--library", "A", str(tmp_path / "change.mrc"))
        _wait_for_title(sru, "harvested again")   # the server has taken up the new index

        again_oai = harvested(unikat(home, "harvest", "--from", "oai", oai, "--all", "--set", "A", "--incremental"))
        assert again_oai["changed"] >= 1 and again_oai["deleted"] >= 1
        assert again_oai["records"] < 20   # only what changed, not the set's 1,000 items
        again_sru = harvested(unikat(home, "harvest", "--from", "sru", sru, "--query", "dc.title=history",
                                     "--incremental"))
        assert (again_sru["new"], again_sru["changed"], again_sru["deleted"]) == (0, 1, 1)
        assert again_sru["unchanged"] == first_sru["new"] - 2
    finally:
        stop_serving(server)
    titles = external_rows(home, "SELECT h.source, CAST(t.display AS TEXT) LIKE '%harvested again%' FROM harvested h"
                                 " JOIN titles t ON t.isn = h.isn WHERE h.remote_id IN (?, ?)",
                           changed_id, f"oai:unikat.example.org:{changed_isn}")
    assert sorted(titles) == [(f"oai:{oai}", 1), (f"sru:{sru}", 1)]
    assert "changes since 20" in unikat(home, "harvest", "--status").stdout.replace("next incremental from", "changes since")


def test_adopt_copies_an_external_record_into_a_library(zebra, home) -> None:
    harvested(unikat(home, "harvest", "--from", "z3950", zebra.z3950, "--query", '@attr 1=4 "university of wisconsin"'))
    unikat(home, "index")   # the (empty) union catalog's index: `unikat search` opens the catalog
    found = unikat(home, "search", "--db", "external", '@attr 1=4 "university of wisconsin"')
    isn = int(re.search(r"\[(\d+)\]", found.stdout)[1])
    assert isn > 1_000_000_000

    first = unikat(home, "adopt", str(isn), "--library", "A", "--location", "Stacks", "--call-number", "LD 1")
    title = int(re.search(r": title (\d+)", first.stdout)[1])
    shown = unikat(home, "show", str(title), "--format", "text").stdout
    remote_id = re.search(r"\n=001  (\S+)", shown)[1]
    assert f"\n=035  \\\\$a(z3950:{zebra.z3950}){remote_id}\n" in shown        # 035: the source's id
    note = re.search(r"\n=883  ..(.*)", shown)[1]   # 883: provenance, the query in $a (883 $x: a validity end date)
    assert re.fullmatch(r'\$acopy cataloging of a record harvested \(z3950, query @attr 1=4 "university of wisconsin"\)'
                        r"\$d\d{8}\$qz3950:\S+\$u\S+\$w\(z3950:\S+", note)
    assert re.findall(r"\n=852  .*", shown) == ["\n=852  \\\\$aA$bStacks$hLD 1"]   # A's holding only

    # into library C too: consolidation merges the copy with A's into one title
    second = unikat(home, "adopt", str(isn), "--library", "C")
    assert int(re.search(r": title (\d+)", second.stdout)[1]) == title
    assert "1 new (1 merged" in second.stdout
    union = unikat(home, "search", '@attr 1=4 "university of wisconsin"').stdout
    assert union.startswith("1 hits")

    refused = unikat(home, "adopt", "5", "--library", "A", status=2)
    assert "not an external record" in refused.stderr
    refused = unikat(home, "adopt", str(isn), "--library", "NOPE", status=2)
    assert "not in" in refused.stderr


def test_retries_with_back_off_and_refusals(home, tmp_path) -> None:
    port = bench_common().free_port()   # nothing listens there
    done = unikat(home, "harvest", "--from", "sru", f"http://127.0.0.1:{port}/x", "--query", "a", "--retries", "1",
                  status=1)
    assert "trying again in 1s (1 of 1)" in done.stderr and "gave up after 2 attempts" in done.stderr
    assert "the same command resumes" in done.stderr
    for arguments, reason in ((["--from", "sru", "http://x/", "--all", "--set", "S"], "--set and --until are for OAI-PMH"),
                              (["--from", "z3950", "x:1/D"], "nothing to harvest"),
                              (["--from", "oai", "http://x/oai", "--query", "q"], "OAI-PMH harvests a whole"),
                              (["--from", "gopher", "x", "--all"], "unknown protocol")):
        assert reason in unikat(home, "harvest", *arguments, status=2).stderr
