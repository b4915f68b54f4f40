"""`unikat serve` on a home whose index was deleted opens its port at once and builds the index
beside the workers (zserver.net.rebuild): meanwhile searches are "temporarily unavailable"
(Bib-1 109 with the reason, SRU diagnostic 2 with HTTP 503 and Retry-After, the web page a 503
page), Init, explain, records and static files still work, and the built index answers without
a restart. The test holds the home's load lock while it looks, so the build waits for it (as it
would for a running load) and nothing depends on how fast the build is."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import copy_home
from test_http_curl import curl
from test_yaz_client import require, run_yaz_client, start_serving, stop_serving

from index import engines
from index.home import Home
from index.loading.lock import exclusive
from index.query import Term
from index.search import Catalog

pytestmark = pytest.mark.integration

SRU_SEARCH = "/unikat?version=1.2&operation=searchRetrieve&query=dc.title%3Dhistory&maximumRecords=0"


def _status_and_headers(url: str) -> tuple[int, str, str]:
    done = curl("--include", url)
    head, _, body = done.stdout.decode("utf-8").partition("\r\n\r\n")
    return int(head.split()[1]), head, body


def test_serve_opens_at_once_and_builds_the_missing_index_beside(sample_home, tmp_path) -> None:
    require("yaz-client")
    home = Home(tmp_path / "home")
    copy_home(sample_home, home.root)
    catalog = Catalog(home)
    expected = catalog.search(Term("title", "history"), catalog.database("unikat")).size
    isn = catalog.search(Term("title", "history"), catalog.database("unikat")).isns(0, 1)[0]
    catalog.close()
    assert expected > 0
    shutil.rmtree(engines.index_dir(home, home.config()))

    with exclusive(home):   # the build waits for this lock, as for a running load
        server = start_serving(home, workers=2)
        try:
            base = f"http://{server.host}:{server.port}"
            out = run_yaz_client(server, tmp_path, "find @attr 1=4 history")
            assert "Connection accepted" in out, out       # Init works
            assert "[109]" in out and "being rebuilt" in out, out

            status, head, body = _status_and_headers(base + SRU_SEARCH)
            assert status == 503 and "Retry-After: 30" in head, head
            assert "info:srw/diagnostic/1/2" in body and "being rebuilt" in body, body
            status, head, body = _status_and_headers(base + "/unikat?version=1.2&operation=scan&scanClause=dc.title%3Da")
            assert status == 503 and "info:srw/diagnostic/1/2" in body
            status, head, body = _status_and_headers(base + "/?q=history")
            assert status == 503 and "Retry-After" in head and "being rebuilt" in body and "<html" in body
            for path in ("/unikat?version=1.2&operation=explain", "/", f"/record/{isn}", "/robots.txt"):
                status, _, body = _status_and_headers(base + path)
                assert status == 200, (path, body[:300])
            assert not engines.index_ready(home, home.config())   # nothing was built while we held the lock
        except BaseException:
            server.process.kill()
            raise

    try:
        deadline = time.monotonic() + 300
        while True:   # the build runs now; the workers take its index up at their next refresh
            status, _, body = _status_and_headers(base + SRU_SEARCH)
            if status == 200 or time.monotonic() > deadline:
                break
            assert status == 503, body
            time.sleep(0.5)
        assert status == 200 and f"numberOfRecords>{expected}</" in body, body
        answered, deadline = 0, time.monotonic() + 30
        while answered < 4:   # each worker takes the built index up at its next refresh (1 s)
            out = run_yaz_client(server, tmp_path, "find @attr 1=4 history")
            if f"Number of hits: {expected}" in out:
                answered += 1
                continue
            assert "[109]" in out and time.monotonic() < deadline, out   # that worker has not looked yet
            time.sleep(0.5)
        # the build ends after the workers may have taken its index up (on PostgreSQL it takes
        # the store's published index first, then builds and publishes its own)
        deadline = time.monotonic() + 120
        while not any("index built" in line for line in server.log) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert any("index built" in line for line in server.log), server.log
    finally:
        stop_serving(server)
