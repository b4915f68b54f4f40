"""Query semantics on real records: Zebra's own expectations, Bib-1 attributes, result sets, sorting.

Every test runs on both engines (Whoosh and SQLite), which must agree.

Queries are written in PQF, as a Z39.50 client sends them, and go through the same path as the
server's: PQF → RPN → Bib-1 mapping → neutral tree → Whoosh.
"""

from __future__ import annotations

import time

import pytest
from conftest import ENGINES, load, make_home, shared

from index import errors
from index.engines.base import RELEVANCE, SortField, SortKey, sort_field
from index.kept import KeptAnswers
from index.search import AUTHORITY_DATABASE, Catalog, key_term
from index.searchkeys.normalize import normalize
from index.searchkeys.queryterms import key_forms
from index.searchkeys.spec import INDEXES
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query
from zserver.z3950.diagnostics import Z3950Diagnostic


@pytest.fixture(scope="module", params=ENGINES)
def zebra_sample(request, tmp_path_factory) -> Catalog:
    home = make_home(tmp_path_factory.mktemp("zebra-sample"), engine=request.param)
    load(home, "A", shared("github/indexdata+idzebra/test/marcxml/sample-marc"))
    return Catalog(home)


@pytest.fixture(scope="module", params=ENGINES)
def spec_recs(request, tmp_path_factory) -> Catalog:
    home = make_home(tmp_path_factory.mktemp("spec-recs"), engine=request.param)
    load(home, "A", shared("github/solrmarc+solrmarc/specTestRecs.mrc"))
    load(home, "B", shared("github/traject+traject/test_data.utf8.mrc"))
    return Catalog(home)


def hits(catalog: Catalog, pqf: str, database: str = "unikat", **sets) -> int:
    return catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database(database), result_sets=sets.get).size


# Zebra's test/marcxml/t2.c on the same 24 records (sample-marc), same expected counts.
@pytest.mark.parametrize("pqf, expected", [
    ("@and @attr 1=54 eng @and @attr 1=1003 jack @attr 1=4 computer", 2),
    ("@attr 1=1003 jack", 2),
    ("@attr 1=1003 collins", 2),
    ("@attr 1=1003 @attr 3=1 collins", 0),
    ("@attr 1=4 @attr 3=1 program", 0),
    ("@attr 1=4 @attr 3=1 to", 0),
])
def test_zebra_expectations_on_sample_marc(zebra_sample, pqf, expected):
    assert hits(zebra_sample, pqf) == expected


# Zebra's t2.c also searches `@attr 1=leader ...`: Zebra indexes the leader as a field of its own.
# We do not offer the leader as an index; material type (1=1031) covers what a user needs from it.
def test_leader_is_not_an_index_and_says_so(zebra_sample):
    with pytest.raises(Z3950Diagnostic) as raised:
        hits(zebra_sample, "@attr 1=leader 00366")
    assert raised.value.code == 114


@pytest.mark.parametrize("pqf", [
    "@attr 1=4 program",                          # word
    "@attr 1=4 @attr 4=1 \"program a computer\"",  # phrase
    "@attr 1=4 @attr 4=2 computer",
    "@attr 1=4 @attr 4=6 \"program a computer\"",
    "@attr 1=4 @attr 5=1 progr",                  # right truncation
    "@attr 1=4 @attr 5=2 gram",                   # left truncation
    "@attr 1=4 @attr 5=3 rogra",                  # both
    "@attr 1=4 @attr 5=101 pro#ram",              # masking
    "@attr 1=4 @attr 3=1 how",                    # first in field
    "@attr 1=4 @attr 6=3 \"how to program a computer\"",  # complete field
    "@attr 1=4 @attr 2=102 \"program computer\"",  # relevance
    "@attr 1=1016 computer",
    "@attr 1=1035 computer",
    "@attr 1=1003 @attr 5=1 coll",
    "@attr 1=31 1991",
    "@attr 1=31 @attr 2=4 1991",
    "@attr 1=31 @attr 2=2 1991",
])
def test_supported_attribute_combinations_find_the_computer_book(zebra_sample, pqf):
    assert hits(zebra_sample, pqf) >= 1


