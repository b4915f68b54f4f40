"""The index is built from the MELVYL search-key files: a build from the files alone, without
the store, gives the same index as the load pass that wrote them."""

from __future__ import annotations

import re
import subprocess
import sys

import pymarc
import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home
from test_engines import QUERIES

from index.engines.base import SortKey
from index.loading import indexing
from index.search import Catalog
from index.store.catalog import CatalogStore
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

LOADS = (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml"), ("ZDB", "ejournals.pica"))
SORT = [SortKey.named("year", True), SortKey.named("title")]


def fingerprint(home) -> dict:
    """What clients see of the index: hits in order, sorted order, briefs and scans."""
    catalog = Catalog(home)
    try:
        union = catalog.database("unikat")
        seen = {}
        for pqf in QUERIES:
            result = catalog.search(rpn_to_query(parse_pqf(pqf)), union)
            seen[pqf] = (result.isns(), catalog.sort(result, SORT).isns(), result.briefs(0, 5))
        for index in ("title", "author", "subject", "isbn"):
            seen[f"scan {index}"] = catalog.scan(index, "m", count=10, preferred_position=3)
        return seen
    finally:
        catalog.close()


def build_without_store(home, *, command: bool = False) -> int:
    """Build from the search-key files with the store out of reach (`unikat index --from-keys`
    when `command`)."""
    store = home.store_path
    hidden = store.with_name("hidden.sqlite")
    config, dsn = home.config_path.read_text(encoding="utf-8"), home.config().store.dsn
    if dsn:   # a PostgreSQL store: out of reach behind a DSN that leads nowhere
        home.config_path.write_text(config.replace(dsn, "postgresql://nobody@/nowhere?host=/nonexistent"))
    else:
        store.rename(hidden)
    try:
        if not command:
            return indexing.build_from_keys(home)
        done = subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "index", "--from-keys"],
                              capture_output=True, text=True, check=True)
        assert not store.exists(), "the build opened the store"
        return int(re.search(r"search-key files: (\d+) titles", done.stdout).group(1))
    finally:
        if dsn:
            home.config_path.write_text(config, encoding="utf-8")
        else:
            hidden.rename(store)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_build_from_the_search_key_files_gives_the_same_index(tmp_path, engine):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine=engine)
    for library, name in LOADS:
        load(home, library, SAMPLE_DATA / name)
    before = fingerprint(home)
    assert sum(len(isns) for isns, _, _ in (v for k, v in before.items() if not k.startswith("scan"))) > 500

    store = CatalogStore.of(home)
    titles = store.count_titles()
    store.close()
    assert build_without_store(home, command=True) == titles
    assert fingerprint(home) == before


@pytest.mark.parametrize("engine", ENGINES)
def test_appended_sections_are_read_back_with_their_tombstones(tmp_path, engine):
    """After incremental loads the files hold appended sections: changed and deleted titles."""
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine=engine)
    for library, name in LOADS:
        load(home, library, SAMPLE_DATA / name)
    records = list(pymarc.MARCReader((SAMPLE_DATA / "lib-a.mrc").read_bytes(), to_unicode=True, force_utf8=True))
    changed, deleted = records[:5], records[5:8]
    for record in changed:
        record["245"]["a"] = "Quuxification of everything"
    for record in deleted:
        record.leader = record.leader[:5] + "d" + record.leader[6:]
    delivery = tmp_path / "update.mrc"
    delivery.write_bytes(b"".join(record.as_marc() for record in changed + deleted))
    report = load(home, "A", delivery)
    assert report.counts["updated"] == 5 and report.counts["deleted"] == 3
    assert not (home.searchkeys_dir / "COMPACT").exists()    # sections were appended
    before = fingerprint(home)

    build_without_store(home)
    assert fingerprint(home) == before
    catalog = Catalog(home)
    try:
        assert catalog.search(rpn_to_query(parse_pqf("@attr 1=4 quuxification")), catalog.database("unikat")).size > 0
    finally:
        catalog.close()
