"""The web page's facets in headless Chromium, on both engines: the result's counts beside the
list, a click on a value narrows the result to exactly that count, a chosen author is taken
away again, and the limit menus show the result's counts. Screenshots go to test-output/."""

from __future__ import annotations

import re

import pytest
from test_sru_http import start_server, stop_server
from test_web_browser import _browser_paths, _driver, by_css, hit_count, navigate, params, shot

from index.searchkeys.normalize import normalize

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(sample_home):
    _browser_paths()
    process, base = start_server(sample_home.root)
    yield base
    stop_server(process)


@pytest.fixture(scope="module")
def browser(site):
    driver = _driver(1280, 900)
    yield driver
    driver.quit()


def facet_links(driver, name: str) -> list[tuple[object, str, int]]:
    """(link, its text, its count) of the values listed under facet `name`."""
    found = []
    for item in by_css(driver, f"aside.facets section.facet-{name} li"):
        link = item.find_element("css selector", "a")
        count = int(item.find_element("css selector", "span.count").text.replace(",", ""))
        found.append((link, link.text, count))
    return found


def test_facets_narrow_the_result(browser, site) -> None:
    browser.get(site + "/?q=history")
    everything = hit_count(browser)
    assert by_css(browser, "aside.facets h2")[0].text == "Narrow the result"
    headings = [h.text for h in by_css(browser, "aside.facets h3")]
    assert headings[:3] == ["Library", "Language", "Material"] and "Author" in headings
    # the counts are the whole result's: the libraries together hold at least every title found
    assert sum(count for _, _, count in facet_links(browser, "library")) >= everything > 20
    # the language menu offers the result's languages with the same counts
    languages = {text: count for _, text, count in facet_links(browser, "language")}
    menu = {option.get_attribute("textContent") for option in by_css(browser, "select[name=lang] option")}
    assert all(f"{name} ({count:,})" in menu for name, count in languages.items())
    shot(browser, "web-facets")

    link, text, count = facet_links(browser, "language")[1]   # the second most frequent language
    navigate(browser, link.click)
    assert params(browser)["lang"] and hit_count(browser) == count < everything
    assert by_css(browser, "select[name=lang] option[selected]")[0].get_attribute("textContent").startswith(text)

    link, decade, count = facet_links(browser, "decade")[0]
    navigate(browser, link.click)
    low, high = decade.split("-")
    assert params(browser)["from"] == [low] and params(browser)["to"] == [high]
    assert hit_count(browser) == count

    narrowed = hit_count(browser)
    link, author, count = facet_links(browser, "author")[0]
    navigate(browser, link.click)
    # the link reads as catalogued, narrows by the key
    assert params(browser)["facet"] == [f"author:{normalize(author)}"] and hit_count(browser) == count <= narrowed
    chosen = by_css(browser, "aside.facets ul.chosen a")
    assert [a.text for a in chosen] == [f"× {author}"]
    shot(browser, "web-facets-chosen")
    navigate(browser, chosen[0].click)
    assert "facet" not in params(browser) and hit_count(browser) == narrowed


def test_facets_on_a_phone(site) -> None:
    driver = _driver(390, 844, mobile=True)
    try:
        driver.get(site + "/?q=history")
        assert by_css(driver, "aside.facets section")
        width = driver.execute_script("return window.innerWidth")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
        shot(driver, "web-facets-phone")
    finally:
        driver.quit()


def test_a_bad_facet_choice_says_why(browser, site) -> None:
    browser.get(site + "/?q=history&facet=colour:red")
    assert re.search(r"not a facet choice", by_css(browser, "p.problem")[0].text)