def test_phrase_is_stricter_than_words(zebra_sample):
    assert hits(zebra_sample, '@attr 1=4 @attr 4=1 "computer program"') == 0
    assert hits(zebra_sample, '@attr 1=4 @attr 4=2 "computer program"') == 2


@pytest.mark.parametrize("pqf, code", [
    ("@attr 1=9999 x", 114),         # unsupported use
    ("@attr 1=4 @attr 2=1 x", 117),  # < on a title
    ("@attr 7=1 x", 113),            # attribute type 7 is sort, not for a search term
    ("@attr 1=31 @attr 5=1 19", 120),  # truncated year
    ("@attr 1=31 nineteen", 126),    # not a year
    ("@attr 1=1016 @attr 6=3 x", 122),  # no complete-field keys on 'any'
])
def test_unsupported_attributes_give_the_exact_bib1_diagnostic(zebra_sample, pqf, code):
    from zserver.z3950.diagnostics import diagnostic_for

    try:
        hits(zebra_sample, pqf)
    except Z3950Diagnostic as diagnostic:
        assert diagnostic.code == code
    except errors.CatalogError as error:
        assert diagnostic_for(error).code == code
    else:
        pytest.fail(f"{pqf} gave no diagnostic")


def test_folding_finds_diacritics_and_umlaut_transliteration(spec_recs):
    plain = hits(spec_recs, "@attr 1=1016 espanol")
    accented = hits(spec_recs, '@attr 1=1016 "español"')
    assert plain == accented >= 1


def test_non_latin_scripts_are_searchable(spec_recs):
    # traject's test_data.utf8.mrc carries 880 fields in Tibetan, Urdu, Persian, Korean, Hebrew
    assert hits(spec_recs, '@attr 1=4 "한국"') + hits(spec_recs, '@attr 1=1016 "עברית"') >= 0
    import pymarc

    from index.store.catalog import CatalogStore  # a word of the first non-Latin 245-880 found in the data

    store = CatalogStore.of(spec_recs.home)
    for _isn, display, _h in store.titles_with_holdings():
        record = pymarc.Record(data=display, to_unicode=True, force_utf8=True)
        for field in record.get_fields("880"):
            if (field.get("6") or "").startswith("245"):
                word = next(w for w in (field.get("a") or "").split() if not w.isascii())
                assert hits(spec_recs, f'@attr 1=4 "{word}"') >= 1
                return
    pytest.fail("no vernacular title in the test data")


def test_result_set_references_combine_earlier_searches(zebra_sample):
    jack = zebra_sample.search(rpn_to_query(parse_pqf("@attr 1=1003 jack")), zebra_sample.database("unikat"))
    assert hits(zebra_sample, "@and @set jack @attr 1=4 computer", jack=jack) == 2
    assert hits(zebra_sample, "@not @attr 1=4 computer @set jack", jack=jack) == hits(zebra_sample, "@attr 1=4 computer") - 2
    with pytest.raises(errors.ResultSetNotFound):
        hits(zebra_sample, "@set nosuchset")


def test_library_databases_limit_to_that_librarys_holdings(spec_recs):
    everything = hits(spec_recs, "@attr 1=1016 the")
    assert hits(spec_recs, "@attr 1=1016 the", "A") + hits(spec_recs, "@attr 1=1016 the", "B") == everything
    with pytest.raises(errors.UnknownDatabase):
        spec_recs.database("nosuchdb")


def test_sort_by_title_year_and_author(spec_recs):
    result = spec_recs.search(rpn_to_query(parse_pqf("@attr 1=1016 the")), spec_recs.database("unikat"))
    by_year = spec_recs.sort(result, [SortKey.named("year")])
    years = [b.year or 0 for b in by_year.briefs(0, by_year.size)]
    assert years == sorted(years)
    by_title = spec_recs.sort(result, [SortKey.named("title", True)])
    assert by_title.size == result.size
    with pytest.raises(errors.UnknownSortKey):
        spec_recs.sort(result, [SortKey.named("colour")])


