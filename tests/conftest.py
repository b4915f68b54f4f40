"""Shared fixtures: paths to real data, and a catalog home built from real records.

`UNIKAT_TEST_STORE=postgresql` runs the tests with every home `make_home` makes on PostgreSQL
(`[store] backend`): a throwaway server for the run (`tests/pgserver.py`), a database of its own
for each home. `make test` runs the store, loading, consolidation, ILL and protocol suites so a
second time (`make test-postgresql`).
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import pymarc
import pytest

from index.config import Config
from index.home import Home, parse_config
from index.loading import indexing
from index.loading.load import load_file
from index.search import Catalog
from index.store.catalog import CatalogStore
from zserver.querylang.errors import allow_deep_queries

allow_deep_queries()   # as the server and the command line do when they start

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_DATA = REPO / "sample_data"

TEST_CONFIG = """
[catalog]
name = "unikat test catalog"
database = "unikat"
[server]
max_result_sets = 5
[libraries.A]
source_system = "A-ILS"
holdings = "record"
[libraries.B]
source_system = "B-ILS"
holdings = "record"
[libraries.C]
source_system = "C-ILS"
holdings = "852"
[libraries.ZDB]
source_system = "ZDB"
holdings = "pica"
[users.librarian]   # password "secret", as `unikat user set-password` writes it
password_hash = "scrypt$16384$8$1$3mCIv7FvoQPv4eBtefEHkA$k59NMNd6c2ETigyh8xV236E1R7OJoKWlN54XZHWbEIs"
[databases]
restricted = ["B"]
"""


def shared(relative: str) -> Path:
    """A file of ../shared/data; skips the test with a printed reason when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        # (at a module's top too: then the module's tests are skipped)
        pytest.skip(f"real test data {relative} absent (../shared/data not beside the repository)",
                    allow_module_level=True)
    return path


ENGINES = ("whoosh", "postings")


class RestrictedHome(Home):
    """A home whose configuration restricts database B (read by a Catalog when opened)."""

    def config(self) -> Config:
        return dataclasses.replace(super().config(), restricted=("B",))


class LimitedHome(Home):
    """A home whose `[index]` limits are `limits` (e.g. max_query_seconds), whatever its
    unikat.toml says."""

    def __init__(self, root: Path, **limits) -> None:
        super().__init__(root)
        self.limits = limits

    def config(self) -> Config:
        config = super().config()
        return dataclasses.replace(config, index=dataclasses.replace(config.index, **self.limits))


STORE = os.environ.get("UNIKAT_TEST_STORE", "sqlite")
"""The store backend of the homes `make_home` makes: "sqlite" or "postgresql"."""

sqlite_only = pytest.mark.skipif(STORE != "sqlite", reason="SQLite store only (files of catalog.sqlite)")

_postgres = None


def postgres():
    """The run's PostgreSQL server, started at the first call (skips the test when it cannot start)."""
    global _postgres
    if _postgres is None:
        from pgserver import PostgresServer

        _postgres = PostgresServer.start() or False
        if _postgres:
            atexit.register(_postgres.stop)
    if not _postgres:
        from pgserver import PostgresServer

        pytest.skip(f"PostgreSQL store: {PostgresServer.unavailable}")
    return _postgres


def _store_section(dsn: str) -> str:
    return f'\n[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n'


def make_home(root: Path, config: str = TEST_CONFIG, *, engine: str | None = None) -> Home:
    """A home with `config`; `engine` adds `[index] engine = ...` (the configuration's default
    otherwise); its store on PostgreSQL when the run says so (`STORE`)."""
    home = Home(root)
    if STORE == "postgresql" and "[store]" not in config:
        config += _store_section(postgres().new_database())
    home.init(config + (f'\n[index]\nengine = "{engine}"\n' if engine else ""))
    return home


def title_members(store: CatalogStore) -> set[frozenset[tuple[str, str]]]:
    """The store's titles as sets of their member records' maintenance keys (numbers aside)."""
    members: dict[int, set] = {}
    for isn, library, source_id in store.db.execute("SELECT isn, library, source_id FROM records"):
        members.setdefault(isn, set()).add((library, source_id))
    return {frozenset(records) for records in members.values()}


def copy_home(home: Home, root: Path) -> Home:
    """A copy of `home` at `root`, its own store included (on PostgreSQL, a copy of its database)."""
    shutil.copytree(home.root, root)
    copy = Home(root)
    dsn = home.config().store.dsn
    if dsn:
        server = postgres()
        new = server.new_database()
        dump = subprocess.run([server.binaries / "pg_dump", "--no-owner", dsn], check=True, capture_output=True)
        subprocess.run([server.binaries / "psql", "-q", "-v", "ON_ERROR_STOP=1", new], input=dump.stdout,
                       check=True, capture_output=True)
        config = copy.config_path.read_text(encoding="utf-8").replace(f'dsn = "{dsn}"', f'dsn = "{new}"')
        copy.config_path.write_text(config, encoding="utf-8")
    return copy


def load(home: Home, library: str, path: Path, **options):
    store = CatalogStore.of(home)
    try:
        report = load_file(home, store, parse_config(home.config_path.read_text()).libraries[library], path, **options)
        indexing.update(home, store)
        return report
    finally:
        store.close()


