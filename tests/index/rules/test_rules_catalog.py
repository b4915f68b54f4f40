"""LFER holdings, consortium sigels and edition links in a real catalog (sample_data's
e-journals plus two print editions), on both engines: built by the loader's hook, kept by
`unikat lfer`, removed when a title is no longer licence-free, seen in databases and records."""

from __future__ import annotations

import re

import pymarc
import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home
from pymarc import Field, Indicators, Subfield

from index.consortia import library_holds
from index.dumps import export
from index.query import Structure, Term
from index.search import Catalog
from index.store import rule_holdings as rule_table
from index.store.catalog import CatalogStore
from zserver.cli import main
from zserver.z3950 import present

CONFIG = (SAMPLE_DATA / "unikat.toml").read_text(encoding="utf-8") + """
[virtual.LFER]
name = "LFER: licence-free electronic resources"
rule = "lfer"

[consortia."WWW 1"]
name = "Konsortium WWW 1"
members = ["B", "C"]
"""


def _print_edition(ppn: str, title: str, issn: str = "", note: str = "") -> pymarc.Record:
    record = pymarc.Record(force_utf8=True, leader="00000nas a2200000 a 4500")
    record.add_field(Field(tag="001", data=ppn), Field(tag="003", data="PICA"),
                     Field(tag="008", data="950101c19959999gw |||p|||||||||||||eng d"))
    if issn:
        record.add_field(Field(tag="022", indicators=Indicators(" ", " "), subfields=[Subfield("a", issn)]))
    record.add_field(Field(tag="245", indicators=Indicators("0", "0"), subfields=[Subfield("a", title)]))
    if note:
        record.add_field(Field(tag="500", indicators=Indicators(" ", " "), subfields=[Subfield("a", note)]))
    record.add_field(Field(tag="852", indicators=Indicators(" ", " "), subfields=[Subfield("a", "A"),
                                                                                  Subfield("h", "Z 100")]))
    return record


@pytest.fixture(scope="module", params=ENGINES)
def home(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"rules-{request.param}")
    home = make_home(root / "home", CONFIG, engine=request.param)
    load(home, "ZDB", SAMPLE_DATA / "ejournals.pica")
    prints = root / "prints.mrc"
    with prints.open("wb") as out:   # linked from the e-journals' 039D: by ISSN (and $w), by $w alone
        out.write(_print_edition("860000001", "Histochemistry and cell biology", "0948-6143",
                                 "Bibliotheksexemplar der Druckausgabe").as_marc())
        out.write(_print_edition("860158381", "PLoS biology").as_marc())
    load(home, "A", prints)
    return home


def _isn(catalog: Catalog, ppn: str) -> int:
    found = catalog.search(Term("local_number", ppn, structure=Structure.KEY), catalog.database("unikat"))
    assert found.size == 1, ppn
    return found.isns()[0]


def test_loader_built_the_lfer_holdings(home):
    catalog = Catalog(home)
    try:
        lfer = catalog.search(Term("any", "journal*"), catalog.database("LFER"))   # the LFER database
        everything = catalog.search(Term("library", "LFER", structure=Structure.KEY), catalog.database("unikat"))
        assert everything.size == 12
        plos = catalog.record(_isn(catalog, "870079190"))
        built = [h for h in plos.holdings if h.library == "LFER"]
        assert len(built) == 1 and built[0].rule == "lfer"
        assert built[0].url == "https://journals.plos.org/plosone/" and built[0].note.startswith("Rule-built")
        licensed = catalog.record(_isn(catalog, "870791907"))   # Nature: Obvz
        assert "LFER" not in {h.library for h in licensed.holdings}
        assert lfer.size <= 12
    finally:
        catalog.close()


def test_opac_record_shows_lfer_holding(home):
    catalog = Catalog(home)
    try:
        record = catalog.record(_isn(catalog, "870079190"))
        external = present.render(record, present.composition("1.2.840.10003.5.102", None),
                                  catalog.library_names)
        text = repr(external)
        assert "LFER: licence-free electronic resources" in text and "Rule-built holding (lfer rule)" in text
        assert "https://journals.plos.org/plosone/" in text
    finally:
        catalog.close()


