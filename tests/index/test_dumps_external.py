"""`unikat export --database external`: the external-data catalog's records, each with its
number towards clients (001), the external database's name (003) and its provenance (035
`(SOURCE)ID`, 883 how, when and from where it was harvested), in every format; one source or
all; changed since a date with the titles a later harvest deleted; refusals say why."""

from __future__ import annotations

import subprocess
import sys

import pymarc
import pytest
from conftest import REPO, SAMPLE_DATA, load, make_home
from externaldata import QUERY, SOURCE, URL, harvested

from index.dumps import DumpError, export_external, parse_since
from index.external import EXTERNAL_ISN_BASE, ExternalStore, HarvestState
from index.external.store import preparer


@pytest.fixture()
def home(tmp_path):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    load(home, "C", SAMPLE_DATA / "lib-c.xml")
    harvested(home, 25)
    return home


def _provenance_of(records: list[pymarc.Record], store: ExternalStore) -> None:
    """Each record's 001/003/035/883 agree with the store's provenance of that title."""
    assert len(records) == 25
    for record in records:
        number = int(record["001"].data)
        assert number > EXTERNAL_ISN_BASE and record["003"].data == "external"
        known = store.provenance(number - EXTERNAL_ISN_BASE)
        key = f"({SOURCE}){known.remote_id}"
        assert key in [value for field in record.get_fields("035") for value in field.get_subfields("a")]
        (note,) = record.get_fields("883")
        assert note.get_subfields("a") == [f"harvested (sru, query {QUERY})"]
        assert note.get_subfields("q", "u", "w") == [SOURCE, URL, key]
        assert note.get_subfields("d") == [known.harvested[:10].replace("-", "")]
        assert store.marc(number - EXTERNAL_ISN_BASE)[:5] != b""   # still there


def test_every_format_carries_the_provenance(home, tmp_path) -> None:
    store = ExternalStore(home)
    try:
        out = tmp_path / "external.mrc"
        with out.open("wb") as handle:
            report = export_external(home, handle)
        assert report.records == 25
        with out.open("rb") as handle:
            _provenance_of(list(pymarc.MARCReader(handle, to_unicode=True, force_utf8=True)), store)
        xml = tmp_path / "external.xml"
        with xml.open("wb") as handle:
            export_external(home, handle, fmt="marcxml", source=SOURCE)
        _provenance_of(pymarc.parse_xml_to_array(str(xml)), store)
        js = tmp_path / "external.json"
        with js.open("wb") as handle:
            export_external(home, handle, fmt="json")
        _provenance_of(list(pymarc.JSONReader(js.read_text())), store)
        pica = tmp_path / "external.pica"
        with pica.open("wb") as handle:
            assert export_external(home, handle, fmt="pica").records == 25
        assert pica.read_text().count(f"003@ $0{EXTERNAL_ISN_BASE + 1}\n") == 1
    finally:
        store.close()


def test_since_lists_what_a_later_harvest_deleted(home, tmp_path) -> None:
    since = parse_since("2000-01-01")
    store = ExternalStore(home)
    try:
        state = HarvestState(SOURCE, "sru", URL, query=QUERY, run=2)
        with store.catalog.transaction():
            from index.external import ExternalRecord

            store.put(state, ExternalRecord("r3", deleted=True), preparer(SOURCE, "marcxml"))
        isn = store.catalog.db.execute("SELECT max(isn) FROM deleted_titles").fetchone()[0]
    finally:
        store.close()
    out = tmp_path / "since.mrc"
    with out.open("wb") as handle:
        report = export_external(home, handle, since=since, deleted_path=tmp_path / "since.deleted")
    assert (report.records, report.deletions) == (24, 1)
    assert (tmp_path / "since.deleted").read_text().startswith(f"{EXTERNAL_ISN_BASE + isn}\t")
    with out.open("rb") as handle:
        last = list(pymarc.MARCReader(handle))[-1]
    assert last.leader[5] == "d" and last["001"].data == str(EXTERNAL_ISN_BASE + isn)
    with out.open("wb") as handle:   # nothing changed since a future day
        assert export_external(home, handle, since=parse_since("2999-01-01")).records == 0


def test_refusals_say_why(home, tmp_path) -> None:
    with pytest.raises(DumpError, match="no records harvested from source 'nowhere' \\(sources: remote\\)"):
        export_external(home, open(tmp_path / "x", "wb"), source="nowhere")
    empty = make_home(tmp_path / "empty", (SAMPLE_DATA / "unikat.toml").read_text())
    with pytest.raises(DumpError, match="nothing harvested yet"):
        export_external(empty, open(tmp_path / "y", "wb"))
    command = [sys.executable, "-m", "zserver", "--home", str(home.root), "export"]
    done = subprocess.run([*command, "--database", "external", "--format", "marcxml", "--out", str(tmp_path / "e.xml")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "exported the external database external: 25 records" in done.stdout
    assert len(pymarc.parse_xml_to_array(str(tmp_path / "e.xml"))) == 25
    for arguments, message in ((["--database", "nope"], "export writes the union catalog (unikat) or the external"),
                               (["--database", "external", "--library", "C"], "--library and the external database"),
                               (["--source", "remote"], "--source is for the external-data catalog"),
                               (["--database", "external", "--source", "nowhere", "--out", str(tmp_path / "n.mrc")],
                                "no records harvested from source 'nowhere'")):
        refused = subprocess.run([*command, *arguments], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and message in refused.stderr and "nothing exported" in refused.stderr, \
            refused.stderr
    assert not (tmp_path / "n.mrc.partial").exists() and not (tmp_path / "n.mrc").exists()
