"""The `unikat` command as a librarian runs it: init, load, index, search, show, stats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA, shared


def unikat(home, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "zserver.cli", "--home", str(home), *args],
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"unikat {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli") / "home"
    unikat(home, "init")
    config = (SAMPLE_DATA / "unikat.toml").read_text()
    (home / "unikat.toml").write_text(config)
    return home


def test_init_writes_a_commented_config(tmp_path):
    result = unikat(tmp_path / "fresh", "init")
    assert "created" in result.stdout
    assert "[libraries.A]" in (tmp_path / "fresh" / "unikat.toml").read_text()


def test_load_search_show_stats(cli_home):
    loaded = unikat(cli_home, "load", "--library", "A", str(SAMPLE_DATA / "lib-a.mrc"))
    assert "1200 read" in loaded.stdout and "index updated" in loaded.stdout
    found = unikat(cli_home, "search", '@attr 1=4 @attr 5=1 hist')
    first = found.stdout.splitlines()[0]
    assert first.endswith(" hits") and int(first.split()[0]) > 0
    as_json = json.loads(unikat(cli_home, "search", "--json", '@attr 1=4 @attr 5=1 hist').stdout)
    assert as_json["hits"] == int(first.split()[0])
    isn = as_json["records"][0]["isn"]
    isbd = unikat(cli_home, "show", str(isn)).stdout
    assert "Held by: A" in isbd
    xml = unikat(cli_home, "show", str(isn), "--format", "marcxml").stdout
    assert xml.startswith("<record xmlns=\"http://www.loc.gov/MARC21/slim\"")
    stats = unikat(cli_home, "stats").stdout
    assert "library A: 1200 records" in stats and "index: updated" in stats and "current" in stats


def test_pica_delivery_loads_with_holdings_per_library(cli_home):
    unikat(cli_home, "load", "--library", "ZDB", str(SAMPLE_DATA / "ejournals.pica"))
    stats = json.loads(unikat(cli_home, "stats", "--json").stdout)
    held = stats["holdings_per_library"]
    assert len(held) >= 3  # A from its MARC file; the e-journals' local records add more libraries
    found = unikat(cli_home, "search", "--json", "@attr 1=1031 ejournal")
    assert json.loads(found.stdout)["hits"] >= 10


def test_real_pica_union_records_keep_every_librarys_holdings(tmp_path):
    home = tmp_path / "pica"
    unikat(home, "init")
    (home / "unikat.toml").write_text('[libraries.GBV]\nsource_system = "GBV"\nholdings = "pica"\n')
    unikat(home, "load", "--library", "GBV", str(shared("github/gbv+PICA-Data/bgb.example")))
    stats = json.loads(unikat(home, "stats", "--json").stdout)
    assert len(stats["holdings_per_library"]) == 56


def test_bad_query_and_unknown_library_give_clear_errors(cli_home):
    bad = unikat(cli_home, "search", "@attr 1=9999 x", check=False)
    assert bad.returncode == 2 and "Bib-1 diagnostic 114" in bad.stderr
    syntax = unikat(cli_home, "search", "@and onlyone", check=False)
    assert syntax.returncode == 2 and "syntax" in syntax.stderr
    unknown = unikat(cli_home, "load", "--library", "NOPE", str(SAMPLE_DATA / "lib-a.mrc"), check=False)
    assert unknown.returncode == 2 and "not in" in unknown.stderr


def test_load_with_and_without_worker_processes_gives_the_same_catalog(tmp_path):
    answers = []
    for workers in ("0", "2"):
        home = tmp_path / f"workers-{workers}"
        unikat(home, "init")
        (home / "unikat.toml").write_text((SAMPLE_DATA / "unikat.toml").read_text())
        for library, name in (("A", "lib-a.mrc"), ("C", "lib-c.xml")):
            unikat(home, "load", "--workers", workers, "--library", library, str(SAMPLE_DATA / name))
        answers.append([unikat(home, "search", query, "--json").stdout
                        for query in ("@attr 1=4 history", "@attr 1=1003 smith", "@attr 1=21 united")])
    assert all(json.loads(answer)["hits"] > 0 for answer in answers[0])
    assert answers[0] == answers[1]


def test_a_file_in_no_format_we_read_is_refused_with_its_kind_and_the_others_load(tmp_path):
    home = tmp_path / "refusing"
    unikat(home, "init")
    (home / "unikat.toml").write_text('[libraries.A]\nsource_system = "A-ILS"\nholdings = "record"\n')
    readme = SAMPLE_DATA.parent / "README.md"
    alone = unikat(home, "load", "--library", "A", str(readme), check=False)
    assert alone.returncode != 0
    assert "README.md looks like a text file" in alone.stderr and "nothing loaded" in alone.stderr
    assert json.loads(unikat(home, "stats", "--json").stdout)["loads"] == []
    both = unikat(home, "load", "--library", "A", str(readme), str(SAMPLE_DATA / "lib-a.mrc"), check=False)
    assert both.returncode != 0 and "1 file(s) refused" in both.stderr
    assert "1200 read" in both.stdout
    loads = json.loads(unikat(home, "stats", "--json").stdout)["loads"]
    assert [Path(load["file"]).name for load in loads] == ["lib-a.mrc"]


def test_an_older_delivery_is_refused_unless_forced(tmp_path):
    import pymarc

    home = tmp_path / "older"
    unikat(home, "init")
    (home / "unikat.toml").write_text('[libraries.A]\nsource_system = "A-ILS"\nholdings = "record"\n')
    files = {}
    for version in ("20200101120000.0", "20190101120000.0"):
        with open(SAMPLE_DATA / "lib-a.mrc", "rb") as handle, open(tmp_path / f"{version}.mrc", "wb") as out:
            for _, record in zip(range(3), pymarc.MARCReader(handle, to_unicode=True, force_utf8=True), strict=False):
                record["005"].data = version
                record["245"]["a"] = f"Title of {version[:4]}"
                out.write(record.as_marc())
        files[version[:4]] = str(tmp_path / f"{version}.mrc")
    unikat(home, "load", "--library", "A", files["2020"])
    late = unikat(home, "load", "--library", "A", files["2019"])
    assert "3 rejected (3 older than the stored record)" in late.stdout
    forced = unikat(home, "load", "--force", "--library", "A", files["2019"])
    assert "3 updated" in forced.stdout and "0 rejected" in forced.stdout


def test_the_default_config_hints_at_holdings_record_when_no_record_has_an_852(tmp_path):
    home = tmp_path / "default"
    unikat(home, "init")
    assert 'holdings = "record"' in (home / "unikat.toml").read_text()
    lc = shared("github/pkiraly+qa-catalogue/BooksAll.2014.part01-0001.mrc")   # LC records: no 852
    loaded = unikat(home, "load", "--library", "A", str(lc))
    assert "100 rejected" in loaded.stdout
    assert 'hint: 100 records rejected for want of an 852 of library A; if each record stands for one copy,' \
           ' set holdings = "record" in [libraries.A] of unikat.toml' in loaded.stdout


def test_a_title_number_too_large_is_a_usage_error(cli_home):
    shown = unikat(cli_home, "show", "99999999999999999999999", check=False)
    assert shown.returncode == 2 and "is not a title number" in shown.stderr and "Traceback" not in shown.stderr


def test_a_refused_deletion_list_is_counted_as_such(cli_home, tmp_path):
    bad = tmp_path / "bad.lst"
    bad.write_text("abc\n")
    loaded = unikat(cli_home, "load", "--library", "ZDB", "--delete-list", str(bad), str(SAMPLE_DATA / "ejournals.pica"),
                    check=False)
    assert loaded.returncode == 1, loaded.stderr
    assert "loaded 1 file(s)" in loaded.stdout   # it had said 0, and -1 with no file beside the list
    assert "1 deletion list(s) refused, not applied" in loaded.stderr


def test_counts_given_on_the_command_line_are_checked(cli_home, tmp_path):
    searched = unikat(cli_home, "search", "-n", "-5", "@attr 1=4 history", check=False)
    assert searched.returncode == 2 and "is not a number of 0 or more" in searched.stderr   # it printed all but 5
    kept = unikat(cli_home, "backup", str(tmp_path / "b"), "--keep", "0", check=False)
    assert kept.returncode != 0 and "--keep must be 1 or more" in kept.stderr   # 0 had meant the default
