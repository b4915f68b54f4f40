"""Hit-count-only SRU answers kept per request (zserver.sru.answers): kept only for what they
may answer, and never past a change of the catalog."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest
from conftest import change_delivery, copy_home, load

from index.search import REFRESH_SECONDS, Catalog
from index.store.catalog import CatalogStore
from zserver.net import http
from zserver.net.http import HttpCore
from zserver.sru.answers import HitCountAnswers

NEW_WORD = "zqxkeptanswers"


def target(query: str, **more: object) -> bytes:
    form = {"version": "1.2", "operation": "searchRetrieve", "query": query, "maximumRecords": 0, **more}
    return ("/unikat?" + urlencode(form)).encode()


def hits(body: bytes) -> int:
    return int(re.search(rb"numberOfRecords>(\d+)<", body).group(1))


def test_the_answers_are_a_bounded_lru_of_one_generation() -> None:
    answers: HitCountAnswers[str] = HitCountAnswers(2)
    answers.put("a", 0, "A")
    answers.put("b", 0, "B")
    assert answers.get("a", 0) == "A"   # now the most recently used
    answers.put("c", 0, "C")
    assert (answers.get("a", 0), answers.get("b", 0), answers.get("c", 0)) == ("A", None, "C")
    assert answers.get("a", 1) is None   # the catalog changed: nothing kept is valid
    assert len(answers) == 0
    answers.put("a", 1, "A1")
    answers.put("b", 2, "B2")   # made after a change the cache has not seen yet
    assert (answers.get("a", 2), answers.get("b", 2)) == (None, "B2")
    none: HitCountAnswers[str] = HitCountAnswers(0)   # [sru] hit_count_answers = 0
    none.put("a", 0, "A")
    assert none.get("a", 0) is None


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

    store = CatalogStore.of(home)
    try:
        (changed,), (deleted,) = store.db.execute(
            "SELECT source_id FROM records WHERE library = 'A' AND isn IN"
            " (SELECT isn FROM records GROUP BY isn HAVING count(*) = 1) ORDER BY isn LIMIT 2").fetchall()
    finally:
        store.close()
    change_delivery(tmp_path / "change.mrc", changed, deleted, f"The {NEW_WORD} revisited")
    load(home, "A", tmp_path / "change.mrc")
    generation = core.catalog.generation
    core.catalog.refresh(time.monotonic() + REFRESH_SECONDS)   # as the next request a second later does
    assert core.catalog.generation == generation + 1

    after = core.respond("GET", target(f'dc.title="{NEW_WORD}"'))
    assert hits(after.body) == 1
    assert core.respond("GET", target(f'dc.title="{NEW_WORD}"')) is after
