"""yaz-client's `itemorder ill|item|xml` against a running `unikat serve`: Extended Services
ItemOrder places interlibrary loan orders (index.ill), on both engines. Skips with a printed
reason when yaz-client is not installed."""

from __future__ import annotations

import re

import pytest
from illdata import ill_sample_home
from test_yaz_client import require, run_yaz_client, start_serving, stop_serving

from index.ill import IllService
from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def network(sample_home, tmp_path_factory):
    require("yaz-client")
    home, picks = ill_sample_home(sample_home, tmp_path_factory.mktemp("ill-z3950") / "home")
    server = start_serving(home, workers=1)
    yield server, picks
    stop_serving(server)


def yaz(server, tmp_path, *commands, user=None):
    before = (f"auth {user[0]} {user[1]}",) if user else ()
    return run_yaz_client(server, tmp_path, *commands, before_open=before)


def diagnostic(output: str) -> int:
    found = re.search(r"\[(\d+)\]", output.split("Got extended services response")[-1])
    assert found, output
    return int(found.group(1))


def test_init_announces_extended_services(network, tmp_path):
    server, _ = network
    assert "extendedServices" in yaz(server, tmp_path)


def test_item_orders_ill_and_item_forms_create_orders(network, tmp_path):
    server, picks = network
    output = yaz(server, tmp_path, f"find @attr 1=1032 {picks.lendable}", "itemorder ill 1", "itemorder item 1",
                 "itemorder ill 1", user=("4711", "geheim"))
    answers = output.split("Got extended services response")[1:]
    assert len(answers) == 3, output
    numbers = [re.search(r"Target Reference: (UNI\d+)", answer).group(1) for answer in answers[:2]]
    assert "Status: done" in answers[0] and "<status>RequestReceived</status>" in answers[0]
    assert "<balanceBefore>4</balanceBefore><balanceAfter>2</balanceAfter>" in answers[0]
    assert "<balanceAfter>0</balanceAfter>" in answers[1]
    assert "Status: failure" in answers[2] and diagnostic(answers[2]) == 220     # the balance is used up
    assert "balance is 0 units" in answers[2]
    store = CatalogStore.of(server.home)
    try:
        service = IllService(store, server.home.config())
        orders = [service.order(number) for number in numbers]
    finally:
        store.close()
    assert [o.via for o in orders] == ["z3950 itemorder ill", "z3950 itemorder item"]
    assert all(o.isn == picks.lendable and o.supplier and o.supplier != "A" for o in orders)


def test_quota_order_then_quota_exhausted(network, tmp_path):
    server, picks = network
    output = yaz(server, tmp_path, f"find @attr 1=1032 {picks.lendable}", "itemorder item 1", "itemorder item 1",
                 user=("0815", "quota-pw"))
    first, second = output.split("Got extended services response")[1:]
    assert "<quotaLeft>0</quotaLeft>" in first
    assert diagnostic(second) == 220 and "used up" in second


@pytest.mark.parametrize(("user", "commands", "code", "words"), [
    (("4711", "falsch"), ["itemorder ill 1"], 222, "Wrong access number or password"),
    (None, ["itemorder ill 1"], 1004, "access number"),
    (("4711", "geheim"), ["itemorder ill 7"], 13, "item 7 of 1"),
])
def test_refusals_are_es_diagnostics(network, tmp_path, user, commands, code, words):
    server, picks = network
    output = yaz(server, tmp_path, f"find @attr 1=1032 {picks.lendable}", *commands, user=user)
    assert "Status: failure" in output and diagnostic(output) == code and words in output, output


def test_unknown_result_set_unlendable_and_held_titles(network, tmp_path):
    server, picks = network
    user = ("4711", "geheim")
    output = yaz(server, tmp_path, "itemorder ill 1", user=user)
    assert diagnostic(output) == 30
    output = yaz(server, tmp_path, f"find @attr 1=1032 {picks.unlendable}", "itemorder ill 1", user=user)
    assert diagnostic(output) == 224 and "reference only" in output, output
    output = yaz(server, tmp_path, f"find @attr 1=1032 {picks.held}", "itemorder ill 1", user=user)
    assert diagnostic(output) == 224 and "Your library A holds this title" in output, output


ARTICLE = """<?xml version="1.0" encoding="UTF-8"?>
<request xmlns="http://illtransactions.org/2013/iso18626">
  <bibliographicInfo>
    <titleOfComponent>Über die Fernleihe</titleOfComponent>
    <authorOfComponent>Schmidt, Eva</authorOfComponent>
    <volume>12</volume>
    <pagesRequested>17-29</pagesRequested>
  </bibliographicInfo>
</request>
"""


def test_item_order_xml_form_orders_an_article_copy(network, tmp_path):
    server, picks = network
    document = tmp_path / "article.xml"
    document.write_text(ARTICLE, encoding="utf-8")
    output = yaz(server, tmp_path, f"find @attr 1=1032 {picks.lendable}", f"itemorder xml 1 <{document}",
                 user=("5555", "copy-pw"))
    assert "using XML ILL-request" in output and "Status: done" in output, output
    number = re.search(r"Target Reference: (UNI\d+)", output).group(1)
    assert "<kind>copy</kind>" in output
    store = CatalogStore.of(server.home)
    try:
        order = IllService(store, server.home.config()).order(number)
    finally:
        store.close()
    assert order.via == "z3950 itemorder xml" and order.article.title == "Über die Fernleihe"
    assert (order.article.author, order.article.pages, order.article.volume) == ("Schmidt, Eva", "17-29", "12")


def test_a_package_name_sent_again_places_no_second_order(network, tmp_path):
    """A client retrying an ItemOrder under the same package name (its answer was lost) must not
    order the title twice nor pay twice: the second is refused with 218, naming the first."""
    server, picks = network
    output = yaz(server, tmp_path, f"find @attr 1=1032 {picks.lendable}", "packagename retry-1",
                 "itemorder ill 1", "itemorder ill 1", "packagename retry-2", "itemorder ill 1",
                 user=("5555", "copy-pw"))
    first, again, other = output.split("Got extended services response")[1:]
    number = re.search(r"Target Reference: (UNI\d+)", first).group(1)
    before, after = map(int, re.search(r"<balanceBefore>(\d+)</balanceBefore><balanceAfter>(\d+)<", first).groups())
    assert "Status: failure" in again and diagnostic(again) == 218 and number in again, again
    assert "Status: done" in other, other
    assert re.search(r"<balanceBefore>(\d+)<", other).group(1) == str(after) and after < before
