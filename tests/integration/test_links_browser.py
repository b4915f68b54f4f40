"""The link-check report and the e-journal list in headless Chromium: a catalog of the sample
e-journals whose URLs point at web hosts this test starts on 127.0.0.1/127.0.0.2, checked by
`unikat linkcheck`, listed by `unikat ejournals`, each page opened from its file and looked at.
Screenshots go to test-output/ (gitignored). Skips with the reason when Chromium, chromedriver
or selenium is missing."""

from __future__ import annotations

import pytest
from conftest import TEST_CONFIG, load, make_home
from test_web_browser import _driver, by_css, shot
from webhosts import WebHost, localized_ejournals

from zserver.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def checked_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("links-browser")
    one, two = WebHost("127.0.0.1", work_seconds=0), WebHost("127.0.0.2", work_seconds=0)
    try:
        home = make_home(root / "home", TEST_CONFIG + "\n[linkcheck]\ndelay = 0\ntimeout = 1\n")
        path, _ = localized_ejournals(root, one, two)
        load(home, "ZDB", path)
        assert main(["--home", str(home.root), "linkcheck"]) == 0
        assert main(["--home", str(home.root), "ejournals"]) == 0
    finally:
        one.close()
        two.close()
    return home


@pytest.fixture(scope="module")
def browser(checked_home):
    driver = _driver(1400, 1000)
    yield driver
    driver.quit()


def test_linkcheck_report_in_chromium(browser, checked_home) -> None:
    report = checked_home.root / "linkcheck"
    browser.get((report / "index.html").as_uri())
    assert browser.title == "Link check"
    libraries = [a.text for a in by_css(browser, "tbody td:first-child a")]
    assert libraries == ["A", "B", "WWW 1"]
    browser.get((report / "A.html").as_uri())
    rows = by_css(browser, "tbody tr")
    cells = [[cell.text for cell in row.find_elements("css selector", "td")] for row in rows]
    states = [row[0] for row in cells]
    assert states and set(states) == {"broken", "moved"} and states == sorted(states)
    broken_urls = {row[1] for row in cells if row[0] == "broken"}
    assert by_css(browser, "p.counts span.broken")[0].text == f"{len(broken_urls)} broken"
    # the browser lays the table out inside the window: no horizontal scrolling
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
    shot(browser, "linkcheck-report-A")


def test_ejournal_list_in_chromium(browser, checked_home) -> None:
    lists = checked_home.root / "ejournals"
    browser.get((lists / "index.html").as_uri())
    assert browser.title.startswith("E-journals")
    assert [a.text for a in by_css(browser, "ul a")][:1] == ["Without subject group"]
    browser.get((lists / "subject-none.html").as_uri())
    rows = by_css(browser, "tbody tr")
    assert len(rows) == 22
    badges = by_css(browser, "span.state")
    assert {badge.text for badge in badges} == {"ok", "moved", "broken"}
    assert all(badge.is_displayed() for badge in badges[:10])
    shot(browser, "ejournals-without-subject-group")