def test_scan_lists_terms_with_counts(zebra_sample):
    entries, position = zebra_sample.scan("title", "how", count=5)
    assert entries and entries[position - 1].term.startswith("how")
    assert all(entry.count >= 1 for entry in entries)


def test_and_not_excludes_a_document_before_the_first_one_the_right_side_matches(spec_recs):
    # whoosh-reloaded 2.7.5's own AndNot let such a document through (index.engines.whoosh.compile.ExactAndNot)
    left = spec_recs.search(rpn_to_query(parse_pqf("@attr 1=1016 music")), spec_recs.database("unikat"))
    right = spec_recs.search(rpn_to_query(parse_pqf("@attr 1=1031 score")), spec_recs.database("unikat"))
    both = set(left.isns()) & set(right.isns())
    result = spec_recs.search(rpn_to_query(parse_pqf("@not @attr 1=1016 music @attr 1=1031 score")),
                              spec_recs.database("unikat"))
    assert both and not set(result.isns()) & both
    assert set(result.isns()) == set(left.isns()) - both


def test_every_holding_library_is_a_database(tmp_path):
    from conftest import SAMPLE_DATA

    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text())
    load(home, "ZDB", SAMPLE_DATA / "ejournals.pica")   # a union delivery: holdings of A, B and "WWW 1"
    catalog = Catalog(home)
    names = [database.name for database in catalog.databases()]
    assert "WWW 1" in names and names.index("ZDB") < names.index("WWW 1")
    held = catalog.search(rpn_to_query(parse_pqf("@attr 1=1031 ejournal")), catalog.database("www 1"))
    assert 0 < held.size < catalog.search(rpn_to_query(parse_pqf("@attr 1=1031 ejournal")), catalog.database("unikat")).size


# -- the one search step: ranking, sort keys, result-set references, database views ------------
# On the sample catalog (sample_data/), once per engine.

HISTORY = "@attr 1=4 history"
RANKED = "@attr 1=1016 @attr 2=102 history"


@pytest.fixture(scope="module")
def sample(sample_home) -> Catalog:
    catalog = Catalog(sample_home)
    yield catalog
    catalog.close()


def query(pqf: str):
    return rpn_to_query(parse_pqf(pqf))


@pytest.mark.parametrize("pqf, sort, ranked", [
    (HISTORY, (), False),
    (RANKED, (), True),
    ("@and @attr 1=4 history @attr 2=102 @attr 1=21 history", (), True),
    ("@or @attr 1=4 water @not @attr 1=4 history @attr 2=102 @attr 1=21 france", (), True),
    ("@prox 0 3 1 2 k 2 @attr 1=4 history @attr 2=102 @attr 1=4 america", (), True),
    (HISTORY, (RELEVANCE,), True),
    (HISTORY, (SortKey(SortField.YEAR, True), SortKey(SortField.RELEVANCE, True)), True),
    (HISTORY, (SortKey(SortField.TITLE),), False),
])
def test_search_ranks_when_a_term_or_a_sort_key_asks_for_relevance(sample, monkeypatch, pqf, sort, ranked):
    seen = []
    original = sample.engine.search

    def spy(node, resolve, *, ranked=False):
        seen.append(ranked)
        return original(node, resolve, ranked=ranked)

    monkeypatch.setattr(sample.engine, "search", spy)
    monkeypatch.setattr(sample, "kept_searches", KeptAnswers(0))   # no search given again from the kept ones
    sample.search(query(pqf), sample.database("unikat"), sort=sort)
    assert seen == [ranked]


def test_a_relevance_sort_is_the_ranked_order(sample):
    union = sample.database("unikat")
    ranked = sample.search(query(RANKED), union)
    assert ranked.isns() != sorted(ranked.isns())          # ranked, not in ISN order
    # search skips sorting ranked hits by relevance alone: they are in that order already
    assert sample.search(query(RANKED), union, sort=[RELEVANCE]).isns() == sample.sort(ranked, [RELEVANCE]).isns()
    assert sample.search(query(HISTORY), union, sort=[RELEVANCE]).size == sample.search(query(HISTORY), union).size


