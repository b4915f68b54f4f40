"""Index snapshots published in a PostgreSQL store, and homes that follow them (index.replicas).

Every home here is on PostgreSQL whatever `UNIKAT_TEST_STORE` says: on SQLite there is
nothing to replicate (`publish` and `sync` do nothing, checked last)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA, TEST_CONFIG, load, make_home, postgres

from index import engines, replicas
from index.config import parse_config
from index.home import Home
from index.query import Term
from index.search import Catalog
from index.store.catalog import CatalogStore

TERMS = (("title", "history"), ("title", "the"), ("any", "science"))


def _pg_home(root: Path, dsn: str, engine: str) -> Home:
    return make_home(root, TEST_CONFIG + f'\n[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n', engine=engine)


def _counts(home: Home) -> list[int]:
    catalog = Catalog(home)
    try:
        union = catalog.database("unikat")
        return [catalog.search(Term(key, word), union).size for key, word in TERMS]
    finally:
        catalog.close()


def _files(home: Home) -> dict[str, bytes]:
    directory = engines.index_dir(home, home.config())
    return {path.relative_to(directory).as_posix(): path.read_bytes()
            for path in sorted(directory.rglob("*")) if path.is_file() and path.name != replicas.MARKER}


def _sync(home: Home) -> replicas.Taken | None:
    store = CatalogStore.of(home)
    try:
        return replicas.sync(home, store)
    finally:
        store.close()


@pytest.mark.parametrize("engine", ["postings", "whoosh"])
def test_replica_follows_loads_of_two_hosts(tmp_path, engine):
    dsn = postgres().new_database()
    primary = _pg_home(tmp_path / "primary", dsn, engine)
    replica = Home(tmp_path / "replica")
    replica.init(primary.config_path.read_text(encoding="utf-8"))

    load(primary, "A", SAMPLE_DATA / "lib-a.mrc")   # indexing.update publishes
    assert replicas.home_generation(primary) == 1
    first = _sync(replica)
    assert first is not None and first.generation == 1 and first.kept == 0
    assert _files(replica) == _files(primary)
    assert _counts(replica) == _counts(primary)
    assert _sync(replica) is None   # already current

    load(primary, "B", SAMPLE_DATA / "lib-b.mrc")
    second = _sync(replica)
    assert second is not None and second.generation == 2
    assert second.fetched < len(_files(primary))   # what did not change stayed
    assert _files(replica) == _files(primary)
    assert _counts(replica) == _counts(primary)

    # a second loading host: its own empty index, the same store; it continues from the
    # published index (synced first), not from nothing
    other = Home(tmp_path / "other")
    other.init(primary.config_path.read_text(encoding="utf-8"))
    load(other, "C", SAMPLE_DATA / "lib-c.xml")
    assert replicas.home_generation(other) == 3
    assert _sync(replica).generation == 3
    assert _sync(primary).generation == 3
    assert _files(replica) == _files(primary) == _files(other)
    counts = _counts(primary)
    assert _counts(replica) == _counts(other) == counts
    if engine == "postings":   # (once is enough: the engines' parity is tested elsewhere)
        reference = _pg_home(tmp_path / "reference", postgres().new_database(), engine)
        for library, name in (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml")):
            load(reference, library, SAMPLE_DATA / name)
        assert counts == _counts(reference)   # the same as one host loading all three


def test_old_generations_and_their_blobs_are_pruned(tmp_path):
    dsn = postgres().new_database()
    home = _pg_home(tmp_path / "home", dsn, "postings")
    for library, name in (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml")):
        load(home, library, SAMPLE_DATA / name)
    store = CatalogStore.of(home)
    try:
        for _ in range(2):
            replicas.publish(home, store)
        generations = [row[0] for row in store.db.execute("SELECT generation FROM index_manifests ORDER BY 1")]
        assert generations == [3, 4, 5]
        named = set()
        for (listing,) in store.db.execute("SELECT files FROM index_manifests"):
            named.update(digest for digest, _size in json.loads(listing).values())
        blobs = {row[0] for row in store.db.execute("SELECT DISTINCT digest FROM index_blobs")}
        assert blobs == named
    finally:
        store.close()


def test_damaged_blob_leaves_the_index_alone(tmp_path):
    dsn = postgres().new_database()
    primary = _pg_home(tmp_path / "primary", dsn, "postings")
    load(primary, "A", SAMPLE_DATA / "lib-a.mrc")
    replica = Home(tmp_path / "replica")
    replica.init(primary.config_path.read_text(encoding="utf-8"))
    _sync(replica)
    before = _files(replica)
    load(primary, "B", SAMPLE_DATA / "lib-b.mrc")
    store = CatalogStore.of(primary)
    try:
        store.db.execute("UPDATE index_blobs SET data = ? WHERE part = 0", (b"spoilt",))
        with pytest.raises(replicas.ReplicaError):
            replicas.sync(replica, store)
    finally:
        store.close()
    assert _files(replica) == before and replicas.home_generation(replica) == 1


def test_sqlite_store_publishes_nothing(tmp_path):
    home = Home(tmp_path / "home")
    home.init(TEST_CONFIG)
    shutil.rmtree(tmp_path / "home" / "postings", ignore_errors=True)
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    store = CatalogStore.of(home)
    try:
        assert store.backend == "sqlite"
        assert replicas.publish(home, store) is None and replicas.sync(home, store) is None
    finally:
        store.close()
    assert replicas.home_generation(home) == 0


@pytest.mark.parametrize("published", [
    TEST_CONFIG + '\n[store]\nbackend = "postgresql"\ndsn = "host=/a dbname=x"\n[index]\nengine = "whoosh"\n',
    TEST_CONFIG + '\n[store]   # where\ndsn = "host=/a dbname=x"\nbackend = "postgresql"\n',
])
def test_replica_config_points_at_the_given_store(published):
    config = parse_config(replicas.replica_config(published, 'host=/b dbname="y"'))
    assert (config.store.backend, config.store.dsn) == ("postgresql", 'host=/b dbname="y"')
    assert config.libraries.keys() == parse_config(published).libraries.keys()
    assert config.index.engine == parse_config(published).index.engine
