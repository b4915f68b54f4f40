"""What one search may cost (issue 16): truncated words expand to a bounded number of index
terms, and a search stops when it has used its seconds, on every engine. The hostile queries
are those of the issue: `a* or b* or ... or p*` and the left truncation `*e`."""

from __future__ import annotations

import time

import pytest
from conftest import LimitedHome

from index.config import parse_config
from index.engines.base import Budget, QueryLimits
from index.errors import ResourcesExhausted, TermTooLong, TooManyTerms
from index.home import Home
from index.search import Catalog
from zserver.querylang.cql import parse_cql
from zserver.sru.cqlmap import cql_to_query

HOSTILE = " or ".join(f"{letter}*" for letter in "abcdefghijklmnop")


def limited(home: Home, **limits) -> Catalog:
    return Catalog(LimitedHome(home.root, **limits))


def search(catalog: Catalog, cql: str) -> int:
    return catalog.search(cql_to_query(parse_cql(cql)), catalog.database("unikat")).size


@pytest.fixture(scope="module")
def catalog(sample_home):
    opened = Catalog(sample_home)
    yield opened
    opened.close()


def test_config_has_the_limits_and_checks_them() -> None:
    index = parse_config("[index]\nmax_truncation_terms = 100\nmax_query_terms = 300\nmax_query_seconds = 0.5\n").index
    assert (index.max_truncation_terms, index.max_query_terms, index.max_query_seconds) == (100, 300, 0.5)
    assert parse_config("").index.max_query_seconds == QueryLimits().seconds
    with pytest.raises(Exception, match="max_query_seconds: must be a number of seconds > 0"):
        parse_config("[index]\nmax_query_seconds = 0\n")


def test_ordinary_truncation_still_works(catalog) -> None:
    # the sample has 19 words beginning with hist, 2,238 with a, 2,772 ending in e
    assert search(catalog, "hist*") > search(catalog, "history") > 0
    assert search(catalog, "a*") > 0 and search(catalog, "*e") > 0


def test_a_word_expanding_beyond_its_limit_is_refused(sample_home, catalog) -> None:
    small = limited(sample_home, max_truncation_terms=1000)
    try:
        assert search(small, "hist*") == search(catalog, "hist*")
        with pytest.raises(TooManyTerms, match=r"more than 1000 terms match a\*"):
            search(small, "a*")
        with pytest.raises(TooManyTerms, match=r"more than 1000 terms match \*e"):
            search(small, "*e")    # left truncation: bounded by the same limit
    finally:
        small.close()


def test_the_truncated_words_of_a_query_share_one_limit(sample_home, catalog) -> None:
    small = limited(sample_home, max_query_terms=3000)
    try:
        assert search(small, "a*") == search(catalog, "a*")    # 2,238 terms
        with pytest.raises(TooManyTerms, match="the truncated words of the query match more than 3000 terms"):
            search(small, "a* or b*")
        with pytest.raises(TooManyTerms):
            search(small, HOSTILE)
    finally:
        small.close()


class SlowClock:
    """A clock that advances one second each time it is read: a search meets its deadline
    after as many checks of its budget as it has seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_budget_is_checked_while_evaluating(sample_home, monkeypatch) -> None:
    clock = SlowClock()
    monkeypatch.setattr(Budget, "__init__", _with_clock(Budget.__init__, clock))
    small = limited(sample_home, max_query_seconds=40)
    try:
        assert search(small, "history") > 0         # a few nodes: a few checks
        clock.now = 0.0
        with pytest.raises(ResourcesExhausted, match="more than 40 s of work"):
            search(small, HOSTILE)                   # 16 truncated words, each checked as it is read
        # stopped at the first check past the deadline, not when the evaluation was done
        assert clock.now == 42.0
    finally:
        small.close()


def _with_clock(init, clock):
    def replaced(self, limits, _clock=None):
        init(self, limits, clock)
    return replaced


def test_a_hostile_query_costs_at_most_its_budget(sample_home) -> None:
    small = limited(sample_home, max_query_seconds=0.2, max_query_terms=10**6)
    try:
        for query in (HOSTILE, "*e", "*a*"):
            started = time.monotonic()
            try:
                search(small, query)
            except ResourcesExhausted:
                pass
            # one step between two checks of the budget is a few milliseconds
            assert time.monotonic() - started < 0.2 + 0.5, query
    finally:
        small.close()


def test_a_term_of_too_many_words_or_characters_is_refused(sample_home, catalog) -> None:
    """Found by a hostile review: a term of 20,000 words took 1.3 GB (a posting array per word),
    one of 1 MB with left truncation gave an internal error (SQLite's pattern limit)."""
    assert search(catalog, 'dc.title all "' + " ".join(["history"] * 100) + '"') > 0   # at the limit
    with pytest.raises(TermTooLong, match="more than 100 words"):
        search(catalog, 'dc.title all "' + " ".join(["history"] * 101) + '"')
    with pytest.raises(TermTooLong, match="more than 1000 characters"):
        search(catalog, "dc.title = *" + "x" * 1001)
    small = limited(sample_home, max_term_words=2, max_term_characters=26)
    try:
        assert search(small, 'dc.title all "water resources"') > 0
        with pytest.raises(TermTooLong, match="more than 2 words"):
            search(small, 'dc.title all "water resources research"')
        with pytest.raises(TermTooLong, match="more than 26 characters"):
            search(small, "dc.title = internationalizationalization*")
    finally:
        small.close()


def test_relevance_ranks_by_the_first_words_of_a_query_only() -> None:
    """A query of thousands of words ranked by all of them held a worker for 25 s."""
    import numpy as np

    from index.engines import ranking

    seen: list[str] = []

    class Counting:
        def length_table(self):
            return ranking.LengthTable(np.array([1, 2]), np.ones((2, len(ranking.LENGTH_FIELDS)), dtype=np.uint16))

        def occurrences(self, field: str, word: str) -> np.ndarray:
            seen.append(word)
            return np.zeros(0, dtype=np.int64)

    words = [ranking.QueryWord("title", f"w{number}") for number in range(500)]
    ranking.scores(Counting(), np.array([1, 2]), words)
    assert set(seen) == {f"w{number}" for number in range(ranking.RANKED_WORDS)}


def test_a_term_split_into_many_words_does_not_overflow_the_stack(catalog) -> None:
    """`any` and `all` of 600 words made a chain of 600 nodes: hashing it (the kept searches)
    overflowed Python's stack, an HTTP 500. The words are joined as a balanced tree now."""
    words = " ".join(["water"] * 300 + ["history"] * 300)
    assert search(catalog, f'dc.title any "{words}"') == search(catalog, "dc.title any \"water history\"") > 0
    assert search(catalog, 'dc.title all "' + " ".join(["wat*"] * 600) + '"') == search(catalog, "dc.title = wat*")
