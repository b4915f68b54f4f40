"""yaz-client's `update insert|replace|delete ID <file` against a running `unikat serve` (two
workers) on both engines: library A's user inserts, replaces and deletes A's record, each
followed by searches (with fresh connections, whichever worker takes them) until they show the
effect; library B's user is refused A's record, an anonymous user any update, and a record
that fails the loader's checks is refused with why. Prints the seconds from the update's answer
to the first search that shows it. Skips with a printed reason when yaz-client is not installed."""

from __future__ import annotations

import re
import time

import pytest
from test_yaz_client import require, run_yaz_client, start_serving, stop_serving
from updatedata import A_RECORD, iso2709, marcxml, record, update_home

from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration

PATIENCE = 120   # seconds a search may take to show an update before the test fails (no timing asserted)


@pytest.fixture(scope="module")
def server(sample_home, tmp_path_factory):
    require("yaz-client")
    home = update_home(sample_home, tmp_path_factory.mktemp("es-update-yaz") / "home")
    running = start_serving(home, workers=2)
    yield running
    stop_serving(running)


def yaz(server, tmp_path, *commands, user=None):
    before = (f"auth {user} secret",) if user else ()
    return run_yaz_client(server, tmp_path, *commands, before_open=before)


def hits(server, tmp_path, query: str) -> int:
    output = yaz(server, tmp_path, f"find {query}")
    found = re.search(r"Number of hits: (\d+)", output)
    assert found, output
    return int(found.group(1))


def until_hits(server, tmp_path, query: str, wanted: int) -> float:
    """Search (a new connection each time) until `query` finds `wanted` titles; the seconds it took."""
    started = time.monotonic()
    while (found := hits(server, tmp_path, query)) != wanted:
        assert time.monotonic() - started < PATIENCE, f"{query}: still {found} hits, not {wanted}"
        time.sleep(0.1)
    return time.monotonic() - started


def shown_first(server, tmp_path, query: str) -> str:
    """`find` and `show 1` in one connection, again until that connection's worker has a hit:
    each worker takes the index up at its own refresh, so one that found it says nothing of the next."""
    started = time.monotonic()
    while re.search(r"Number of hits: 0\b", shown := yaz(server, tmp_path, f"find {query}", "show 1")):
        assert time.monotonic() - started < PATIENCE, shown
        time.sleep(0.1)
    return shown


def answer(output: str) -> str:
    parts = output.split("Got extended services response")
    assert len(parts) == 2, output
    return parts[1]


def test_init_announces_extended_services(server, tmp_path):
    output = yaz(server, tmp_path, user="alib")
    assert re.search(r"Options: .*extendedServices", output), output


def test_owner_inserts_replaces_and_deletes(server, tmp_path, capsys):
    first, second = tmp_path / "first.mrc", tmp_path / "second.xml"
    first.write_bytes(iso2709(record("UPD-20", "Mohnstrudel aus Gelsenkirchen")))
    second.write_bytes(marcxml(record("UPD-20", "Apfelstrudel aus Gelsenkirchen")))
    old, new = "@attr 1=4 mohnstrudel", "@attr 1=4 apfelstrudel"
    assert hits(server, tmp_path, old) == hits(server, tmp_path, new) == 0
    seconds = {}

    done = answer(yaz(server, tmp_path, f"update insert UPD-20 <{first}", user="alib"))
    assert "Status: done" in done and re.search(r"Target Reference: A:UPD-20 isn \d+ new", done), done
    seconds["insert"] = until_hits(server, tmp_path, old, 1)
    shown = shown_first(server, tmp_path, old)
    assert "001 UPD-20" in shown and "Mohnstrudel aus Gelsenkirchen" in shown and "852    $a A $j A/UPD-20" in shown

    done = answer(yaz(server, tmp_path, f"update replace UPD-20 <{second}", user="alib"))
    assert "Status: done" in done and re.search(r"A:UPD-20 isn \d+ updated", done), done
    seconds["replace"] = until_hits(server, tmp_path, new, 1)
    until_hits(server, tmp_path, old, 0)   # each worker takes the index up at its own refresh (1 s)

    done = answer(yaz(server, tmp_path, f"update delete UPD-20 <{second}", user="alib"))
    assert "Status: done" in done and re.search(r"A:UPD-20 isn \d+ deleted", done), done
    seconds["delete"] = until_hits(server, tmp_path, new, 0)
    with capsys.disabled():
        print("\nupdate to searchable: " + ", ".join(f"{action} {value:.1f}s" for action, value in seconds.items()))


def test_another_library_is_refused_its_record(server, tmp_path):
    store = CatalogStore.of(server.home)
    try:
        before = store.find_record("A", "A-ILS", A_RECORD)
    finally:
        store.close()
    title = "@attr 1=4 @attr 4=1 \"cost of living as modified by sanitary science\""
    found = hits(server, tmp_path, title)
    theirs = tmp_path / "theirs.mrc"
    theirs.write_bytes(iso2709(record(A_RECORD, "Taken over by Quittenbrot", library="B")))
    output = yaz(server, tmp_path, f"update replace {A_RECORD} <{theirs}", f"update delete {A_RECORD} <{theirs}",
                 user="blib")
    refusals = output.split("Got extended services response")[1:]
    assert len(refusals) == 2, output
    for refused in refusals:
        assert "Status: failure" in refused and "[223]" in refused, refused
        assert f"record {A_RECORD} is library A's, not B's" in refused, refused
    assert found >= 1 and hits(server, tmp_path, title) == found
    assert hits(server, tmp_path, "@attr 1=4 quittenbrot") == 0
    store = CatalogStore.of(server.home)
    try:
        assert store.find_record("A", "A-ILS", A_RECORD) == before
        assert store.find_record("B", "B-ILS", A_RECORD) is None
    finally:
        store.close()


@pytest.mark.parametrize(("user", "made", "code", "words"), [
    (None, record("UPD-30", "Anonymous strudel"), 1004, "log in"),
    ("reader", record("UPD-30", "Reader strudel"), 222, "maintains no library"),
    ("alib", record("UPD-30", "Strudel without holdings", holdings=False), 224, "no holdings of library A"),
])
def test_refused_updates_say_why(server, tmp_path, user, made, code, words):
    path = tmp_path / "record.mrc"
    path.write_bytes(iso2709(made))
    refused = answer(yaz(server, tmp_path, f"update insert UPD-30 <{path}", user=user))
    assert "Status: failure" in refused and f"[{code}]" in refused and words in refused, refused
    assert hits(server, tmp_path, "@attr 1=4 strudel") == 0
