"""Hit-count-only SRU answers kept per request (index.kept, zserver.net.http): kept only for what they
may answer, and never past a change of the catalog."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest
from conftest import copy_home, retitle_in_a

from index.search import REFRESH_SECONDS, Catalog
from zserver.net import http
from zserver.net.http import HttpCore

NEW_WORD = "zqxkeptanswers"


def target(query: str, **more: object) -> bytes:
    form = {"version": "1.2", "operation": "searchRetrieve", "query": query, "maximumRecords": 0, **more}
    return ("/unikat?" + urlencode(form)).encode()


def hits(body: bytes) -> int:
    return int(re.search(rb"numberOfRecords>(\d+)<", body).group(1))


@pytest.fixture()
def core(sample_home, tmp_path):
    catalog = Catalog(copy_home(sample_home, tmp_path / "home"))
    yield HttpCore(catalog, clock=lambda: 1000.0)
    catalog.close()


def test_a_hit_count_answer_is_kept_and_given_again_without_a_search(core: HttpCore, monkeypatch) -> None:
    first = core.respond("GET", target('dc.title="the"'))
    assert first.status == 200 and hits(first.body) > 0
    assert len(core.hit_counts) == 1

    def no_search(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr(http, "handle", no_search)
    assert core.respond("GET", target('dc.title="the"')) is first


@pytest.mark.parametrize("method, uri", [
    ("GET", target('dc.title="the"', maximumRecords=1)),   # records: not kept
    ("GET", target('dc.title="the" and')),                  # a diagnostic: not kept
    ("GET", target('dc.title="the"', httpAccept="application/sru+json")),   # JSON is built another way
    ("POST", target('dc.title="the"')),                     # only GET is kept
    ("GET", b"/unikat?version=1.2&operation=scan&scanClause=dc.title%3Dthe"),
    ("GET", b"/nosuchdatabase?" + target('dc.title="the"').partition(b"?")[2]),
])
def test_only_hit_count_answers_are_kept(core: HttpCore, method: str, uri: bytes) -> None:
    answer = core.respond(method, uri, content_type="application/x-www-form-urlencoded")
    assert answer.status in (200, 404)
    assert len(core.hit_counts) == 0


def test_a_load_makes_the_kept_answers_go(core: HttpCore, tmp_path) -> None:
    home = core.catalog.home
    before = core.respond("GET", target(f'dc.title="{NEW_WORD}"'))
    assert hits(before.body) == 0 and len(core.hit_counts) == 1

    retitle_in_a(home, tmp_path / "change.mrc", f"The {NEW_WORD} revisited")
    generation = core.catalog.generation
    core.catalog.refresh(time.monotonic() + REFRESH_SECONDS)   # as the next request a second later does
    assert core.catalog.generation == generation + 1

    after = core.respond("GET", target(f'dc.title="{NEW_WORD}"'))
    assert hits(after.body) == 1
    assert core.respond("GET", target(f'dc.title="{NEW_WORD}"')) is after
