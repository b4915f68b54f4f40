"""Routing and the order-form rules as pure functions."""

from __future__ import annotations

import pytest

from index.ill import Article, Holder, Kind, Profile, eligible, rank
from index.ill.rules import covers

PROFILES = {"N1": Profile("N1", region="north"), "N2": Profile("N2", region="north", max_loans=2),
            "S1": Profile("S1", region="south"), "S2": Profile("S2", region="south", serves=("south",)),
            "W1": Profile("W1", region="west"), "X": Profile("X", region="north", lends=False)}
DEFAULT = Profile("", region="east")
REQUESTER = Profile("H", region="north", region_order=("west", "south"), prefer=("S1",))


def order_of(holders, open_orders=None, kind=Kind.LOAN, article=Article(), tried=frozenset()):
    found = eligible(holders, REQUESTER, PROFILES, DEFAULT, kind, article, tried)
    return [h.library for h in rank(found, REQUESTER, PROFILES, DEFAULT, kind, open_orders or {})]


def test_own_region_then_region_order_then_others_preference_within_a_region():
    holders = [Holder(code) for code in ("E9", "S2", "S1", "W1", "N2", "N1", "H", "X")]
    # H is the requester, X lends nothing, S2 serves only its own region; E9 has the default (east)
    assert order_of(holders) == ["N1", "N2", "W1", "S1", "E9"]


def test_reference_copies_tried_libraries_and_full_libraries():
    holders = [Holder("N1", lendable=False), Holder("N2"), Holder("S1"), Holder("W1")]
    assert order_of(holders, tried=frozenset({"W1"})) == ["N2", "S1"]
    assert order_of(holders, open_orders={"N2": 2}) == ["W1", "S1", "N2"]     # N2 at its maximum: last
    assert order_of(holders, open_orders={"N2": 1}) == ["N2", "W1", "S1"]


@pytest.mark.parametrize(("statement", "year", "volume", "expected"), [
    ("1.1990 - 10.1999", "1995", "", True),
    ("1.1990 - 10.1999", "2001", "", False),
    ("1.1990 - 10.1999", "", "12", False),
    ("1.1990 - 10.1999", "", "3", True),
    ("2005 -", "2010", "", True),
    ("2005 -", "2001", "", False),
    ("1950 - 1960; 1970 - 1980", "1975", "", True),
    ("1950 - 1960; 1970 - 1980", "1965", "", False),
    ("5 (1960) - 9 (1964)", "1962", "", True),
    ("", "1800", "", True),                 # no statement: the supplier decides
    ("Lückenhaft", "1800", "", True),
])
def test_holdings_statements(statement, year, volume, expected):
    assert covers(statement, year, volume) is expected


def test_copies_skip_holders_whose_statement_does_not_cover():
    holders = [Holder("N1", statement="1990 - 1999"), Holder("S1", statement="2000 -")]
    assert order_of(holders, kind=Kind.COPY, article=Article("T", pages="1", year="2003")) == ["S1"]
