"""Search time per connection against a real `unikat serve` (both engines): with `[server]
max_query_time` set below what one search costs, yaz-client's first search is answered and its
next one gets Bib-1 31 with the reason, while a new connection still searches."""

from __future__ import annotations

import re

import pytest
from conftest import copy_home
from test_yaz_client import require, run_yaz_client, start_serving, stop_serving

from index.home import Home

pytestmark = pytest.mark.integration


def test_a_connection_over_its_search_time_gets_31(sample_home, tmp_path) -> None:
    require("yaz-client")
    home = Home(tmp_path / "home")
    copy_home(sample_home, home.root)
    config = home.root / "unikat.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^\[server\]\n", "[server]\nmax_query_time = 0.000001\nquery_time_window = 600\n", text, count=1)
    config.write_text(text, encoding="utf-8")
    assert "max_query_time = 0.000001" in config.read_text(encoding="utf-8")
    server = start_serving(home, workers=1)
    try:
        out = run_yaz_client(server, tmp_path, "find @attr 1=4 history", "find @attr 1=4 water")
        first, second = out.split("Sent searchRequest.")[1:3]
        assert re.search(r"Number of hits: [1-9]", first), out
        assert "[31] Resources exhausted - no results available" in second, out
        assert "search time in the last 600 s" in second, out
        again = run_yaz_client(server, tmp_path, "find @attr 1=4 history")   # a new connection
        assert re.search(r"Number of hits: [1-9]", again), again
    finally:
        stop_serving(server)
