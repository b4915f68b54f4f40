"""Relevance ranking (`index.engines.ranking`): the model on hand-made statistics, then the sample
catalog through the web page, Z39.50 relation 102 and CQL `=/relevant`, on both engines, which
must give the same order."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ENGINES
from lxml import html

from index.engines import ranking
from index.engines.base import RELEVANCE
from index.query import And, AndNot, Relation, Term, Truncation
from index.search import Catalog
from zserver.querylang.cql import parse_cql
from zserver.querylang.pqf import parse_pqf
from zserver.sru.cqlmap import cql_to_query
from zserver.web import build_query, search_page
from zserver.z3950.attributes import rpn_to_query

# -- the model on statistics made by hand -----------------------------------------------------------


class Made:
    """Statistics of a few titles: {isn: {field: "words of its keys, | between keys"}}."""

    def __init__(self, titles: dict[int, dict[str, str]]) -> None:
        self.titles = titles

    def occurrences(self, field: str, word: str) -> np.ndarray:
        codes = []
        for isn, fields in self.titles.items():
            position = 0
            for key in fields.get(field, "").split("|"):
                for word_ in key.split():
                    if word_ == word:
                        codes.append(isn << ranking.POSITION_BITS | position)
                    position += 1
                position += 100
        return np.array(sorted(codes), dtype=np.int64)

    def length_table(self) -> ranking.LengthTable:
        isns = sorted(self.titles)
        rows = [[len(self.titles[isn].get(field, "").replace("|", " ").split()) for field in ranking.LENGTH_FIELDS]
                for isn in isns]
        return ranking.LengthTable(np.array(isns, dtype=np.int64), np.array(rows, dtype=np.int32))


def _any(**fields: str) -> dict[str, str]:
    """A title's fields, `any` holding all of them (as extraction makes it)."""
    return {**fields, "any": "|".join(fields.values())}


def _order(stats: Made, words: list[ranking.QueryWord]) -> list[int]:
    isns = np.array(sorted(stats.titles), dtype=np.int64)
    scores = ranking.scores(stats, isns, words)
    return [int(isn) for _, isn in sorted(zip(-scores, isns, strict=True))]


FILLER = {isn: _any(title=f"other book {isn}", subject="fiction") for isn in range(10, 30)}


def test_title_outranks_author_outranks_subject_outranks_notes():
    stats = Made({**FILLER,
                  1: _any(title="cones and ham", subject="ice cream|history"),
                  2: _any(title="a book", notes="with a history"),
                  3: _any(title="history of ice cream"),
                  4: _any(title="cones", author="history john")})
    assert _order(stats, [ranking.QueryWord("any", "history")])[:4] == [3, 4, 1, 2]


def test_words_next_to_each_other_outrank_scattered_words():
    stats = Made({**FILLER,
                  1: _any(title="water in the history of art"),
                  2: _any(title="history of water")})
    words = [ranking.QueryWord("any", "history"), ranking.QueryWord("any", "water")]
    assert _order(stats, words)[:2] == [2, 1]


def test_first_in_field_and_shorter_fields_come_first():
    stats = Made({**FILLER,
                  1: _any(title="a short guide to our local history"),
                  2: _any(title="history of our local guide in short")})
    assert _order(stats, [ranking.QueryWord("any", "history")])[:2] == [2, 1]


def test_a_word_searched_in_one_index_counts_there_alone():
    stats = Made({**FILLER,
                  1: _any(title="history", author="water"),
                  2: _any(title="water", author="history")})
    assert _order(stats, [ranking.QueryWord("author", "history")])[:2] == [2, 1]


def test_query_words_leave_out_negated_truncated_and_key_terms():
    node = AndNot(And(And(Term("any", "Water, rivers"), Term("title", "hist", truncation=Truncation.RIGHT)),
                      And(Term("isbn", "0875902715"), Term("title", "ice", relation=Relation.NE))),
                  Term("any", "history"))
    assert ranking.query_words(node) == [ranking.QueryWord("any", "water"), ranking.QueryWord("any", "rivers")]


# -- the sample catalog ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(sample_home):
    catalog = Catalog(sample_home)
    yield catalog
    catalog.close()


def _web_titles(catalog: Catalog, q: str) -> list[str]:
    doc = html.fromstring(search_page({"q": [q]}, catalog))
    return [li.xpath("string(a)") for li in doc.xpath("//ol[@class='briefs']/li")]


def test_history_on_the_web_page_lists_titles_about_history_first(catalog):
    titles = _web_titles(catalog, "history")[:10]
    assert len(titles) == 10
    assert all("history" in title.lower() for title in titles), titles
    assert not any(title.startswith("Klondikes, chipped ham") for title in titles)   # the word only in subjects


@pytest.mark.parametrize("q, wanted", [
    ("history of america", "The history of America, in two books"),
    ("history america morse", "The history of America, in two books"),
    ("southern history war", "Southern history of the war"),
    ("environmental physics smith", "Environmental physics"),
    ("klondikes chipped ham", "Klondikes, chipped ham & skyscraper cones : the story of Isaly's"),
])
def test_known_items_come_first(catalog, q, wanted):
    assert _web_titles(catalog, q)[0].startswith(wanted)


def _node(kind: str, text: str):
    if kind == "web":
        return build_query(text)
    if kind == "pqf":
        return rpn_to_query(parse_pqf(text))
    return cql_to_query(parse_cql(text))


RANKED = [("web", "history"), ("web", "history of america"), ("web", "united states"),
          ("pqf", "@attr 1=1016 @attr 2=102 history"), ("pqf", "@attr 1=4 @attr 2=102 water"),
          ("pqf", '@attr 1=1016 @attr 2=102 "united states"'), ("cql", "dc.subject =/relevant history"),
          ("cql", "history and dc.subject = history")]


def test_z3950_relevance_and_the_web_page_rank_one_word_alike(catalog):
    union = catalog.database("unikat")
    web = catalog.search(_node("web", "history"), union, sort=[RELEVANCE])
    z3950 = catalog.search(_node("pqf", "@attr 1=1016 @attr 2=102 history"), union)
    assert z3950.isns(0, 50) == web.isns(0, 50)


def test_both_engines_rank_alike(sample_homes):
    catalogs = {engine: Catalog(sample_homes[engine]) for engine in ENGINES}
    try:
        for kind, text in RANKED:
            orders = {engine: catalog.search(_node(kind, text), catalog.database("unikat"), sort=[RELEVANCE]).isns(0, 500)
                      for engine, catalog in catalogs.items()}
            reference = orders[ENGINES[0]]
            assert len(reference) > 1, text
            assert all(order == reference for order in orders.values()), text
    finally:
        for catalog in catalogs.values():
            catalog.close()
