"""`unikat adopt`'s copy of an external record (`index.external.adopt.adopted_record`): its
provenance 883 says how the record was harvested in $a (the process, as the export writes it),
never in $x (MARC's validity end date); 035 carries the source's id, 852 the library's holding."""

from __future__ import annotations

import subprocess
import sys

import pymarc
from conftest import REPO, SAMPLE_DATA, load, make_home
from externaldata import QUERY, SOURCE, URL, harvested

from index.external import EXTERNAL_ISN_BASE, ExternalStore
from index.external.adopt import adopted_record
from index.store.catalog import CatalogStore


def test_the_copy_says_how_it_was_harvested_in_883_a(tmp_path) -> None:
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    harvested(home, 3)
    store = ExternalStore(home)
    try:
        known = store.provenance(1)
        remote_number = pymarc.Record(data=store.marc(1), to_unicode=True, force_utf8=True)["001"].data
    finally:
        store.close()
    adoption = adopted_record(home, EXTERNAL_ISN_BASE + 1, home.config().libraries["A"], location="Stacks")
    (record,) = pymarc.MARCReader(adoption.path.read_bytes(), to_unicode=True, force_utf8=True)
    (note,) = record.get_fields("883")
    assert note.get_subfields("a") == [f"copy cataloging of a record harvested (sru, query {QUERY})"]
    assert note.get_subfields("x") == []
    key = f"({SOURCE}){remote_number}"   # the source's 001 (A000001), the remote id (r0) when none
    assert note.get_subfields("d", "q", "u", "w") == [known.harvested[:10].replace("-", ""), SOURCE, URL, key]
    assert key in [value for field in record.get_fields("035") for value in field.get_subfields("a")]
    assert [field.get_subfields("a", "b") for field in record.get_fields("852")] == [["A", "Stacks"]]


def test_a_copy_under_a_number_the_library_has_is_refused(tmp_path) -> None:
    # the source's 001 (A000001) is library A's own record: adopting under it had replaced that
    # record and dropped its holding's location, call number and barcode
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    harvested(home, 3)
    before = _holdings_of_a000001(home)
    adopt = [sys.executable, "-m", "zserver", "--home", str(home.root), "adopt", str(EXTERNAL_ISN_BASE + 1),
             "--library", "A"]
    refused = subprocess.run(adopt, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1 and "already has a record A000001" in refused.stderr, refused.stderr
    assert _holdings_of_a000001(home) == before and before[0].location   # as it was
    taken = subprocess.run([*adopt, "--id", "A-copy-1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert taken.returncode == 0 and "as A A-copy-1" in taken.stdout, taken.stderr


def _holdings_of_a000001(home) -> list:
    store = CatalogStore.of(home)
    try:
        record = store.find_record("A", home.config().libraries["A"].source_system, "A000001")
        return store.record_holdings(record.id)
    finally:
        store.close()
