"""The authority file on real data: IISH's 1,066 authority records (Evergreen's auth-1066.mrc,
a bilingual subject thesaurus in tags 103/403/503) and DNB's GND records inside a PICA+ file.

Bibliographic records are the sample catalog's real LC records with one added subject heading
each, taken from the authority file: sometimes the established form, sometimes a see-from form.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pymarc
import pytest
from conftest import SAMPLE_DATA, load, make_home, shared
from pymarc import Field, Indicators, Subfield

from index.authority.headings import authority_forms, heading_of
from index.authority.link import SEE_FROM_TAG
from index.loading.load import load_file
from index.query import Completeness, Structure, Term
from index.records.marc import read_marc21
from index.search import AUTHORITY_DATABASE, Catalog, SeeReference, key_term
from index.searchkeys.normalize import normalize
from index.store.catalog import CatalogStore

CONFIG = """
[catalog]
database = "unikat"
[libraries.A]
source_system = "A-ILS"
holdings = "record"
[libraries.DNB]
source_system = "DNB"
holdings = "pica"
require_holdings = false
"""
AUTHORITIES = "github/evergreen-library-system+Evergreen/auth-1066.mrc"


@pytest.fixture(scope="module")
def thesaurus() -> list[pymarc.Record]:
    return [item.record for item in read_marc21(shared(AUTHORITIES).read_bytes())]


@pytest.fixture(scope="module")
def unambiguous(thesaurus) -> list[tuple[str, str, list[str]]]:
    """(established Dutch term, a see-from term, all other forms) of authority records whose
    forms belong to no other record: the headings a title can be linked by without doubt."""
    owners = Counter(form.key for record in thesaurus for form in {f.key: f for f in authority_forms(record)}.values()
                     if form.form in "ax")
    chosen = []
    for record in thesaurus:
        forms = [f for f in authority_forms(record) if f.form in "ax"]
        variants = [f for f in forms if f.form == "x"]
        if variants and all(owners[f.key] == 1 for f in forms):
            chosen.append((forms[0].text, variants[0].text, [f.text for f in forms]))
    assert len(chosen) > 20
    return chosen


def _bibs(headings: list[str], path: Path) -> Path:
    records = [item.record for item in read_marc21((SAMPLE_DATA / "lib-a.mrc").read_bytes())][:len(headings)]
    for record, heading in zip(records, headings, strict=True):
        record.add_ordered_field(Field(tag="650", indicators=Indicators(" ", "7"),
                                       subfields=[Subfield("a", heading), Subfield("2", "iish")]))
    path.write_bytes(b"".join(r.as_marc() for r in records))
    return path


def _authority_file(home) -> object:
    from index.config import LibraryConfig

    return LibraryConfig(code="AUTH", name="Authority file", source_system="IISG", holdings="record",
                         require_holdings=False)


def _load_authorities(home, path: Path):
    store = CatalogStore.of(home)
    try:
        from index.loading import indexing

        report = load_file(home, store, _authority_file(home), path, authority_only=True)
        indexing.update(home, store)
        return report
    finally:
        store.close()


def _found(home, index: str, text: str, database: str = "unikat") -> list[int]:
    """Titles having `text` as a whole heading (an exact search, as a scan would select it)."""
    catalog = Catalog(home)
    try:
        term = Term(index, text, structure=Structure.PHRASE, completeness=Completeness.COMPLETE_FIELD)
        return catalog.search(term, catalog.database(database)).isns()
    finally:
        catalog.close()


def test_authority_records_are_their_own_database(tmp_path, thesaurus):
    home = make_home(tmp_path / "home", CONFIG)
    report = _load_authorities(home, shared(AUTHORITIES))
    assert report.counts["new"] == report.counts["authority"] == len(thesaurus) == 1066
    catalog = Catalog(home)
    try:
        assert catalog.database(AUTHORITY_DATABASE).authorities
        assert catalog.search(Term("subject", "docks"), catalog.database(AUTHORITY_DATABASE)).size >= 1
        assert catalog.search(Term("any", "docks"), catalog.database("A")).size == 0
        assert catalog.search(Term("subject", "docks"), catalog.database("unikat")).size == 0
        assert catalog.search(Term("material_type", "authority"), catalog.database(AUTHORITY_DATABASE)).size == 1066
        entries, _position = catalog.scan("subject", "docks", count=5, database=catalog.database(AUTHORITY_DATABASE))
        assert entries and all(entry.count >= 1 for entry in entries)
        assert catalog.store.cluster_counts()["titles"] == 0
    finally:
        catalog.close()
    bibs = _bibs(["Havens"], tmp_path / "bib.mrc")
    rejected = _load_authorities(home, bibs)
    assert rejected.counts["rejected"] == 1
    assert "not an authority record" in rejected.reject_file.read_text(errors="replace")


@pytest.mark.parametrize("order", ["authorities first", "titles first"])
def test_a_search_on_any_form_finds_the_title(tmp_path, unambiguous, order):
    """Established form used by half the titles, a see-from form by the other half; linked
    either way, whichever file arrives first."""
    picks = unambiguous[:10]
    used = [p[0] if n % 2 == 0 else p[1] for n, p in enumerate(picks)]
    home = make_home(tmp_path / "home", CONFIG)
    bibs = _bibs(used, tmp_path / "bibs.mrc")
    if order == "authorities first":
        _load_authorities(home, shared(AUTHORITIES))
        load(home, "A", bibs)
    else:
        load(home, "A", bibs)
        _load_authorities(home, shared(AUTHORITIES))
    for (established, variant, forms), heading in zip(picks, used, strict=True):
        for form in {established, variant, *forms}:
            found = _found(home, "subject", form)
            assert len(found) == 1, (heading, form, found)
        assert _found(home, "subject", established, AUTHORITY_DATABASE)
    store = CatalogStore.of(home)
    try:
        isn = _found(home, "subject", used[1])[0]
        record = pymarc.Record(data=store.display(isn), to_unicode=True, force_utf8=True)
        see_from = record.get_fields(SEE_FROM_TAG)
        assert {f.get("a") for f in see_from} >= {picks[1][0]}
        assert {f.get("9") for f in see_from} == {"650"}
        linked = [f for f in record.get_fields("650") if f.get("a") == used[1]][0]
        assert linked.get("0") == see_from[0].get("0") and linked.get("0").startswith("(IISG)")
    finally:
        store.close()


def test_the_authority_database_scans_a_full_window_beside_many_titles(tmp_path):
    # the authority file has few of a catalog's terms: a window of its own had come back nearly empty
    home = make_home(tmp_path / "home", CONFIG)
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    _load_authorities(home, shared(AUTHORITIES))
    catalog = Catalog(home)
    try:
        authorities = catalog.database(AUTHORITY_DATABASE)
        for start in ("h", "w", "docks"):
            entries, position = catalog.scan("any", start, count=20, preferred_position=3, database=authorities)
            assert len(entries) == 20 and position == 3, start
            for entry in entries:
                found = catalog.search(key_term("any", entry.term), authorities).size
                assert entry.count == found > 0, entry.term
    finally:
        catalog.close()


def test_scan_shows_see_references(tmp_path, unambiguous):
    established, variant, _forms = unambiguous[0]
    home = make_home(tmp_path / "home", CONFIG)
    _load_authorities(home, shared(AUTHORITIES))
    load(home, "A", _bibs([established], tmp_path / "bibs.mrc"))
    catalog = Catalog(home)
    try:
        entries, _position = catalog.scan("subject", variant, count=3)
        entry = entries[0]
        assert isinstance(entry, SeeReference) and established in entry.see and entry.count == 1
        # displayTerm: the see-from heading as catalogued, then where to look
        assert entry.heading and normalize(entry.heading) == entry.term
        assert entry.display.startswith(f"{entry.heading} see ") and established in entry.display
        plain = [e for e in entries if not isinstance(e, SeeReference)]
        assert all(e.count >= 0 for e in plain)
    finally:
        catalog.close()


def test_scan_shows_see_also_references(tmp_path, thesaurus):
    """A heading that an authority record traces as see-also-from (5XX) leads to that record's
    established heading: `Havens see also Havenarbeiders`."""
    related = next((established, traced) for record in thesaurus
                   for established in [next(f for f in authority_forms(record) if f.form == "a")]
                   for traced in authority_forms(record) if traced.form == "r")
    established, traced = related
    home = make_home(tmp_path / "home", CONFIG)
    _load_authorities(home, shared(AUTHORITIES))
    load(home, "A", _bibs([traced.text], tmp_path / "bibs.mrc"))
    catalog = Catalog(home)
    try:
        entries, _position = catalog.scan("subject", traced.text, count=3)
        entry = entries[0]
        assert entry.term == traced.key and entry.count == 1
        assert isinstance(entry, SeeReference) and established.text in entry.also
        assert entry.display.startswith(f"{entry.heading} ") and f"see also {'; '.join(entry.also)}" in entry.display
    finally:
        catalog.close()


def test_ambiguous_headings_stay_unlinked(tmp_path, thesaurus):
    owners = Counter(f.key for r in thesaurus for f in authority_forms(r) if f.form in "ax")
    ambiguous = next(f.text for r in thesaurus for f in authority_forms(r) if f.form == "x" and owners[f.key] > 1)
    home = make_home(tmp_path / "home", CONFIG)
    _load_authorities(home, shared(AUTHORITIES))
    load(home, "A", _bibs([ambiguous], tmp_path / "bibs.mrc"))
    store = CatalogStore.of(home)
    try:
        isn = store.db.execute("SELECT isn FROM titles WHERE bibtype NOT LIKE 'z%'").fetchone()[0]
        record = pymarc.Record(data=store.display(isn), to_unicode=True, force_utf8=True)
        assert record.get_fields(SEE_FROM_TAG) == []
    finally:
        store.close()


def test_authority_changes_and_deletions_relink_titles(tmp_path, thesaurus, unambiguous):
    established, variant, _forms = unambiguous[2]
    home = make_home(tmp_path / "home", CONFIG)
    authority_path = tmp_path / "auth.mrc"
    authority_path.write_bytes(b"".join(r.as_marc() for r in thesaurus))
    _load_authorities(home, authority_path)
    load(home, "A", _bibs([variant], tmp_path / "bibs.mrc"))
    assert len(_found(home, "subject", established)) == 1
    record = next(r for r in thesaurus if any(f.text == established and f.form == "a" for f in authority_forms(r)))
    changed = pymarc.Record(data=record.as_marc(), to_unicode=True, force_utf8=True)
    changed.add_ordered_field(Field(tag="403", indicators=Indicators(" ", "0"),
                                    subfields=[Subfield("a", "Unikatvariantterm")]))
    changed_path = tmp_path / "changed.mrc"
    changed_path.write_bytes(changed.as_marc())
    assert _load_authorities(home, changed_path).counts["updated"] == 1
    assert len(_found(home, "subject", "unikatvariantterm")) == 1
    changed.leader = str(changed.leader)[:5] + "d" + str(changed.leader)[6:]
    changed_path.write_bytes(changed.as_marc())
    assert _load_authorities(home, changed_path).counts["deleted"] == 1
    assert _found(home, "subject", "unikatvariantterm") == []
    assert _found(home, "subject", established) == []
    assert len(_found(home, "subject", variant)) == 1


def test_gnd_records_in_pica_are_filed_and_linked(tmp_path):
    """DNB's mixed PICA+ file: GND records go into the authority file, titles link to them;
    a title using a GND see-from form is found under the established form."""
    home = make_home(tmp_path / "home", CONFIG)
    path = shared("github/deutsche-nationalbibliothek+pica-rs/testdaten.dat.old")
    report = load(home, "DNB", path)
    assert report.counts["authority"] == 300
    store = CatalogStore.of(home)
    try:
        assert store.count_authorities() == 300
        munich = store.authorities_with_heading("geographic", "munchen")
        assert len(munich) == 1
        titles = store.titles_with_headings([("geographic", "munchen")])
        assert titles
        record = pymarc.Record(data=store.display(min(titles)), to_unicode=True, force_utf8=True)
        assert any(heading_of(f)[1] == "munchen" and "(PICA)966465881" in f.get_subfields("0")
                   for f in record.get_fields("651"))
        place = next(isn for isn, in store.db.execute(
            "SELECT DISTINCT isn FROM authority_headings WHERE form = 'x' AND kind = 'geographic'"
            " AND isn IN (SELECT isn FROM authority_headings GROUP BY isn HAVING count(*) >= 3) ORDER BY isn"))
        forms = store.authority_headings(place)
    finally:
        store.close()
    established = forms[0][3]
    variant = next(heading for form, _kind, _key, heading in forms if form == "x")
    bib = pymarc.Record(data=next(r for r in _lc_records(1)).as_marc(), to_unicode=True, force_utf8=True)
    bib.add_ordered_field(Field(tag="651", indicators=Indicators(" ", "7"),
                                subfields=[Subfield("a", variant), Subfield("2", "gnd")]))
    (tmp_path / "bib.mrc").write_bytes(bib.as_marc())
    load(home, "A", tmp_path / "bib.mrc")
    assert heading_of(bib.get("651"))[0] == "geographic"
    found = _found(home, "subject", established)
    assert len(found) == 1


def _lc_records(count: int) -> list[pymarc.Record]:
    return [item.record for item in read_marc21((SAMPLE_DATA / "lib-a.mrc").read_bytes())][:count]
