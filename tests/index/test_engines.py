"""The engines behind `Catalog` (Whoosh, posting arrays) find the same titles for the same queries."""

from __future__ import annotations

import sys

import pytest
from conftest import ENGINES

from index.engines.base import SortKey
from index.errors import (
    ProximityDistanceUnsupported,
    ProximityOperandsUnsupported,
    ProximityRelationUnsupported,
    TruncationInProximity,
    UnsupportedRelation,
)
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

QUERIES = [
    "@attr 1=4 history", "@attr 1=1003 smith", "@attr 1=21 france", '@attr 1=4 @attr 4=1 "united states"',
    "@attr 1=4 @attr 5=1 hist", "@attr 1=4 @attr 5=2 tory", "@attr 1=4 @attr 5=3 isto", "@attr 1=4 @attr 5=101 hist#y",
    "@and @attr 1=4 war @attr 1=31 @attr 2=4 1990", "@or @attr 1=4 history @attr 1=21 history",
    "@not @attr 1=1016 history @attr 1=4 history", "@attr 1=1016 the", "@attr 1=31 @attr 2=2 1950",
    "@attr 1=31 @attr 2=5 2000", "@attr 1=31 @attr 2=6 2000", "@attr 1=4 @attr 3=1 the", "@attr 1=4 @attr 3=1 @attr 5=1 hist",
    '@attr 1=4 @attr 6=3 "history of art"', "@attr 1=1003 @attr 6=3 @attr 5=1 smith", "@attr 1=54 ger",
    "@attr 1=1031 ejournal", "@attr 1=7 @attr 5=1 978", "@attr 1=9 @attr 5=1 2",
    "@prox 0 3 1 2 k 2 @attr 1=4 history @attr 1=4 america", "@prox 0 3 0 2 k 2 @attr 1=4 america @attr 1=4 history",
    "@prox 1 3 1 2 k 2 @attr 1=4 history @attr 1=4 america", '@attr 1=4 @attr 4=1 @attr 5=1 "history of eng"',
]
# proximity in every form both engines answer: unit element (8) and word (2), relations <, <=, =,
# ordered or not, exclusion, phrases and a relevance term as operands, one word on both sides
PROXIMITY = [
    "@prox 0 0 0 2 k 8 @attr 1=1016 water @attr 1=1016 resources",
    "@prox 0 0 1 2 k 8 @attr 1=1016 resources @attr 1=1016 water",
    "@prox 0 1 1 1 k 8 @attr 1=1016 water @attr 1=1016 resources",
    "@prox 0 0 0 3 k 8 @attr 1=1016 water @attr 1=1016 resources",
    "@prox 1 0 0 2 k 8 @attr 1=1016 water @attr 1=1016 resources",
    "@prox 0 0 0 2 k 9 @attr 1=1016 history @attr 1=1016 history",
    "@prox 0 2 0 3 k 2 @attr 1=1016 united @attr 1=1016 history",
    "@prox 0 2 1 3 k 2 @attr 1=1016 united @attr 1=1016 history",
    "@prox 0 0 1 3 k 2 @attr 1=1016 history @attr 1=1016 history",
    "@prox 0 0 1 2 k 2 @attr 1=4 united @attr 1=4 states",
    "@prox 0 1 1 1 k 2 @attr 1=4 united @attr 1=4 states",
    "@prox 0 150 0 2 k 2 @attr 1=1016 united @attr 1=1016 history",
    '@prox 0 3 0 2 k 2 @attr 1=4 history @attr 1=4 "united states"',
    '@prox 0 3 1 2 k 2 @attr 1=21 @attr 4=1 "united states" @attr 1=21 history',
    '@prox 1 3 0 2 k 2 @attr 1=1016 history @attr 1=1016 "united states"',
    '@prox 0 5 0 2 k 2 @attr 1=4 @attr 2=102 "history america" @attr 1=4 @attr 2=102 united',
]


@pytest.mark.parametrize("pqf", QUERIES)
@pytest.mark.parametrize("database", ["unikat", "B"])
def test_engines_agree(catalogs, pqf, database):
    found = {}
    for engine, catalog in catalogs.items():
        result = catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database(database))
        found[engine] = result.isns()   # in order: an unsorted result is in ISN order on every engine
    for engine in ENGINES[1:]:
        assert found[engine] == found["whoosh"], engine


def test_engines_agree_on_sorting_and_scan(catalogs):
    orders, scans = {}, {}
    for engine, catalog in catalogs.items():
        result = catalog.search(rpn_to_query(parse_pqf("@attr 1=4 history")), catalog.database("unikat"))
        orders[engine] = catalog.sort(result, [SortKey.named("year", True), SortKey.named("title")]).isns()
        scans[engine] = catalog.scan("title", "history", count=10, preferred_position=3)
    for engine in ENGINES[1:]:
        assert orders[engine] == orders["whoosh"], engine
        assert scans[engine] == scans["whoosh"], engine


# The sample loads of B and C merge titles into A's: Whoosh then holds deleted documents, which
# its own document frequencies still count. Scanned word fields, key fields and codes.
@pytest.mark.parametrize(("index", "start"), [("any", "history"), ("any", "a"), ("language", "eng"),
                                              ("language", "fin"), ("library", "a"), ("local_number", "a")])
