"""Source profiles ([sources.NAME]): Evergreen's FSL.marc (leader says MARC-8, bytes are UTF-8)
loads as mojibake without its profile and as Cyrillic with it; fields are mapped, dropped and
added, 001 is prefixed; `unikat load --source NAME` applies a profile and every load records
which one; a wrong profile stops unikat at start, naming the key."""

from __future__ import annotations

import subprocess
import sys

import pymarc
import pytest
from conftest import REPO, SAMPLE_DATA, load, make_home, shared

from index.config import ConfigError, parse_config
from index.store import loadlog
from index.store.catalog import CatalogStore

FSL = "github/evergreen-library-system+Evergreen/FSL.marc"

CONFIG = """
[libraries.EG]
source_system = "EG"
holdings = "record"
[libraries.A]
source_system = "A-ILS"
holdings = "852"
[sources.evergreen]
library = "EG"
encoding = "utf-8"
[sources.ekz]
library = "A"
source_system = "EKZ"
id_prefix = "ekz"
drop = ["852", "9XX"]
map = { "856" = "857" }
add = ["852 __ $aA$bNeuerwerbung", "003 EKZ"]
"""


def _titles(home) -> list[pymarc.Record]:
    store = CatalogStore.of(home)
    try:
        return [pymarc.Record(data=marc, to_unicode=True, force_utf8=True) for _, marc, _ in store.titles_with_holdings()]
    finally:
        store.close()


def _cli(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_fsl_says_its_leader_is_wrong_without_its_profile_and_is_cyrillic_both_ways(tmp_path):
    fsl = shared(FSL)
    plain = make_home(tmp_path / "plain", CONFIG)
    report = load(plain, "EG", fsl, workers=0)
    # its leaders say MARC-8 over UTF-8 bytes: read as UTF-8 (MARC-8 had made mojibake of them), and said
    assert report.problems["leader/09 says MARC-8, the bytes are UTF-8: read as UTF-8"] == 52
    read = " ".join(r["245"]["a"] for r in _titles(plain))
    assert any("\u0400" <= ch <= "\u04ff" for ch in read)

    profiled = make_home(tmp_path / "profiled", CONFIG)
    done = _cli(profiled, "load", "--source", "evergreen", str(fsl))
    assert done.returncode == 0, done.stderr
    titles = {r["001"].data: r["245"]["a"] for r in _titles(profiled)}
    assert len(titles) == 52
    assert titles["000538819"].startswith("Люди с чистой совестью")
    assert "light problem: MARC-8" not in done.stdout and "leader/09" not in done.stdout   # the profile says UTF-8
    found = _cli(profiled, "search", '@attr 1=4 "чистой совестью"')
    assert found.stdout.startswith("1 hits"), found.stdout + found.stderr

    store = CatalogStore.of(profiled)
    try:
        (row,) = store.loads()
        assert loadlog.load_source(store.db, row["id"]) == "evergreen"
    finally:
        store.close()


def test_profile_maps_drops_adds_and_prefixes(tmp_path):
    home = make_home(tmp_path / "home", CONFIG)
    done = _cli(home, "load", "--source", "ekz", "--workers", "0", str(SAMPLE_DATA / "lib-a.mrc"))
    assert done.returncode == 0, done.stderr
    original = {r["001"].data: r for r in pymarc.MARCReader((SAMPLE_DATA / "lib-a.mrc").open("rb"))}
    store = CatalogStore.of(home)
    try:
        records = store.db.execute("SELECT source_system, source_id, marc, id FROM records").fetchall()
        assert len(records) == len(original)
        for system, source_id, marc, record_id in records:
            assert system == "EKZ" and source_id.startswith("ekz")
            record = pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
            before = original[source_id[3:]]
            assert [f.value() for f in record.get_fields("852")] == ["A Neuerwerbung"]   # the old 852 dropped
            assert record["003"].data == before["003"].data   # present already: not added
            assert len(record.get_fields("857")) == len(before.get_fields("856")) and not record.get_fields("856")
            (holding,) = store.record_holdings(record_id)
            assert (holding.library, holding.location) == ("A", "Neuerwerbung")
        (row,) = store.loads()
        assert loadlog.load_source(store.db, row["id"]) == "ekz"
    finally:
        store.close()


def test_source_that_is_no_profile_is_still_a_source_system(tmp_path):
    home = make_home(tmp_path / "home", CONFIG)
    done = _cli(home, "load", "--library", "A", "--source", "OTHER", "--workers", "0", str(SAMPLE_DATA / "lib-a.mrc"))
    assert done.returncode == 0, done.stderr
    store = CatalogStore.of(home)
    try:
        assert {s for (s,) in store.db.execute("SELECT DISTINCT source_system FROM records")} == {"OTHER"}
        assert loadlog.load_source(store.db, store.loads()[0]["id"]) == ""
    finally:
        store.close()


@pytest.mark.parametrize(("table", "message"), [
    ('[sources.x]\nencoding = "latin-1"\n', "[sources.x] encoding: must be one of utf-8, marc-8, not 'latin-1'"),
    ('[sources.x]\ndrop = ["85"]\n', "[sources.x] drop: must be a list of tags"),
    ('[sources.x]\nadd = ["852 $aA"]\n', "[sources.x] add: '852 $aA': a data field needs two indicators"),
    ('[sources.x]\nmap = { "949" = 852 }\n', "[sources.x] map: must be a table of tag = tag"),
    ('[sources.x]\nlibrary = "Q"\n', "[sources.x] library: 'Q' is not a [libraries.CODE]"),
    ('[sources.x]\nprefix = "q"\n', "[sources.x] unknown key 'prefix'"),
])
def test_wrong_profiles_are_refused_naming_the_key(table, message):
    with pytest.raises(ConfigError) as caught:
        parse_config('[libraries.A]\nsource_system = "A"\n' + table)
    assert message in str(caught.value)