def test_search_applies_the_sort_keys(sample):
    union = sample.database("unikat")
    keys = [SortKey(SortField.YEAR, True), SortKey(SortField.TITLE)]
    result = sample.search(query(HISTORY), union, sort=keys)
    assert result.isns() == sample.sort(sample.search(query(HISTORY), union), keys).isns()
    years = [brief.year or 0 for brief in result.briefs(0, result.size)]
    assert years == sorted(years, reverse=True) and len(set(years)) > 1
    worst_first = sample.search(query(RANKED), union, sort=[SortKey(SortField.RELEVANCE, True)])
    assert worst_first.isns() == sample.sort(sample.search(query(RANKED), union),
                                             [SortKey(SortField.RELEVANCE, True)]).isns()


@pytest.mark.parametrize("name, field", [
    ("title", SortField.TITLE), ("author", SortField.AUTHOR), ("year", SortField.YEAR),
    ("relevance", SortField.RELEVANCE), ("date", SortField.YEAR), ("Date", SortField.YEAR),
    (" score ", SortField.RELEVANCE), ("rank", SortField.RELEVANCE), ("creator", SortField.AUTHOR),
    ("personal_name", SortField.AUTHOR), ("corporate_name", SortField.AUTHOR),
    ("conference_name", SortField.AUTHOR),
    ("colour", None), ("subject", None), ("", None),
])
def test_sort_names_and_their_aliases(name, field):
    assert sort_field(name) is field


def test_sort_key_named_takes_only_field_names():
    assert SortKey.named("year", True) == SortKey(SortField.YEAR, True)
    with pytest.raises(errors.UnknownSortKey) as raised:
        SortKey.named("date")
    assert raised.value.detail == "date"


def test_references_resolve_through_the_lookup(sample):
    union = sample.database("unikat")
    history = sample.search(query(HISTORY), union)
    smith = sample.search(query("@attr 1=1003 smith"), union)
    sets = {"h": history, "s": smith}
    both = sample.search(query("@or @set h @set s"), union, result_sets=sets.get)
    assert set(both.isns()) == set(history.isns()) | set(smith.isns())
    asked = []
    sample.search(query("@and @set h @attr 1=4 america"), union, result_sets=lambda name: asked.append(name) or history)
    assert asked == ["h"]
    with pytest.raises(errors.ResultSetNotFound) as raised:
        sample.search(query("@and @set nosuch @attr 1=4 history"), union, result_sets=sets.get)
    assert raised.value.detail == "nosuch"
    with pytest.raises(errors.ResultSetNotFound):
        sample.search(query("@and @set h @attr 1=4 history"), union)    # no lookup: no sets


def test_a_query_that_only_names_a_set_gives_that_set(sample):
    union = sample.database("unikat")
    history = sample.search(query(HISTORY), union)
    before = history.isns()
    sets = {"h": history}
    assert sample.search(query("@set h"), union, result_sets=sets.get) is history
    by_title = sample.search(query("@set h"), union, result_sets=sets.get, sort=[SortKey(SortField.TITLE)])
    assert by_title is not history and by_title.isns() == sample.sort(history, [SortKey(SortField.TITLE)]).isns()
    assert by_title.isns() != before and sorted(by_title.isns()) == before == history.isns()
    with pytest.raises(errors.ResultSetNotFound) as raised:
        sample.search(query("@set h"), sample.database("A"), result_sets=sets.get)
    assert raised.value.detail == "h (another database)"
    with pytest.raises(errors.ResultSetNotFound) as raised:
        sample.search(query("@set nosuch"), union, result_sets=sets.get)
    assert raised.value.detail == "nosuch"


def test_a_library_database_sees_that_librarys_titles_only(sample):
    union, library_a = sample.database("unikat"), sample.database("A")
    everywhere = set(sample.search(query(HISTORY), union).isns())
    in_a = sample.search(query(HISTORY), library_a, sort=[SortKey(SortField.TITLE)])
    assert in_a.database is library_a and 0 < in_a.size < len(everywhere)
    assert set(in_a.isns()) < everywhere
    for title in sample.records(in_a.isns(), with_holdings=True):
        assert any(holding.library == "A" for holding in title.holdings)
    # a union set named on A's database is seen through A's view
    combined = sample.search(query("@and @set h @attr 1=4 history"), library_a,
                             result_sets={"h": sample.search(query(HISTORY), union)}.get)
    assert set(combined.isns()) == set(in_a.isns())


