"""Search time per client (zserver.querytime): the sliding window, the Z39.50 handler's budget per
connection and HttpCore's per address, without sockets. The clock of the window is a fake one;
the search time charged is what the catalog really measured."""

from __future__ import annotations

import pytest
from lxml import etree
from test_handler import (  # noqa: F401  (catalog: the fixture)
    HISTORY,
    answer,
    catalog,
    diagnostic,
    init_request,
    present_request,
    scan_request,
    search_request,
)

from index.errors import ResourcesExhausted
from index.kept import KeptAnswers
from zserver.net.http import HttpCore
from zserver.querytime import QueryTime, QueryTimePolicy, QueryTimes
from zserver.z3950.handler import Handler, Limits
from zserver.z3950.pdus import PresentResponse, SearchResponse


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides():
    clock = Clock()
    spent = QueryTime(QueryTimePolicy(seconds=10, window=60), clock)
    spent.charge(4)
    clock.now += 20
    spent.charge(5)
    spent.check()                        # 9 s of 10
    spent.charge(2)
    with pytest.raises(ResourcesExhausted, match=r"used 11 s of search time in the last 60 s \(the limit is 10 s\)"):
        spent.check()
    assert spent.retry_after() == 40     # when the first 4 s leave the window, 7 s are left
    clock.now += 40
    spent.check()
    assert spent.used() == 7
    clock.now += 60
    assert spent.used() == 0


def test_addresses_are_counted_apart_and_bounded():
    times = QueryTimes(QueryTimePolicy(seconds=1, window=60), Clock(), limit=2)
    times.of("10.0.0.1").charge(5)
    with pytest.raises(ResourcesExhausted):
        times.of("10.0.0.1").check()
    times.of("10.0.0.2").check()
    times.of("10.0.0.3")                 # the least recently seen is forgotten
    times.of("10.0.0.1").check()


def test_a_connection_over_its_search_time_gets_bib1_31(catalog, monkeypatch):  # noqa: F811
    monkeypatch.setattr(catalog, "kept_searches", KeptAnswers(0))   # a search given again from the kept ones costs nothing
    clock = Clock()
    handler = Handler(catalog, Limits())
    answer(handler, init_request())
    handler.query_time = QueryTime(QueryTimePolicy(seconds=1e-9, window=60), clock)   # any search uses it up
    first = answer(handler, search_request(HISTORY))
    assert isinstance(first, SearchResponse) and first.search_status and first.result_count > 0
    assert handler.query_time.used() > 0     # what the catalog measured of that search
    refused = answer(handler, search_request(HISTORY, result_set_name="2"))
    assert refused.search_status is False
    code, addinfo = diagnostic(refused.records)
    assert code == 31 and "search time in the last 60 s" in addinfo and "try again in 60 s" in addinfo
    scan = answer(handler, scan_request())
    assert scan.scan_status == 6 and scan.entries["nonsurrogateDiagnostics"][0][1]["condition"] == 31   # a scan too
    shown = answer(handler, present_request("1"))      # records of a search it made still come
    assert isinstance(shown, PresentResponse) and shown.number_of_records_returned == 1
    other = Handler(catalog, Limits())                 # another connection is not held back
    answer(other, init_request())
    assert answer(other, search_request(HISTORY)).search_status
    clock.now += 61                                    # the window passed: searches again
    assert answer(handler, search_request(HISTORY, result_set_name="3")).search_status


def test_an_http_address_over_its_search_time_gets_429(catalog, monkeypatch):  # noqa: F811
    monkeypatch.setattr(catalog, "kept_searches", KeptAnswers(0))   # a search given again from the kept ones costs nothing
    clock = Clock()
    core = HttpCore(catalog, clock=lambda: 1000.0)
    core.query_times = QueryTimes(QueryTimePolicy(seconds=1e-9, window=60), clock)
    search = b"/unikat?version=1.2&operation=searchRetrieve&query=dc.title%3Dhistory&maximumRecords=0"
    assert core.respond("GET", search, address="10.0.0.1").status == 200
    refused = core.respond("GET", search, address="10.0.0.1")
    assert refused.status == 429 and dict(refused.headers)["Retry-After"] == "60"
    root = etree.fromstring(refused.body)
    assert root.xpath("//*[local-name()='uri']/text()") == ["info:srw/diagnostic/1/47"]
    assert "search time in the last 60 s" in root.xpath("string(//*[local-name()='details'])")
    page = core.respond("GET", b"/?q=history", address="10.0.0.1")
    assert page.status == 429 and b"search time" in page.body
    assert core.respond("GET", b"/unikat?version=1.2&operation=explain", address="10.0.0.1").status == 200
    assert core.respond("GET", search, address="10.0.0.2").status == 200   # another address
    clock.now += 61
    assert core.respond("GET", search, address="10.0.0.1").status == 200
