"""Facets count the whole result, on both engines alike, and each count is what a search
narrowed to that value finds."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ENGINES, copy_home

from index import resultfacets
from index.engines.base import RELEVANCE
from index.engines.facets import FACETS, FacetColumn, FacetCounts, FacetRequest, FacetSort, select
from index.home import Home
from index.query import AllRecords, And, Or, Relation, Structure, Term
from index.resultfacets import facet_term
from index.search import Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

QUERIES = ["@attr 1=4 history", "@attr 1=1016 the", "@attr 1=1031 ejournal", "@attr 1=21 united"]
ALL = [FacetRequest(name, limit=1000) for name in FACETS]


@pytest.mark.parametrize("pqf", QUERIES)
def test_each_count_is_the_size_of_the_narrowed_search(catalogs, pqf):
    node = rpn_to_query(parse_pqf(pqf))
    for engine, catalog in catalogs.items():
        union = catalog.database("unikat")
        result = catalog.search(node, union)
        facets = resultfacets.facets(catalog, result, ALL)
        assert [facet.name for facet in facets] == list(FACETS)
        assert any(facet.terms for facet in facets), (engine, pqf)
        for facet in facets:
            assert facet.distinct == len(facet.terms) or len(facet.terms) == 1000
            for term in facet.terms[:12] + facet.terms[-4:]:   # the most and the least frequent
                narrowed = catalog.search(And(node, facet_term(facet.name, term.term)), union)
                assert narrowed.size == term.count, (engine, facet.name, term.term)


@pytest.mark.parametrize("pqf", QUERIES)
def test_the_engines_agree(catalogs, pqf):
    node = rpn_to_query(parse_pqf(pqf))
    found = {engine: resultfacets.facets(catalog, catalog.search(node, catalog.database("unikat")), ALL)
             for engine, catalog in catalogs.items()}
    assert found["postings"] == found["whoosh"]


def test_order_window_and_paging(catalogs):
    catalog = catalogs["postings"]
    result = catalog.search(rpn_to_query(parse_pqf("@attr 1=1016 the")), catalog.database("unikat"))
    everything = resultfacets.facets(catalog, result, [FacetRequest("year", limit=1000)])[0]
    counts = [term.count for term in everything.terms]
    assert counts == sorted(counts, reverse=True)
    alpha = resultfacets.facets(catalog, result, [FacetRequest("year", limit=1000, sort=FacetSort.ALPHANUMERIC)])[0]
    assert [term.term for term in alpha.terms] == sorted(term.term for term in everything.terms)
    page = resultfacets.facets(catalog, result, [FacetRequest("year", limit=3, start=2, sort=FacetSort.ALPHANUMERIC)])[0]
    assert page.terms == alpha.terms[1:4] and page.distinct == alpha.distinct


def test_a_decade_counts_a_title_once(catalogs):
    catalog = catalogs["postings"]
    result = catalog.search(rpn_to_query(parse_pqf("@attr 1=1016 the")), catalog.database("unikat"))
    years, decades = resultfacets.facets(catalog, result, [FacetRequest("year", 1000), FacetRequest("decade", 1000)])
    by_decade: dict[str, int] = {}
    for term in years.terms:
        start = int(term.term) // 10 * 10
        by_decade[f"{start:04d}-{start + 9:04d}"] = by_decade.get(f"{start:04d}-{start + 9:04d}", 0) + term.count
    assert {term.term for term in decades.terms} == set(by_decade)
    assert all(term.count <= by_decade[term.term] for term in decades.terms)
    assert sum(term.count for term in decades.terms) >= 1


def test_libraries_show_codes_and_hide_restricted_ones_from_anonymous_clients(sample_homes):
    from conftest import RestrictedHome
    catalog = Catalog(RestrictedHome(sample_homes["postings"].root))
    try:
        result = catalog.search(rpn_to_query(parse_pqf("@attr 1=1016 the")), catalog.database("unikat"))
        signed_in = resultfacets.facets(catalog, result, [FacetRequest("library", 100)])[0]
        anonymous = resultfacets.facets(catalog, result, [FacetRequest("library", 100)], signed_in=False)[0]
    finally:
        catalog.close()
    assert "B" in [term.term for term in signed_in.terms]
    assert [term for term in signed_in.terms if term.term != "B"] == list(anonymous.terms)


def test_a_column_counts_small_and_large_results_alike():
    rng = np.random.default_rng(7)
    distinct = {(f"t{value}", int(doc)) for doc, value in rng.integers((0, 0), (5000, 50), (20_000, 2))}
    column = FacetColumn.from_pairs(sorted(distinct))   # a title has a value once (keys are distinct)
    pairs = {(int(d), t) for d, t in zip(column.docs, column.values, strict=True)}
    for size in (10, 4000):
        hits = rng.choice(5000, size, replace=False)
        expected = np.zeros(len(column.terms), dtype=np.int64)
        for doc, value in pairs:
            if doc in set(hits.tolist()):
                expected[value] += 1
        assert column.counts(hits).counts.tolist() == expected.tolist()


def test_a_bad_request_says_why():
    with pytest.raises(ValueError, match="no facet 'colour'"):
        FacetRequest("colour")
    with pytest.raises(ValueError, match="limit"):
        FacetRequest("year", limit=5000)


@pytest.mark.parametrize("limit", [Term("year", "1990-1999", structure=Structure.YEAR),
                                   Term("year", "2000", relation=Relation.GE, structure=Structure.YEAR)])
def test_a_ranked_search_with_a_year_limit_finds_what_the_facet_counted(catalogs, limit):
    """The web page ranks by default; on Whoosh a year limit (a fixed set of documents) was
    matched against each index segment with the whole index's document numbers, so a ranked
    search of a catalog loaded in several steps lost titles the facet had counted."""
    for engine, catalog in catalogs.items():
        union = catalog.database("unikat")
        node = And(rpn_to_query(parse_pqf("@attr 1=1016 history")), limit)
        plain, ranked = catalog.search(node, union), catalog.search(node, union, sort=[RELEVANCE])
        assert sorted(ranked.isns()) == plain.isns() and plain.size > 5, engine


CONSORTIUM = '\n[consortia."WWW 1"]\nname = "Konsortium WWW 1"\nmembers = ["A", "C"]\n'


@pytest.mark.parametrize("engine", ENGINES)
def test_a_consortium_holding_counts_for_each_member(sample_homes, tmp_path, engine):
    """[consortia."WWW 1"] members A and C: a title WWW 1 holds counts under A and C too (once,
    however it is held), as a search limited to A or C finds it; WWW 1 counts its own."""
    root = tmp_path / "home"
    copy_home(sample_homes[engine], root)
    (root / "unikat.toml").write_text((root / "unikat.toml").read_text() + CONSORTIUM)
    plain, widened = Catalog(sample_homes[engine]), Catalog(Home(root))
    try:
        everything = [FacetRequest("library", 100)]
        before = {t.term: t.count for t in resultfacets.facets(plain, plain.search(AllRecords(), plain.database("unikat")),
                                                                 everything)[0].terms}
        union = widened.database("unikat")
        result = widened.search(AllRecords(), union)
        after = {t.term: t.count for t in resultfacets.facets(widened, result, everything)[0].terms}
        assert after["WWW 1"] == before["WWW 1"] > 0 and after["B"] == before["B"]
        assert after["C"] > before["C"]   # the sample's C holds none of the e-journals itself
        for member in ("A", "C"):   # the union of the member's and the consortium's titles
            either = Or(facet_term("library", member), facet_term("library", "WWW 1"))
            assert after[member] == plain.search(either, plain.database("unikat")).size
        for code, count in after.items():
            assert widened.search(And(AllRecords(), facet_term("library", code)), union).size == count, code
    finally:
        plain.close()
        widened.close()


def test_the_top_values_are_those_of_a_full_sort():
    rng = np.random.default_rng(3)
    counts = FacetCounts([f"t{i:05d}" for i in range(20_000)], rng.integers(0, 4, 20_000) ** 3)
    ranked = sorted((i for i in range(20_000) if counts.counts[i]), key=lambda i: -counts.counts[i])
    for start, limit in ((1, 10), (5, 40), (1, 0), (19_000, 50), (1, 1000)):
        facet = select("author", counts, FacetRequest("author", limit=limit, start=start))
        assert [term.term for term in facet.terms] == [counts.terms[i] for i in ranked[start - 1:start - 1 + limit]]
        assert facet.distinct == len(ranked)
