"""The interlibrary loan pages in headless Chromium (Selenium) against a running `unikat serve`
(both engines): the order button on the full record, the order form prefilled in ISBD, the
balance, a refusal, the order and its number, the status page. No page carries a script.
Skips with the reason when Chromium, chromedriver or selenium is missing."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from illdata import ill_sample_home
from test_web_browser import _browser_paths, _driver, by_css, navigate, shot
from test_yaz_client import start_serving, stop_serving

from index.ill.rules import isbd_text
from index.records.formats import parse
from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(sample_home, tmp_path_factory):
    _browser_paths()
    home, found = ill_sample_home(sample_home, tmp_path_factory.mktemp("ill-web") / "home")
    server = start_serving(home, workers=1)
    picks = SimpleNamespace(**vars(found))
    store = CatalogStore.of(home)
    picks.isbd = isbd_text(parse(store.display(picks.lendable)))   # what the form must show
    store.close()
    yield f"http://{server.host}:{server.port}", picks
    stop_serving(server)


@pytest.fixture(scope="module")
def browser(site):
    driver = _driver(1280, 1000)
    yield driver
    driver.quit()


def fill(driver, name: str, value: str) -> None:
    (field,) = by_css(driver, f"input[name={name}]")
    field.clear()
    field.send_keys(value)


def press(driver, value: str) -> None:
    (button,) = by_css(driver, f"button[name=action][value={value}]")
    navigate(driver, button.click)


def no_script(driver) -> None:
    source = driver.page_source.lower()
    assert "<script" not in source and not re.search(r"\son[a-z]+=", source)


def test_order_from_the_full_record(browser, site):
    base, picks = site
    browser.get(f"{base}/record/{picks.lendable}")
    (button,) = by_css(browser, "form.order button")
    assert button.text == "Order by interlibrary loan"
    navigate(browser, button.click)
    assert browser.current_url == f"{base}/order/{picks.lendable}?"
    (isbd,) = by_css(browser, "textarea[name=isbd]")
    assert isbd.get_attribute("readonly") and isbd.get_attribute("value") == picks.isbd
    assert "Lent by:" in browser.page_source
    no_script(browser)
    fill(browser, "access", "4711")
    fill(browser, "password", "falsch")
    press(browser, "balance")
    assert by_css(browser, "p.error")[0].text == "Wrong access number or password."
    assert by_css(browser, "input[name=access]")[0].get_attribute("value") == "4711"      # input kept ...
    assert by_css(browser, "input[name=password]")[0].get_attribute("value") == ""        # ... not the password
    fill(browser, "password", "geheim")
    press(browser, "balance")
    assert by_css(browser, "p.balance")[0].text == "Your balance: 4 units (an order costs 2)."
    fill(browser, "password", "geheim")
    press(browser, "order")
    shot(browser, "ill-order-placed")
    number = by_css(browser, "strong.order-number")[0].text
    assert re.fullmatch(r"UNI\d{9}", number)
    assert by_css(browser, "p.balance")[0].text == "Your balance: 4 units before, 2 units after this order."
    no_script(browser)
    (status_link,) = [a for a in by_css(browser, "a") if a.text == "Status of this order"]
    navigate(browser, status_link.click)
    shot(browser, "ill-order-status")
    cells = {row.find_element("css selector", "th").text: row.find_element("css selector", "td").text
             for row in by_css(browser, "table.ill-status tr")}
    assert cells["Order number"] == number and cells["Status"] == "RequestReceived"
    assert cells["Left the network"] == "no" and cells["Where"].startswith("At ")
    no_script(browser)


def test_article_data_checked_and_refusals_shown(browser, site):
    base, picks = site
    browser.get(f"{base}/order/{picks.lendable}")
    fill(browser, "access", "5555")
    fill(browser, "password", "copy-pw")
    fill(browser, "article_title", "Über Fernleihe")
    press(browser, "order")
    assert "please give the author or the pages and the year or the volume" in by_css(browser, "p.error")[0].text
    assert by_css(browser, "input[name=article_title]")[0].get_attribute("value") == "Über Fernleihe"
    browser.get(f"{base}/order/{picks.held}")
    fill(browser, "access", "5555")
    fill(browser, "password", "copy-pw")
    press(browser, "order")
    assert by_css(browser, "p.error")[0].text.startswith("Your library A holds this title")
    browser.get(f"{base}/status?number=UNI999999999")
    assert by_css(browser, "p.error")[0].text == "There is no order UNI999999999."


def test_free_order_form(browser, site):
    base, _ = site
    browser.get(f"{base}/order")
    (title,) = by_css(browser, "textarea[name=title]")
    title.send_keys("Meier, K.: Ein seltenes Heft. Celle, 1887")
    fill(browser, "access", "5555")
    fill(browser, "password", "copy-pw")
    press(browser, "order")
    number = by_css(browser, "strong.order-number")[0].text
    browser.get(f"{base}/status/{number}")
    cells = {row.find_element("css selector", "th").text: row.find_element("css selector", "td").text
             for row in by_css(browser, "table.ill-status tr")}
    assert cells["Kind"] == "loan, free order" and cells["Status"] == "CentralDesk"
