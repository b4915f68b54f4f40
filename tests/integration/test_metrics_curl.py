"""/metrics of a running `unikat serve` (both engines, two workers) read with curl after real
clients' requests: curl for SRU and OAI-PMH, yaz-client for Z39.50. The counts are exact sums
over both worker processes (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import functools
import socket

import pytest
from conftest import copy_home
from prometheus_client.parser import text_string_to_metric_families
from test_http_curl import curl as http_curl
from test_yaz_client import Server, require, run_yaz_client, start_serving, stop_serving

from index.home import Home
from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(sample_home, tmp_path_factory) -> Server:
    root = tmp_path_factory.mktemp("metrics-home") / "home"
    copy_home(sample_home, root)
    (root / "unikat.toml").write_text((root / "unikat.toml").read_text() + "\n[metrics]\nenabled = true\n")
    running = start_serving(Home(root), workers=2)
    yield running
    stop_serving(running)


curl = functools.partial(http_curl, check=True)


def scrape(server: Server) -> dict[tuple[str, tuple], float]:
    done = curl("--include", f"http://{server.host}:{server.port}/metrics")
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Type: text/plain; version=" in head
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


def test_counts_of_real_clients(server: Server, tmp_path) -> None:
    base = f"http://{server.host}:{server.port}"
    for _ in range(6):   # a new connection each: the kernel spreads them over both workers
        curl("--output", "/dev/null", base + "/unikat?version=1.2&operation=searchRetrieve&query=water")
    curl("--output", "/dev/null", base + "/unikat?version=1.2&operation=searchRetrieve&query=%28%28")   # diagnostic 10
    for _ in range(2):
        curl("--output", "/dev/null", base + "/oai?verb=Identify")
    curl("--output", "/dev/null", base + "/oai?verb=Harvest")   # badVerb
    curl("--output", "/dev/null", base + "/nosuchdb?version=1.2&operation=searchRetrieve&query=x")   # 404
    require("yaz-client")
    run_yaz_client(server, tmp_path, "find @attr 1=4 water", "find @attr 1=9999 water", "quit")
    with socket.create_connection((server.host, server.port), timeout=30) as held:   # an open keep-alive connection
        held.sendall(b"GET /unikat HTTP/1.1\r\nHost: x\r\n\r\n")
        assert held.recv(4096).startswith(b"HTTP/1.1 200")
        found = scrape(server)
        assert found["unikat_open_connections", (("protocol", "http"),)] >= 2   # this one and the scrape's
    count = "unikat_request_seconds_count"
    assert found[count, (("kind", "searchRetrieve"), ("protocol", "sru"))] == 8   # (the 404 one counts too)
    assert found["unikat_diagnostics_total", (("code", "10"), ("protocol", "sru"))] == 1
    assert found["unikat_diagnostics_total", (("code", "235"), ("protocol", "sru"))] == 1
    assert found["unikat_http_errors_total", (("protocol", "sru"), ("status", "404"))] == 1
    assert found[count, (("kind", "Identify"), ("protocol", "oai"))] == 2
    assert found["unikat_diagnostics_total", (("code", "badVerb"), ("protocol", "oai"))] == 1
    assert found[count, (("kind", "initRequest"), ("protocol", "z3950"))] == 1
    assert found[count, (("kind", "searchRequest"), ("protocol", "z3950"))] == 2
    assert found["unikat_diagnostics_total", (("code", "114"), ("protocol", "z3950"))] == 1
    store = CatalogStore.of(server.home)
    try:
        assert found["unikat_titles", ()] == store.count_titles()
        assert found["unikat_load_records_total", (("outcome", "read"),)] == sum(load["read"] for load in store.loads())
    finally:
        store.close()
