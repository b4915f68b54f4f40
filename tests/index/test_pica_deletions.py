"""PICA+ deletions (index.loading.deletions): `unikat load --delete-list` with a K10plus LOEKXP
list and a plain PPN list deletes the records of real K10plus PICA+ records
(qa-catalogue's k10plus-sample.pica, six titles with holdings), on both engines; a bad line
stops the list before anything is deleted."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ENGINES, load, make_home, shared

from index.query import Structure, Term
from index.search import Catalog
from index.store.catalog import CatalogStore

K10PLUS = shared("github/pkiraly+qa-catalogue/k10plus-sample.pica")


def _unikat(home, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), *arguments],
                          capture_output=True, text=True)


def _titles(home, word: str) -> int:
    catalog = Catalog(home)
    try:
        return catalog.search(Term("title", word, structure=Structure.WORD), catalog.database("unikat")).size
    finally:
        catalog.close()


def _held(home, ppn: str) -> bool:
    store = CatalogStore.of(home)
    try:
        return store.find_record("ZDB", "ZDB", ppn) is not None
    finally:
        store.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_deletion_list_deletes_pica_records(tmp_path, engine):
    home = make_home(tmp_path / "home", engine=engine)
    report = load(home, "ZDB", K10PLUS)
    assert report.counts["new"] == 6
    assert _titles(home, "luftreinhalterecht") == 1 and _titles(home, "gentechnologie") == 1
    listed = tmp_path / "LOEKXP-241231"
    listed.write_text("\n".join([
        "# K10plus deletions of 31 Dec 2024",
        "24366143045A010000011",        # title deletion (indicator A), a 9-character PPN
        "PPN01000002X",                 # a plain PPN, check digit X
        "243661430459010000054 0020",   # local data of ILN 20 only: not applied, reported
        "999999999",                    # not held by the library
        "",
    ]) + "\n", encoding="utf-8")
    done = _unikat(home, "load", "--library", "ZDB", "--delete-list", str(listed))
    assert done.returncode == 0, done.stderr
    assert "3 PPNs listed, 2 records deleted, 1 not held by the library" in done.stdout
    assert "1 local-data lines not applied" in done.stdout
    assert not _held(home, "010000011") and not _held(home, "01000002X")
    assert _held(home, "010000054") and _held(home, "010000038")
    assert _titles(home, "luftreinhalterecht") == 0 and _titles(home, "gentechnologie") == 0
    assert _titles(home, "yoga") == 1
    stats = _unikat(home, "stats")
    assert re.search(r"LOEKXP-241231: read 3 new 0 updated 0 unchanged 1 deleted 2 ", stats.stdout), stats.stdout

    again = _unikat(home, "load", "--library", "ZDB", "--delete-list", str(listed), str(K10PLUS))
    assert again.returncode == 0, again.stderr   # deletions first, then the records: delivered again, back
    assert "0 records deleted, 3 not held" in again.stdout
    assert _titles(home, "luftreinhalterecht") == 1


def test_a_bad_line_stops_the_list_before_anything_is_deleted(tmp_path):
    home = make_home(tmp_path / "home")
    load(home, "ZDB", K10PLUS)
    listed = tmp_path / "deletions.txt"
    listed.write_text("010000011\nplease delete the yoga book\n010000054\n", encoding="utf-8")
    done = _unikat(home, "load", "--library", "ZDB", "--delete-list", str(listed))
    assert done.returncode == 1
    assert "line 2: 'please delete the yoga book' is neither a K10plus deletion line" in done.stderr
    assert "nothing deleted" in done.stderr
    assert _held(home, "010000011") and _held(home, "010000054")
    nothing = _unikat(home, "load", "--library", "ZDB")
    assert nothing.returncode == 2 and "--delete-list" in nothing.stderr