def test_engines_agree_on_scan_counts_after_merges(catalogs, index, start):
    scans = {engine: catalog.scan(index, start, count=8, preferred_position=3) for engine, catalog in catalogs.items()}
    assert scans["whoosh"][0], "nothing scanned"
    for engine in ENGINES[1:]:
        assert scans[engine] == scans["whoosh"], engine


@pytest.fixture()
def python_recursion_limit():
    """Python's own limit of 1,000 frames, not the one `allow_deep_queries` raises."""
    raised = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(raised)


_DEEP_WORDS = ["history", "war", "united", "states", "art", "france", "music", "water", "law", "science"] * 19


def _found(catalogs, pqf: str) -> dict[str, list[int]]:
    """What each engine finds for `pqf` in the union catalog, in ISN order."""
    return {engine: catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database("unikat")).isns()
            for engine, catalog in catalogs.items()}


def test_a_long_or_chain_needs_no_deeper_recursion(catalogs, python_recursion_limit):
    # 190 ORed words, left-deep as a client builds them: Whoosh had recursed once per level
    # (an OR of 163 failed); one operator's chain is now one query of many operands
    found = _found(catalogs, " ".join(["@or"] * (len(_DEEP_WORDS) - 1))
                   + "".join(f" @attr 1=1016 {word}" for word in _DEEP_WORDS))
    assert found["whoosh"], "the OR should find something"
    for engine in ENGINES[1:]:
        assert found[engine] == found["whoosh"], engine


def test_engines_agree_on_a_deep_query_of_mixed_operators(catalogs):
    # and/or alternating 190 deep: within the recursion limit the server and the command line set
    found = _found(catalogs, "".join(f"@{'or' if level % 2 else 'and'} " for level in range(len(_DEEP_WORDS) - 1))
                   + " ".join(f"@attr 1=1016 {word}" for word in _DEEP_WORDS))
    for engine in ENGINES[1:]:
        assert found[engine] == found["whoosh"], engine


@pytest.mark.parametrize("pqf", PROXIMITY)
def test_engines_agree_on_proximity(catalogs, pqf):
    found = _found(catalogs, pqf)
    assert found["whoosh"], "the query should find something"
    for engine in ENGINES[1:]:
        assert found[engine] == found["whoosh"], engine


def test_proximity_in_one_field_occurrence(catalogs):
    # water and resources in one title key, ordered or not, against the words anywhere in the index
    queries = ["@prox 0 0 0 2 k 8 @attr 1=1016 water @attr 1=1016 resources",
               "@prox 0 0 1 2 k 8 @attr 1=1016 water @attr 1=1016 resources",
               "@and @attr 1=1016 water @attr 1=1016 resources"]
    for catalog in catalogs.values():
        unordered, ordered, both = (set(catalog.search(rpn_to_query(parse_pqf(pqf)),
                                                        catalog.database("unikat")).isns()) for pqf in queries)
        assert ordered and ordered < unordered <= both


@pytest.mark.parametrize(("pqf", "refused", "reason"), [
    ("@prox 0 1 0 2 k 8 @attr 1=1016 water @attr 1=1016 resources", ProximityDistanceUnsupported,
     "unit=element takes distance 0"),
    ("@prox 0 2 0 4 k 2 @attr 1=1016 water @attr 1=1016 resources", ProximityRelationUnsupported, "relation"),
    ("@prox 0 150 0 3 k 2 @attr 1=1016 water @attr 1=1016 resources", ProximityDistanceUnsupported,
     "exactly 150 words"),
    ('@prox 0 1 0 2 k 2 @attr 1=4 @attr 6=3 "united states" @attr 1=4 history', ProximityOperandsUnsupported,
     "not a whole field"),
    ("@prox 0 1 0 2 k 2 @attr 1=4 @attr 3=1 united @attr 1=4 states", ProximityOperandsUnsupported,
     "not a whole field"),
    ("@prox 0 1 0 2 k 2 @and @attr 1=4 united @attr 1=4 states @attr 1=4 history", ProximityOperandsUnsupported,
     "a search term on each side"),
    ("@prox 0 1 0 2 k 2 @attr 1=4 united @attr 1=21 history", ProximityOperandsUnsupported, "the same word index"),
    # an operand compared other than for equality: Whoosh had failed inside its span query, the
    # posting arrays had taken the word as if compared for equality
    ("@prox 0 5 0 2 k 2 @attr 1=1016 war @attr 1=1016 @attr 2=6 law", ProximityOperandsUnsupported, "not <>"),
    ("@prox 0 5 0 2 k 2 @attr 1=1016 @attr 2=5 war @attr 1=1016 law", UnsupportedRelation, ">"),
    ("@prox 0 5 0 2 k 2 @attr 1=1016 war @attr 1=1016 @attr 2=1 law", UnsupportedRelation, "<"),
])
def test_unanswerable_proximity_is_refused_alike(catalogs, pqf, refused, reason):
    for catalog in catalogs.values():
        with pytest.raises(refused, match=reason):
            catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database("unikat"))


@pytest.mark.parametrize("pqf", ["@prox 0 3 1 2 k 2 @attr 1=4 @attr 5=1 hist @attr 1=4 america",
                                 "@prox 0 3 1 2 k 2 @attr 1=4 history @attr 1=4 @attr 5=101 amer#ca"])
def test_a_truncated_proximity_operand_is_refused_alike(catalogs, pqf):
    # Whoosh crashed inside its span matcher, postings ignored the truncation and found nothing
    for catalog in catalogs.values():
        with pytest.raises(TruncationInProximity):
            catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database("unikat"))