def test_library_names_come_from_the_configuration(sample):
    assert dict(sample.library_names) == {code: library.name for code, library in sample.config.libraries.items()}
    assert sample.library_names["A"] == "Library A (sample, MARC21 ISO 2709)"
    with pytest.raises(TypeError):
        sample.library_names["X"] = "someone else's"   # type: ignore[index]


@pytest.mark.parametrize("pqf", [
    '@attr 1=oclc-number "(OCoLC)ocm44876919"',
    "@attr 1=oclc-number ocm44876919",
    "@attr 1=oclc-number 44876919",
    "@attr 1=oclc-number 044876919",
    '@attr 1=1007 "(OCoLC)44876919"',          # identifier-standard takes every form too
])
def test_an_oclc_number_is_found_with_or_without_its_prefixes(sample, pqf):
    assert hits(sample, pqf) == 1


@pytest.mark.parametrize("text", ["0-306-40615-2", "0306406152", "978-0-306-40615-7", "9780306406157"])
def test_isbn_10_and_13_with_or_without_hyphens_are_one_key(text):
    isbn = next(spec for spec in INDEXES if spec.name == "isbn")
    assert set(key_forms(isbn, text)) == {"0306406152", "9780306406157"}


def test_scan_shows_headings_as_catalogued_and_searches_with_keys(sample):
    entries, _ = sample.scan("author", "smith", count=5)
    assert entries and all(normalize(entry.heading) == entry.term for entry in entries if entry.heading)
    assert any(entry.display != entry.term and entry.display == entry.heading for entry in entries)
    subjects, _ = sample.scan("subject", "smoking", count=10)
    assert any("--" in entry.display for entry in subjects)   # subdivisions as catalogued


@pytest.mark.parametrize("index, start", [("author", "smith"), ("subject", "history"), ("any", "water")])
def test_the_authority_database_scans_authority_records_only(sample, index, start):
    # the sample has no authority records: its scan had listed the titles' headings, which its search does not find
    authorities = sample.database(AUTHORITY_DATABASE)
    assert sample.scan(index, start, count=5)[0], "the union catalog has such terms"
    assert sample.scan(index, start, count=5, database=authorities) == ([], 1)


@pytest.mark.parametrize("index, start", [("author", "smith"), ("subject", "history"), ("any", "water")])
def test_a_library_scan_counts_that_librarys_titles_only(sample, index, start):
    view = sample.database("A")
    union, _ = sample.scan(index, start, count=20)
    entries, position = sample.scan(index, start, count=10, database=view)
    assert len(entries) == 10 and position == 1
    for entry in entries:
        exact = key_term(index, entry.term)
        assert entry.count == sample.search(exact, view).size > 0
    assert [entry.term for entry in entries] == sorted(entry.term for entry in entries)
    in_union = {entry.term: entry.count for entry in union}
    assert any(in_union.get(entry.term, entry.count) > entry.count for entry in entries) \
        or {e.term for e in union} - {e.term for e in entries}   # B's titles are left out


def test_a_scans_headings_are_charged_to_the_clients_search_time(sample_home, monkeypatch):
    """A scan's headings are read from the store: that work counts in `work_seconds` (what the
    query-time budget charges a client) as the engine's does."""
    catalog = Catalog(sample_home)
    try:
        display = catalog.store.display
        read = []

        def slow_display(isn):
            time.sleep(0.01)
            read.append(isn)
            return display(isn)

        monkeypatch.setattr(catalog.store, "display", slow_display)
        before = catalog.work_seconds
        entries, _ = catalog.scan("author", "a", count=10)
        assert len(read) >= 5 and any(entry.heading for entry in entries)
        assert catalog.work_seconds - before >= 0.01 * len(read)
    finally:
        catalog.close()
