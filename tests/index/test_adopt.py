"""`unikat adopt`'s copy of an external record (`index.external.adopt.adopted_record`): its
provenance 883 says how the record was harvested in $a (the process, as the export writes it),
never in $x (MARC's validity end date); 035 carries the source's id, 852 the library's holding."""

from __future__ import annotations

import pymarc
from conftest import SAMPLE_DATA, make_home
from externaldata import QUERY, SOURCE, URL, harvested

from index.external import EXTERNAL_ISN_BASE, ExternalStore
from index.external.adopt import adopted_record


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
