"""Backups take the external-data catalog too (`HOME/external/catalog.sqlite`): its checksum
and counts are in the manifest, a restore into an empty home rebuilds its index (the external
database finds the same titles there), `--verify` compares its counts, and a damaged copy of it
is refused before anything changes. Both engines."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE_DATA, load, make_home, sqlite_only
from externaldata import harvested

from index import backup
from index.external import EXTERNAL_ISN_BASE, ExternalHome
from index.home import Home
from index.query import Structure, Term
from index.search import Catalog

pytestmark = sqlite_only   # copies, checks or breaks the catalog.sqlite file itself

QUERIES = [Term("any", "history", structure=Structure.WORD), Term("title", "the", structure=Structure.WORD),
           Term("any", "united states", structure=Structure.PHRASE)]


def _external_hits(home: Home) -> list[tuple[int, list[int]]]:
    catalog = Catalog(home)
    try:
        external = catalog.database("external")
        return [(found.size, found.isns()) for found in (catalog.search(query, external) for query in QUERIES)]
    finally:
        catalog.close()


@pytest.mark.parametrize("engine", ["whoosh", "postings"])
def test_backup_restore_verify_with_the_external_catalog(tmp_path, engine) -> None:
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine=engine)
    load(home, "C", SAMPLE_DATA / "lib-c.xml")
    harvested(home, 60)
    before = _external_hits(home)
    assert before[0][0] > 0 and all(isn > EXTERNAL_ISN_BASE for isn in before[0][1])

    made = backup.backup(home, tmp_path / "backups")
    manifest = json.loads((made.path / backup.MANIFEST).read_text())
    assert backup.EXTERNAL in manifest["files"]
    assert manifest["external_counts"]["records"] == 60
    assert manifest["external_counts"]["records_per_library"] == {"remote": 60}
    assert "60 external records" in made.summary()

    restored = Home(tmp_path / "empty" / "new")   # a new, empty place
    summary = backup.restore(restored, made.path)
    assert "60 external records (index rebuilt)" in summary
    assert ExternalHome(restored).exists()
    assert _external_hits(restored) == before   # same hits, same numbers

    verify = subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "backup", "--verify",
                             str(tmp_path / "backups")], cwd=REPO, capture_output=True, text=True, timeout=600)
    print(verify.stdout)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "external catalog counts equal: 60 titles, 60 records" in verify.stdout
    assert "sample external titles searched by their title words: all found" in verify.stdout


def test_a_damaged_external_store_is_refused_before_anything_changes(tmp_path) -> None:
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    load(home, "C", SAMPLE_DATA / "lib-c.xml")
    harvested(home, 10)
    made = backup.backup(home, tmp_path / "backups")
    copy = made.path / backup.EXTERNAL
    data = bytearray(copy.read_bytes())
    data[5000] ^= 0xFF
    copy.write_bytes(bytes(data))
    target = Home(tmp_path / "target")
    with pytest.raises(backup.BackupError, match="external/catalog.sqlite does not match its checksum"):
        backup.restore(target, made.path)
    assert not target.root.exists() or not any(target.root.iterdir())


def test_a_home_without_external_catalog_backs_up_as_before(tmp_path) -> None:
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    load(home, "C", SAMPLE_DATA / "lib-c.xml")
    made = backup.backup(home, tmp_path / "backups")
    manifest = json.loads((made.path / backup.MANIFEST).read_text())
    assert backup.EXTERNAL not in manifest["files"] and "external_counts" not in manifest
    restored = Home(tmp_path / "new")
    assert "external records" not in backup.restore(restored, made.path)
    assert not ExternalHome(restored).exists()
