"""`unikat migrate`: the sample catalog (three libraries, an ILL account with orders, a cluster
override, link-check results) copied from SQLite into PostgreSQL and back, every table's count
and checksum verified, searches and records the same over either store, numbers handed out
never handed out again; a target that holds rows is refused, and a copy that does not match
its source rolled back, with nothing written.

The SQLite home is SQLite whatever UNIKAT_TEST_STORE says: it is the migration's source."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA, load, postgres

from index.ill.model import Article, Kind, Status
from index.links.check import LinkCheck, LinkState
from index.query import Term
from index.search import Catalog
from index.store import corrections
from index.store import migrate as migration
from index.store.catalog import CatalogStore
from index.store.ill import IllStore
from index.store.links import LinkResults
from index.store.migrate import MigrationError, MigrationRefused, migrate
from zserver.cli import main

CONFIG = (SAMPLE_DATA / "unikat.toml").read_text()
SEARCHES = [("title", "history"), ("any", "science"), ("author", "smith"), ("title", "the")]


def _sqlite_home(root: Path):
    from index.home import Home

    home = Home(root)
    home.init(CONFIG)   # no [store]: SQLite
    return home


def _add_extras(store: CatalogStore) -> None:
    """An ILL account with two orders, the second deleted (its number stays used); a cluster
    override of two titles; a redirect."""
    ill = IllStore(store)
    isns = [isn for (isn,) in store.db.execute("SELECT isn FROM titles ORDER BY isn LIMIT 2")]
    with store.transaction():
        ill.add_account("4711", "scrypt$x", "A", "Erika Mustermann", 10, None, "2024-05-01T10:00:00")
        for _ in range(2):
            order_id, _number = ill.add_order(
                "GBV", access_number="4711", home_library="A", isn=isns[0], isbd="A book", kind=Kind.LOAN,
                article=Article(), free=False, status=Status.REQUEST_RECEIVED, units=2, now="2024-05-02T10:00:00",
                via="web", external_id="", note="")
            ill.add_event(order_id, "2024-05-02T10:00:00", Status.REQUEST_RECEIVED, "B")
        store.db.execute("DELETE FROM ill_events WHERE order_id = ?", (order_id,))
        store.db.execute("DELETE FROM ill_orders WHERE id = ?", (order_id,))
        records = [store.records_of_title(isn)[0].id for isn in isns]
        corrections.add_override(store, "keep-apart", isns, "two books", "librarian",
                                 [(0, records[0]), (1, records[1])], {"1,2": False})
        corrections.add_redirect(store, 999_999, isns[0])


@pytest.fixture(scope="module")
def source_home(tmp_path_factory):
    home = _sqlite_home(tmp_path_factory.mktemp("migrate") / "sqlite-home")
    for library, name in (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml")):
        load(home, library, SAMPLE_DATA / name)
    store = CatalogStore(home.store_path)
    try:
        _add_extras(store)
    finally:
        store.close()
    links = LinkResults(home.store_path)   # a table a module makes on first use
    try:
        links.record([LinkCheck("http://example.org/a", LinkState.OK, 200),
                      LinkCheck("http://example.org/b", LinkState.BROKEN, None, "timeout")])
    finally:
        links.close()
    return home


def _home_on(home, root: Path, dsn: str):
    """A copy of `home` (its index too) whose [store] is the PostgreSQL database `dsn`."""
    shutil.copytree(home.root, root, ignore=shutil.ignore_patterns("catalog.*sqlite*", "load.lock"))
    copy = _sqlite_home(root)
    copy.config_path.write_text(CONFIG + f'\n[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n', encoding="utf-8")
    return copy


def _answers(home) -> list[tuple[int, list[tuple[int, bytes, tuple]]]]:
    """Hits, and the records with holdings of the first ten, of each of SEARCHES."""
    catalog = Catalog(home)
    try:
        database = catalog.database("unikat")
        found = []
        for index, word in SEARCHES:
            result = catalog.search(Term(index, word), database)
            records = [(r.isn, r.marc, r.holdings) for r in catalog.records(result.isns(0, 10), with_holdings=True)]
            found.append((result.size, records))
        return found
    finally:
        catalog.close()


TABLES = ("titles", "records", "holdings", "loads", "match_keys", "ill_orders", "ill_events", "cluster_overrides",
          "cluster_override_members", "title_redirects", "link_status")


def _counts(store: CatalogStore, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    return {table: store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def test_sqlite_to_postgresql_and_back(source_home, tmp_path):
    dsn = postgres().new_database()
    source = CatalogStore(source_home.store_path)
    target = CatalogStore(tmp_path / "unused.sqlite", dsn)
    steps = []
    try:
        report = migrate(source, target, progress=lambda step, done, total: steps.append((step, done, total)))
        expected = _counts(source)
        assert _counts(target) == expected
    finally:
        source.close()
        target.close()
    copied = {table.name: table for table in report.tables}
    assert (report.source, report.target) == ("sqlite", "postgresql")
    assert {"titles", "records", "holdings", "ill_orders", "link_status", "link_history"} <= copied.keys()
    assert "pending_keys" not in copied   # offered search keys are not copied
    assert copied["titles"].rows == expected["titles"] > 0 and copied["records"].rows == expected["records"]
    assert ("copying records", expected["records"], expected["records"]) in steps
    assert "row counts and checksums verified" in report.summary()

    sqlite_answers = _answers(source_home)
    assert sqlite_answers[0][0] > 0 and sqlite_answers[1][0] > 0
    pg_home = _home_on(source_home, tmp_path / "pg-home", dsn)
    assert _answers(pg_home) == sqlite_answers

    # and back, into a fresh SQLite home: the same tables, rows and checksums
    back_home = _sqlite_home(tmp_path / "back-home")
    shutil.copytree(source_home.root, back_home.root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("catalog.*sqlite*", "load.lock"))
    pg = CatalogStore.of(pg_home)
    back = CatalogStore(back_home.store_path)
    try:
        returned = migrate(pg, back)
        assert _counts(back) == expected
        assert back.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'ill_orders'").fetchone()[0] == 2
    finally:
        pg.close()
        back.close()
    assert (returned.source, returned.target) == ("postgresql", "sqlite")
    assert {(t.name, t.rows, t.checksum) for t in returned.tables} == {(t.name, t.rows, t.checksum)
                                                                       for t in report.tables}
    assert _answers(back_home) == sqlite_answers
    links = LinkResults(back_home.store_path)   # the link-check tables came back usable (their key too)
    try:
        assert links.statuses(["http://example.org/b"])["http://example.org/b"].error == "timeout"
        links.record([LinkCheck("http://example.org/b", LinkState.OK, 200)])
    finally:
        links.close()

    # numbers given out on SQLite are not given again on PostgreSQL
    pg = CatalogStore.of(pg_home)
    try:
        with pg.transaction():
            load_id = pg.start_load("A", "A-ILS", "next.mrc", "marc21")
            order_id, number = IllStore(pg).add_order(
                "GBV", access_number="4711", home_library="A", isn=None, isbd="Another book", kind=Kind.LOAN,
                article=Article(), free=True, status=Status.CENTRAL_DESK, units=0, now="2024-05-03T10:00:00",
                via="web", external_id="", note="")
        assert load_id == expected["loads"] + 1
        assert (order_id, number) == (3, "GBV000000003")   # order 2 was deleted: its number stays used
    finally:
        pg.close()


def test_a_target_with_rows_is_refused_and_left_alone(source_home, tmp_path):
    dsn = postgres().new_database()
    source = CatalogStore(source_home.store_path)
    target = CatalogStore(tmp_path / "unused.sqlite", dsn)
    try:
        with target.transaction():
            target.add_title(b"00026nam a2200025 a 4500\x1e\x1d", "am")
        with pytest.raises(MigrationRefused, match=r"not empty \(rows: .*titles 1"):
            migrate(source, target)
        assert _counts(target, ("titles", "records", "holdings", "ill_orders")) == {
            "titles": 1, "records": 0, "holdings": 0, "ill_orders": 0}
        assert target.db.execute("SELECT count(*) FROM link_status").fetchone()[0] == 0   # made empty, as on first use
        with pytest.raises(MigrationRefused, match="not empty"):   # and the other way, into a filled SQLite store
            migrate(target, source)
    finally:
        source.close()
        target.close()


def test_a_copy_that_differs_from_its_source_is_rolled_back(source_home, tmp_path, monkeypatch):
    checksum = migration._checksum

    def damaged(store, table, columns, progress):
        rows, digest = checksum(store, table, columns, progress)
        return (rows, "0" * 64) if table == "holdings" else (rows, digest)

    monkeypatch.setattr(migration, "_checksum", damaged)
    source = CatalogStore(source_home.store_path)
    target = CatalogStore(tmp_path / "unused.sqlite", postgres().new_database())
    try:
        with pytest.raises(MigrationError, match="table holdings: the copy differs"):
            migrate(source, target)
        assert _counts(target, ("titles", "records", "holdings", "ill_orders")) == dict.fromkeys(
            ("titles", "records", "holdings", "ill_orders"), 0)
    finally:
        source.close()
        target.close()


def test_cli_migrates_to_postgresql_and_back(source_home, tmp_path, capsys):
    dsn = postgres().new_database()
    home = tmp_path / "home"
    shutil.copytree(source_home.root, home, ignore=shutil.ignore_patterns("load.lock"))

    assert main(["--home", str(home), "migrate", "--to", dsn]) == 0
    out = capsys.readouterr().out
    assert "row counts and checksums verified" in out
    assert f'[store]\nbackend = "postgresql"\ndsn = "{dsn}"' in out
    assert "[store]" not in (home / "unikat.toml").read_text()   # said, not done

    assert main(["--home", str(home), "migrate", "--to", dsn]) == 2
    assert "not empty" in capsys.readouterr().err

    assert main(["--home", str(home), "migrate", "--from", dsn]) == 2   # catalog.sqlite holds the catalog
    assert "not empty" in capsys.readouterr().err

    back = _sqlite_home(tmp_path / "back")
    assert main(["--home", str(back.root), "migrate", "--from", dsn]) == 0
    assert 'backend = "sqlite"' in capsys.readouterr().out
    store = CatalogStore(back.store_path)
    try:
        assert store.count_titles() > 0
    finally:
        store.close()

    empty = _sqlite_home(tmp_path / "empty")
    assert main(["--home", str(empty.root), "migrate", "--to", dsn]) == 2
    assert "no catalog.sqlite" in capsys.readouterr().err
    unreachable = "postgresql://unikat@/nowhere?host=" + str(tmp_path)
    assert main(["--home", str(empty.root), "migrate", "--from", unreachable]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
    assert not empty.store_path.exists()   # a failed --from leaves no catalog.sqlite behind
