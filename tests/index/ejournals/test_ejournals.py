"""`unikat ejournals` on real records: the sample e-journals (PICA+, ZDB-like), a real MARC
e-serial with a DDC number (traject's the_business_ren.marc) and print serials that must stay
out; the lists by subject group and library as HTML, Dublin Core XML (DCMI terms) and CSV,
each URL with its link-check state (results recorded as `unikat linkcheck` records them)."""

from __future__ import annotations

import csv

import pytest
from conftest import SAMPLE_DATA, TEST_CONFIG, load, make_home, shared
from lxml import etree

from index.ejournals.dcterms import DCTERMS, XSI
from index.ejournals.select import NO_GROUP, electronic_serials
from index.links.check import Hop, LinkCheck, LinkState
from index.store.catalog import CatalogStore
from index.store.links import LinkResults
from zserver.cli import main

BUSINESS = "the business renaissance quarterly"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("ejournals") / "home", TEST_CONFIG)
    load(home, "ZDB", SAMPLE_DATA / "ejournals.pica")
    for name in ("the_business_ren.marc", "nature.marc", "date_resort_to_260.marc"):   # e-serial, two print serials
        load(home, "B", shared(f"github/traject+traject/{name}"))
    return home


def serials(home):
    store = CatalogStore.of(home)
    try:
        return list(electronic_serials(store))
    finally:
        store.close()


def test_electronic_serials_and_their_subject_groups(home) -> None:
    journals = serials(home)
    assert len(journals) == 23    # the 22 sample e-journals and the one MARC e-serial; print serials stay out
    business = next(j for j in journals if j.title.lower().startswith(BUSINESS))
    assert [(s.scheme, s.code, s.group) for s in business.subjects] == [("DDC", "306.36", "300")]
    assert business.libraries == ("B",)
    assert set(business.urls) == {"http://search.proquest.com/publication/39705",
                                  "http://search.ebscohost.com/direct.asp?db=bth&jid=2Q82&scope=site"}
    plos = next(j for j in journals if j.title == "PLoS one")
    assert plos.groups == (NO_GROUP,) and plos.issns == ("1932-6203",) and plos.libraries == ("A", "WWW 1")
    assert [(a.library, a.url) for a in plos.access] == [(library, "https://journals.plos.org/plosone/")
                                                          for library in ("", "A", "WWW 1")]


def test_lists_with_link_states(home, tmp_path, capsys) -> None:
    results = LinkResults.of(home)
    broken, moved = "http://search.proquest.com/publication/39705", "https://journals.plos.org/plosone/"
    try:
        results.record([LinkCheck(broken, LinkState.BROKEN, 404, final_url=broken),
                        LinkCheck(moved, LinkState.MOVED, 200, redirects=(Hop(301, moved),),
                                  final_url="https://journals.plos.org/plosone/s/journal-information")],
                       now="2026-11-30 12:00:00")
    finally:
        results.close()
    out = tmp_path / "lists"
    assert main(["--home", str(home.root), "ejournals", "--out", str(out)]) == 0
    assert "23 electronic serials: " in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "subject-300.html", "subject-none.html", "library-A.html", "library-B.html",
            "library-WWW_1.html", "ejournals.csv", "ejournals-dcterms.xml"} <= names

    rows = list(csv.DictReader((out / "ejournals.csv").open(encoding="utf-8")))
    by_url = {(row["url"], row["url_of"]): row for row in rows}
    assert by_url[(broken, "title")]["link_state"] == "broken" and by_url[(broken, "title")]["link_outcome"] == "404"
    assert by_url[(moved, "title")]["link_state"] == "moved"
    assert by_url[(moved, "title")]["final_url"] == "https://journals.plos.org/plosone/s/journal-information"
    assert by_url[(moved, "A")]["link_state"] == "moved"   # the holding's URL: the same address, the same state
    assert {row["link_state"] for row in rows} == {"broken", "moved", "unchecked"}

    group = (out / "subject-300.html").read_text(encoding="utf-8")
    assert "300 Social sciences" in group and "306.36 (DDC)" in group and '<span class="state broken"' in group
    assert "PLoS one" not in group
    library_a = (out / "library-A.html").read_text(encoding="utf-8")
    assert "PLoS one" in library_a and "proxy.lib-a.example" in library_a and "ezproxy.lib-b.example" not in library_a


def test_dublin_core_xml(home, tmp_path) -> None:
    out = tmp_path / "lists"
    assert main(["--home", str(home.root), "ejournals", "--out", str(out)]) == 0
    root = etree.parse(str(out / "ejournals-dcterms.xml")).getroot()   # well-formed, or this raises
    records = root.findall("record")
    assert root.tag == "records" and len(records) == 23
    for record in records:
        assert record.get("id").isdigit()
        assert all(etree.QName(child).namespace == DCTERMS for child in record)
        assert record.find(f"{{{DCTERMS}}}title").text
        for child in record:
            scheme = child.get(f"{{{XSI}}}type")
            if scheme is not None:   # a QName: its prefix must be declared as DCMI terms
                prefix, local = scheme.split(":")
                assert child.nsmap[prefix] == DCTERMS and local in ("URI", "DDC", "DCMIType", "ISO639-2")
    business = next(r for r in records if r.find(f"{{{DCTERMS}}}title").text.lower().startswith(BUSINESS))
    subject = business.find(f"{{{DCTERMS}}}subject")
    assert (subject.text, subject.get(f"{{{XSI}}}type")) == ("306.36", "dcterms:DDC")
    identifiers = [(i.text, i.get(f"{{{XSI}}}type")) for i in business.findall(f"{{{DCTERMS}}}identifier")]
    assert ("http://search.proquest.com/publication/39705", "dcterms:URI") in identifiers