def test_consortium_holding_counts_for_members(home):
    catalog = Catalog(home)
    try:
        union, view_b = catalog.database("unikat"), catalog.database("B")
        www1 = catalog.search(Term("library", "WWW 1", structure=Structure.KEY), union)
        own_b = catalog.search(Term("library", "B", structure=Structure.KEY), union).size   # widened too
        in_b = set(catalog.search(Term("library", "B", structure=Structure.KEY), view_b).isns())
        assert www1.size == 16 and set(www1.isns()) <= in_b and own_b == len(in_b)
        plos = catalog.record(_isn(catalog, "870079190"))   # held by A, WWW 1 (and LFER), not by B itself
        assert "B" not in {h.library for h in plos.holdings}
        assert library_holds(catalog.config, plos.holdings, "B") and library_holds(catalog.config, plos.holdings, "C")
        assert not library_holds(catalog.config, plos.holdings, "ZDB")
        shown = present.render(plos, present.composition("1.2.840.10003.5.102", None), catalog.library_names,
                               catalog.view_libraries(view_b))
        text = repr(shown)   # B's view: the consortium's holding, once, named with its members
        assert text.count("WWW 1") >= 1 and "Konsortium WWW 1 (consortium; members: Library B" in text
        assert "Library A" not in text
    finally:
        catalog.close()


def test_other_editions_both_ways(home):
    catalog = Catalog(home)
    try:
        online, printed = _isn(catalog, "870000004"), _isn(catalog, "860000001")
        assert [(e.isn, e.label) for e in catalog.other_editions(online)] == [
            (printed, "Druckausg.: Histochemistry and cell biology")]
        assert [e.isn for e in catalog.other_editions(printed)] == [online]
        by_number = _isn(catalog, "860158381")   # no ISSN: found by 039D $9 -> 776 $w (PICA)860158381
        assert [e.isn for e in catalog.other_editions(by_number)] == [_isn(catalog, "870158384")]
        union = catalog.database("unikat")
        assert catalog.search(Term("any", "Bibliotheksexemplar"), union).isns() == [printed]
        assert sorted(catalog.search(Term("editions", "Bibliotheksexemplar"), union).isns()) == sorted([printed, online])
    finally:
        catalog.close()


def test_lfer_command_checks_and_dry_run(home, capsys):
    assert main(["--home", str(home.root), "lfer", "--dry-run", "--all"]) == 0
    out = capsys.readouterr().out
    assert "22 titles evaluated" in out or "24 titles evaluated" in out
    assert "would be 0 added, 0 changed, 12 checked, 0 removed" in out
    assert main(["--home", str(home.root), "lfer", "--all"]) == 0
    assert "0 added, 0 changed, 12 checked, 0 removed" in capsys.readouterr().out
    store = CatalogStore.of(home)
    try:
        held = rule_table.rule_holdings(store.db, "LFER")
        assert len(held) == 12 and all(h.checked and h.created for h in held.values())
        notes = {h.note for isn in held for h in store.holdings(isn) if h.rule}
        assert all(re.fullmatch(r"Rule-built holding \(lfer rule\); checked \d{4}-\d\d-\d\d \(8002 gepr\)", n)
                   for n in notes)
        # `changed` counts in seconds, so a run re-reads titles changed in its own second: age them
        with store.transaction():
            store.db.execute("UPDATE titles SET changed = '2000-01-01 00:00:00'")
            store.db.execute("UPDATE titles SET changed = datetime('now') WHERE isn = ?", (min(held),))
    finally:
        store.close()
    assert main(["--home", str(home.root), "lfer"]) == 0   # only the title changed since the last run
    assert "1 titles evaluated" in capsys.readouterr().out


def test_title_losing_licence_freedom_loses_lfer(home, tmp_path):
    text = (SAMPLE_DATA / "ejournals.pica").read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    index = next(i for i, b in enumerate(blocks) if "003@ $0870079190" in b)   # PLoS one
    changed = blocks[index].replace("002@ $0Obvl", "002@ $0Obvz").replace("$xH$zLF", "$xH")
    changed = re.sub(r"001B \$0[^\n]*", "001B $01240:02-12-26$t09:00:00.000", changed)
    delivery = tmp_path / "update.pica"
    delivery.write_text(changed + "\n", encoding="utf-8")
    catalog = Catalog(home)
    try:
        isn = _isn(catalog, "870079190")
    finally:
        catalog.close()
    report = load(home, "ZDB", delivery)
    assert report.counts["updated"] == 1
    catalog = Catalog(home)
    try:
        assert "LFER" not in {h.library for h in catalog.record(isn).holdings}
        assert catalog.search(Term("library", "LFER", structure=Structure.KEY), catalog.database("unikat")).size == 11
        assert isn not in catalog.search(Term("any", "plos"), catalog.database("LFER")).isns()
    finally:
        catalog.close()


