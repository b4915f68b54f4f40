"""The web page and its brief JSON against careless clients (both engines): a `start` of digits
int() does not read is the first page, not a 500."""

from __future__ import annotations

import json

import pytest

from index.search import Catalog
from zserver.net.http import HttpCore


@pytest.fixture(scope="module")
def core(sample_home):
    catalog = Catalog(sample_home)
    yield HttpCore(catalog)
    catalog.close()


@pytest.mark.parametrize("start", ["%C2%B2", "%D9%A5", "%EF%BC%93"])   # ², Arabic-Indic 5, fullwidth 3
def test_a_start_of_other_digits_is_the_first_page(core, start) -> None:
    page = core.respond("GET", f"/?q=water&start={start}".encode())
    assert page.status == 200 and b"water" in page.body
    brief = core.respond("GET", f"/?q=water&format=json&start={start}".encode())
    assert brief.status == 200 and json.loads(brief.body)["start"] == 1


def test_an_order_form_over_the_body_limit_is_413_not_a_wrong_login(core) -> None:
    answer = core.respond("POST", b"/order/1", b"", content_type="application/x-www-form-urlencoded",
                          body_too_large=True, address="10.9.8.7")
    assert answer.status == 413 and b"The form is larger than" in answer.body
