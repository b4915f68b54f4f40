"""The web page's external database through a real `unikat serve`, with curl: a search with
db=external lists external records whose pages open, and their SRU link finds them by number."""

from __future__ import annotations

import re

import pytest
from conftest import SAMPLE_DATA, load, make_home
from externaldata import harvested
from test_http_curl import base, curl
from test_yaz_client import start_serving, stop_serving

from index.external import EXTERNAL_ISN_BASE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("web-external") / "home", (SAMPLE_DATA / "unikat.toml").read_text(),
                     engine="postings")
    load(home, "C", SAMPLE_DATA / "lib-c.xml")
    harvested(home, 60)
    running = start_serving(home, workers=1)
    yield running
    stop_serving(running)


def test_search_and_record_pages_of_the_external_database(server) -> None:
    page = curl("--fail", base(server) + "/?q=history&db=external").stdout.decode()
    hits = int(re.search(r'<p class="hits"><strong>(\d+)</strong>', page).group(1))
    links = re.findall(r'href="/record/(\d+)\?q=history&amp;db=external"', page)
    assert hits == len(links) > 0 and all(int(isn) > EXTERNAL_ISN_BASE for isn in links)
    union = curl("--fail", base(server) + "/?q=history").stdout.decode()
    assert all(int(isn) < EXTERNAL_ISN_BASE for isn in re.findall(r'href="/record/(\d+)', union))

    done = curl("--fail", "--write-out", "%{http_code}", base(server) + f"/record/{links[0]}?q=history&db=external")
    record = done.stdout.decode()
    assert record.endswith("200") and "<h2>MARC record</h2>" in record
    sru = re.search(r'href="(/external\?query=rec\.id%3D\d+&amp;recordSchema=marcxml)"', record).group(1)
    answer = curl("--fail", base(server) + sru.replace("&amp;", "&")).stdout.decode()
    assert re.search(r"<(?:\w+:)?numberOfRecords>1<", answer), answer[:500]

    refused = curl(base(server) + "/?q=history&db=nope").stdout.decode()
    assert "There is no database 'nope' to search here" in refused
