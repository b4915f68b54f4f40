"""The web search page in headless Chromium (Selenium): search, sort, limit, page, open a record,
on a desktop and a phone-sized window. Screenshots go to test-output/ (gitignored).

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package; skips with the reason
when one is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from test_sru_http import start_server, stop_server

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output"


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("headless Chromium missing (apt-get install -y chromium chromium-driver)")
    return chromium, driver


def _driver(width: int, height: int, mobile: bool = False):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(argument)
    if mobile:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def server(sample_home):
    _browser_paths()
    process, base = start_server(sample_home.root)
    yield base
    stop_server(process)


@pytest.fixture(scope="module")
def browser(server):
    driver = _driver(1280, 900)
    yield driver
    driver.quit()


def by_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def navigate(driver, action) -> None:
    """Run `action` (a click, Enter) and wait until the browser has loaded the next page.

    The old page is marked in its window object, which a new document does not have. (Waiting
    for the old <html> element to go stale raced with chromedriver, which can answer "Node with
    given id does not belong to the document" instead of a stale element while it navigates.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.unikatOldPage = true")
    action()

    def loaded(d) -> bool:
        return d.execute_script("return window.unikatOldPage === undefined && document.readyState === 'complete'")

    WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,)).until(loaded)


def hit_count(driver) -> int:
    return int(by_css(driver, "p.hits strong")[0].text.replace(",", ""))


def params(driver) -> dict[str, list[str]]:
    return parse_qs(urlsplit(driver.current_url).query)


def shot(driver, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def test_search_sort_limit_page_and_record(browser, server) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    browser.get(server + "/")
    assert browser.title == "unikat sample union catalog"
    box = by_css(browser, "input[name=q]")[0]
    navigate(browser, lambda: box.send_keys("history", Keys.ENTER))
    assert params(browser)["q"] == ["history"]
    everything = hit_count(browser)
    assert everything > 40 and len(by_css(browser, "ol.briefs > li")) == 20
    shot(browser, "web-results")

    # Sort by year: a plain link, so the sorted list has its own address.
    navigate(browser, next(a for a in by_css(browser, "p.sortbar a") if a.text == "Newest first").click)
    assert params(browser)["sort"] == ["year"]
    years = [int(meta.text[-4:]) for meta in by_css(browser, "div.meta") if meta.text[-4:].isdigit()]
    assert years == sorted(years, reverse=True)

    # Limits: the details are open once a sort or limit is chosen; choose a language and a library.
    if by_css(browser, "details.limits")[0].get_attribute("open") is None:
        by_css(browser, "details.limits summary")[0].click()
    Select(by_css(browser, "select[name=lang]")[0]).select_by_value("eng")
    Select(by_css(browser, "select[name=lib]")[0]).select_by_value("a")
    navigate(browser, by_css(browser, "form.search button")[0].click)
    assert params(browser)["lang"] == ["eng"] and params(browser)["lib"] == ["a"]
    limited = hit_count(browser)
    assert 20 < limited < everything
    shot(browser, "web-limited")

    # Paging.
    navigate(browser, by_css(browser, "nav.pages a[rel=next]")[0].click)
    assert params(browser)["start"] == ["21"]
    assert by_css(browser, "ol.briefs")[0].get_attribute("start") == "21"
    assert "Page 2 of" in by_css(browser, "nav.pages")[0].text

    # The full record, and back.
    title = by_css(browser, "ol.briefs > li a.title")[0]
    title_text = title.text
    navigate(browser, title.click)
    assert urlsplit(browser.current_url).path.startswith("/record/")
    assert by_css(browser, "article.record h1")[0].text
    assert title_text.startswith(by_css(browser, "article.record h1")[0].text[:10])
    holders = [cell.text for cell in by_css(browser, "section.holdings tbody tr td:first-child")]
    assert any("Library A" in holder for holder in holders)
    assert [th.text for th in by_css(browser, "table.marc th")][:1] == ["LDR"]
    shot(browser, "web-record")
    navigate(browser, next(a for a in by_css(browser, "nav.links a") if a.text == "Back to the results").click)
    assert params(browser)["start"] == ["21"] and params(browser)["lang"] == ["eng"]


def test_ccl_and_cql_queries(browser, server) -> None:
    from selenium.webdriver.common.keys import Keys

    for query in ("ti=water and su=georgia", 'cql:dc.title any "water river"'):
        browser.get(server + "/")
        navigate(browser, lambda text=query: by_css(browser, "input[name=q]")[0].send_keys(text, Keys.ENTER))
        assert not by_css(browser, "p.problem"), query
        assert hit_count(browser) > 0
    browser.get(server + "/")
    navigate(browser, lambda: by_css(browser, "input[name=q]")[0].send_keys("ti=(water", Keys.ENTER))
    assert "Cannot read the query" in by_css(browser, "p.problem")[0].text


def test_readable_on_a_phone(server) -> None:
    driver = _driver(390, 844, mobile=True)
    try:
        driver.get(server + "/?q=water")
        assert hit_count(driver) > 0
        width = driver.execute_script("return window.innerWidth")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
        font = driver.execute_script(
            "return parseFloat(getComputedStyle(document.querySelector('ol.briefs a')).fontSize)")
        assert font >= 14
        shot(driver, "web-phone-results")
        navigate(driver, by_css(driver, "ol.briefs > li a.title")[0].click)
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
        shot(driver, "web-phone-record")
    finally:
        driver.quit()