def restricted_copy(home: Home, root: Path, *databases: str) -> Home:
    """A copy of `home` at `root` whose unikat.toml restricts `databases` (its `restricted = `
    line replaced)."""
    copy = copy_home(home, root)
    line = "restricted = [" + ", ".join(f'"{name}"' for name in databases) + "]"
    copy.config_path.write_text(re.sub(r"(?m)^restricted = .*$", line, copy.config_path.read_text(encoding="utf-8")),
                                encoding="utf-8")
    return copy


def change_delivery(path: Path, changed: str, deleted: str, title: str) -> None:
    """A delivery of library A to `path`: its record `changed` with 245 $a `title` and a later
    005, and a delete request (leader/05 d) for its record `deleted`."""
    with (SAMPLE_DATA / "lib-a.mrc").open("rb") as source, path.open("wb") as out:
        for record in pymarc.MARCReader(source, to_unicode=True, force_utf8=True):
            control = record["001"].data.strip()
            if control == changed:
                record["245"]["a"] = title
                for field in record.get_fields("005"):
                    record.remove_field(field)
                record.add_ordered_field(pymarc.Field(tag="005", data="20990101000000.0"))
            elif control == deleted:
                record.leader = record.leader[:5] + "d" + record.leader[6:]
            else:
                continue
            out.write(record.as_marc())


def retitle_in_a(home: Home, path: Path, title: str) -> None:
    """Load a delivery of library A (written to `path`, see `change_delivery`) that gives one
    title held by A alone the new `title` and deletes another such title."""
    store = CatalogStore.of(home)
    try:
        (changed,), (deleted,) = store.db.execute(
            "SELECT source_id FROM records WHERE library = 'A' AND isn IN"
            " (SELECT isn FROM records GROUP BY isn HAVING count(*) = 1) ORDER BY isn LIMIT 2").fetchall()
    finally:
        store.close()
    change_delivery(path, changed, deleted, title)
    load(home, "A", path)


SAMPLE_LOADS = (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml"), ("ZDB", "ejournals.pica"))


class SampleHomes:
    """The sample catalog of each engine, built at its first request and then kept: a home with
    sample_data/unikat.toml and `[index] engine = ...`, loaded library by library from sample_data/
    (three libraries and the PICA+ e-journals). Read-only for the tests: copy it to change it."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._homes: dict[str, Home] = {}

    def __getitem__(self, engine: str) -> Home:
        if engine not in self._homes:
            root = self._tmp_path_factory.mktemp(f"sample-home-{engine}")
            home = make_home(root, (SAMPLE_DATA / "unikat.toml").read_text(), engine=engine)
            for library, name in SAMPLE_LOADS:
                load(home, library, SAMPLE_DATA / name)
            self._homes[engine] = home
        return self._homes[engine]


@pytest.fixture(scope="session")
def sample_homes(tmp_path_factory) -> SampleHomes:
    """Every engine's sample home, for tests that compare engines side by side."""
    return SampleHomes(tmp_path_factory)


@pytest.fixture(scope="session", params=ENGINES, ids=ENGINES)
def sample_home(request, sample_homes: SampleHomes) -> Home:
    """The sample catalog, once per engine: every test using it (directly or through a catalog,
    handler or server fixture) runs on each engine. pytest groups the tests by engine, so each
    engine's home and the servers over it are set up once."""
    return sample_homes[request.param]


@pytest.fixture(scope="module")
def catalogs(sample_homes: SampleHomes) -> dict[str, Catalog]:
    """The sample catalog of each engine, open side by side."""
    result = {engine: Catalog(sample_homes[engine]) for engine in ENGINES}
    yield result
    for catalog in result.values():
        catalog.close()


def engine_of(request: pytest.FixtureRequest) -> str:
    """The engine the requesting test runs on: its `sample_home` parameter."""
    return request.node.callspec.params["sample_home"]


@pytest.fixture()
def home(tmp_path) -> Home:
    return make_home(tmp_path / "home")


def copy_of(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    shutil.copy(path, target)
    return target


# --- YAZ's CQL samples (test/cql2xcqlsample), used by the CQL parser and the SRU handler tests ---

YAZ_TESTS = SHARED_DATA / "github/indexdata+yaz/test"


def yaz_cql_samples() -> list[tuple[str, str, bool]]:
    """(id, query, must_fail) from YAZ's test/cql2xcqlsample and its cql/N.M.err files."""
    sample = YAZ_TESTS / "cql2xcqlsample"
    if not sample.exists():
        return []
    cases = []
    section = number = 0
    in_comment = False
    for line in sample.read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        if line.startswith("#"):
            in_comment = True
            continue
        if in_comment:
            section, number = section + 1, 0
        in_comment = False
        number += 1
        error = (YAZ_TESTS / "cql" / f"{section}.{number}.err").read_text().strip()
        cases.append((f"{section}.{number}", line, bool(error)))
    return cases


# Where YAZ and CQL 1.2 disagree we follow CQL 1.2:
# 10.9 `title = ("x")`: the sample itself files it under "should error"; YAZ accepts it.
# Section 11 is YAZ's "free-form term" extension (`a b` as one term), not CQL 1.2; of it,
# `a b c`, `and b c` and `a any b` are index-relation-term clauses in CQL 1.2 and parse.
CQL_1_2_OVERRIDES = {"10.9": True, "11.1": True, "11.3": True, "11.5": True, "11.7": True}