def test_web_page_and_sru_opac(home):
    from zserver.sru.response import holdings_element
    from zserver.web.page import record_page

    catalog = Catalog(home)
    try:
        online, printed = _isn(catalog, "870000004"), _isn(catalog, "860000001")
        page = record_page(online, {}, catalog).decode("utf-8")
        assert "Other editions" in page and f'href="/record/{printed}"' in page
        assert f'href="/record/{online}"' in record_page(printed, {}, catalog).decode("utf-8")
        plos = catalog.record(_isn(catalog, "870158384"))   # PLoS biology (PLoS one loses LFER above)
        page = record_page(plos.isn, {}, catalog).decode("utf-8")
        assert 'class="rule-built"' in page and "Rule-built holding (lfer rule)" in page
        element = holdings_element(plos.holdings, catalog.library_names)
        built = [h for h in element if h.get("rule") == "lfer"]
        assert len(built) == 1
        assert [u.text for u in built[0] if u.tag.endswith("url")] == ["https://journals.plos.org/plosbiology/"]
    finally:
        catalog.close()


def test_lfer_without_virtual_library_is_refused(tmp_path, capsys):
    bare = make_home(tmp_path / "bare", (SAMPLE_DATA / "unikat.toml").read_text(encoding="utf-8"))
    assert main(["--home", str(bare.root), "lfer"]) == 2
    assert "no virtual library in" in capsys.readouterr().err


def test_a_whole_catalog_dump_carries_the_rule_built_holdings_with_their_urls(home, tmp_path):
    dump = tmp_path / "all.mrc"
    with dump.open("wb") as out:
        export(home, out)
    built = {}
    with dump.open("rb") as data:
        for record in pymarc.MARCReader(data, to_unicode=True, force_utf8=True):
            for field in record.get_fields("852"):
                if field.get("a") == "LFER":
                    built[record["001"].value()] = field
    store = CatalogStore.of(home)
    try:
        expected = {str(isn): holding for isn, holding in rule_table.rule_holdings(store, "LFER").items()}
    finally:
        store.close()
    assert built and set(built) == set(expected)
    for isn, field in built.items():
        assert field.get_subfields("u") == list(expected[isn].urls)   # the free URL and the EZB URL
        assert "Rule-built holding" in field.get("z")


def test_the_oai_set_of_a_virtual_library_lists_its_rule_built_titles(home):
    """A library's set is the titles it holds, rule-built holdings included (LFER's own set)."""
    from lxml import etree

    from zserver.net.http import HttpCore

    ns = {"o": "http://www.openarchives.org/OAI/2.0/"}
    catalog = Catalog(home)
    try:
        built = set(catalog.search(Term("library", "LFER", structure=Structure.KEY), catalog.database("unikat")).isns())
        core, query, listed = HttpCore(catalog), "metadataPrefix=oai_dc&set=LFER", {}
        while query:
            root = etree.fromstring(core.respond("GET", f"/oai?verb=ListIdentifiers&{query}".encode()).body)
            for header in root.iterfind(".//o:header", ns):
                if header.get("status") != "deleted":
                    isn = int(header.findtext("o:identifier", namespaces=ns).rsplit(":", 1)[1])
                    listed[isn] = [spec.text for spec in header.iterfind("o:setSpec", ns)]
            token = root.findtext(".//o:resumptionToken", namespaces=ns)
            query = f"resumptionToken={token}" if token else ""
        assert len(built) >= 11 and set(listed) == built
        assert all("LFER" in specs for specs in listed.values())
    finally:
        catalog.close()


def test_a_rule_built_holding_gives_its_title_a_new_datestamp(home):
    """Harvesters asking for changes since a time get a title whose rule-built holdings changed."""
    store = CatalogStore.of(home)
    try:
        isn = next(iter(rule_table.rule_holdings(store.db, "LFER")))
        with store.transaction():
            store.db.execute("UPDATE titles SET changed = '2000-01-01 00:00:00' WHERE isn = ?", (isn,))
            rule_table.remove(store, isn, "LFER")
    finally:
        store.close()
    assert main(["--home", str(home.root), "lfer", "--all"]) == 0   # builds it again
    store = CatalogStore.of(home)
    try:
        assert isn in rule_table.rule_holdings(store.db, "LFER")
        assert store.db.execute("SELECT changed FROM titles WHERE isn = ?", (isn,)).fetchone()[0] > "2000-01-01 00:00:00"
    finally:
        store.close()
