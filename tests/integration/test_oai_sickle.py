"""Sickle (a maintained OAI-PMH client library) harvests a running `unikat serve`, both engines:
the whole sample catalog through resumption tokens, then, after a load that changed one record
and deleted another, incrementally from the first harvest's responseDate. Responses on the way
are validated against the OAI-PMH 2.0 schema."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest
from conftest import change_delivery, copy_home, shared
from oaischema import assert_valid
from test_yaz_client import REPO, Server, start_serving, stop_serving

from index.home import Home
from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration

sickle = pytest.importorskip("sickle", reason="Sickle not installed (pip install Sickle: the test extras)")
REPOSITORY = "unikat.example.org"
PAGE = 50


@pytest.fixture(scope="module")
def home(sample_home, tmp_path_factory) -> Home:
    """A copy of the sample catalog (the test loads into it) with small OAI pages."""
    root = tmp_path_factory.mktemp("oai-home") / "home"
    copy_home(sample_home, root)
    config = root / "unikat.toml"
    config.write_text(config.read_text() + f"\n[oai]\npage_size = {PAGE}\nrepository_identifier = \"{REPOSITORY}\"\n")
    return Home(root)


@pytest.fixture(scope="module")
def server(home) -> Server:
    running = start_serving(home, workers=2)
    yield running
    stop_serving(running)


def endpoint(server: Server) -> str:
    return f"http://{server.host}:{server.port}/oai"


def harvest(server: Server, **arguments) -> dict[str, sickle.models.Header]:
    """identifier -> header of every item Sickle lists (following the resumption tokens)."""
    client = sickle.Sickle(endpoint(server), max_retries=0)
    records = client.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False, **arguments)
    found: dict[str, sickle.models.Header] = {}
    for record in records:
        assert record.header.identifier not in found   # each item once
        found[record.header.identifier] = record.header
        if not record.header.deleted:
            assert record.metadata["title"]
    return found


def counts(home: Home) -> tuple[int, int]:
    store = CatalogStore.of(home)
    try:
        live = store.db.execute("SELECT count(*) FROM titles WHERE bibtype NOT LIKE 'z%'").fetchone()[0]
        return live, len(store.deleted_titles())
    finally:
        store.close()


def single_titles_of_a(home: Home, count: int) -> list[tuple[int, str]]:
    """(ISN, 001) of titles whose one member record is library A's."""
    store = CatalogStore.of(home)
    try:
        return store.db.execute(
            "SELECT isn, source_id FROM records WHERE library = 'A' AND isn IN"
            " (SELECT isn FROM records GROUP BY isn HAVING count(*) = 1) ORDER BY isn LIMIT ?", (count,)).fetchall()
    finally:
        store.close()


def test_full_then_incremental_harvest(server: Server, home: Home, tmp_path) -> None:
    marc21slim = shared("schemas/MARC21slim.xsd")
    with urllib.request.urlopen(endpoint(server) + "?verb=Identify", timeout=30) as answer:
        first = assert_valid(answer.read(), marc21slim)
    since = first.findtext("{http://www.openarchives.org/OAI/2.0/}responseDate")
    with urllib.request.urlopen(endpoint(server) + "?verb=ListRecords&metadataPrefix=marc21", timeout=30) as answer:
        assert_valid(answer.read(), marc21slim)

    items = harvest(server)
    live, deleted = counts(home)
    assert len(items) == live + deleted > 2 * PAGE   # through several resumption tokens
    assert sum(header.deleted for header in items.values()) == deleted

    (changed_isn, changed_id), (deleted_isn, deleted_id) = single_titles_of_a(home, 2)
    path = tmp_path / "a-update.mrc"
    change_delivery(path, changed_id, deleted_id, "Harvested again: a changed title")
    load = subprocess.run([sys.executable, "-m", "zserver.cli", "--home", str(home.root), "load", "--library", "A",
                           str(path)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert load.returncode == 0, load.stderr

    news = harvest(server, **{"from": since})
    changed = f"oai:{REPOSITORY}:{changed_isn}"
    gone = f"oai:{REPOSITORY}:{deleted_isn}"
    assert changed in news and not news[changed].deleted
    assert gone in news and news[gone].deleted
    assert all(header.datestamp >= since for header in news.values())
    assert len(news) < len(items) / 10   # only what changed since (and titles of the same second)
    client = sickle.Sickle(endpoint(server))
    record = client.GetRecord(identifier=changed, metadataPrefix="oai_dc")
    assert record.metadata["title"] == ["Harvested again: a changed title"]
    assert client.GetRecord(identifier=gone, metadataPrefix="oai_dc").header.deleted

    again = harvest(server)
    assert set(again) == set(items)   # the same items: the deleted title stays, as deleted
    assert again[gone].deleted and not items[gone].deleted


def test_errors_reach_sickle_as_oai_errors(server: Server) -> None:
    client = sickle.Sickle(endpoint(server))
    with pytest.raises(sickle.oaiexceptions.CannotDisseminateFormat):
        client.ListRecords(metadataPrefix="mods")
    with pytest.raises(sickle.oaiexceptions.IdDoesNotExist):
        client.GetRecord(identifier=f"oai:{REPOSITORY}:0", metadataPrefix="oai_dc")
    with pytest.raises(sickle.oaiexceptions.NoRecordsMatch):
        client.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2999-01-01"})
    with pytest.raises(sickle.oaiexceptions.BadResumptionToken):
        client.ListRecords(resumptionToken="not-a-token")
    sets = [s.setSpec for s in client.ListSets()]
    assert sets[:4] == ["A", "B", "C", "ZDB"]
    assert [f.metadataPrefix for f in client.ListMetadataFormats()] == ["marc21", "oai_dc"]
