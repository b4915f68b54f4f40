"""The posting-array engine merges its segments (index.engines.postings.merge): thirty small
incremental loads into a home a real `unikat serve` serves keep the number of segments within
the policy's O(log n) bound, the server's open descriptors flat and the old segment files gone,
and what SRU finds after every load is right and the same as after a full rebuild."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import time
import urllib.parse
import urllib.request

import pytest
from conftest import SAMPLE_DATA, load, make_home
from test_yaz_client import REPO, start_serving, stop_serving

from index.engines.postings import merge
from index.loading import indexing
from index.store.catalog import CatalogStore

pytestmark = pytest.mark.integration

ROUNDS = 30


def _incremental_loads():
    """tests/index/test_incremental_loads.py: its deliveries (new, changed, deleted records)."""
    spec = importlib.util.spec_from_file_location("incremental_loads", REPO / "tests/index/test_incremental_loads.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_loads = _incremental_loads()
Deliveries, segments = _loads.Deliveries, _loads.segments


def test_plan_merges_a_full_level_only():
    assert merge.plan({1: 20_000, 2: 9, 3: 8, 4: 10}) is None                 # three of level 1
    assert merge.plan({1: 20_000, 2: 9, 3: 8, 4: 10, 5: 12}) == [2, 3, 4, 5]  # four: one merge
    assert merge.plan({1: 20_000, 7: 40, 8: 36, 9: 33, 10: 41, 11: 9}) == [7, 8, 9, 10]
    assert merge.plan({1: 20_000, 2: 20_001, 3: 20_002, 4: 19_999}) == [1, 2, 3, 4]


def _hits(server, word: str) -> tuple[int, list[str]]:
    query = urllib.parse.urlencode({"version": "1.2", "operation": "searchRetrieve", "query": f"dc.title={word}",
                                    "maximumRecords": "50", "recordSchema": "dc"})
    with urllib.request.urlopen(f"http://{server.host}:{server.port}/unikat?{query}", timeout=30) as answer:
        body = answer.read().decode("utf-8")
    count = int(re.search(r"numberOfRecords>(\d+)<", body).group(1))
    return count, sorted(re.findall(r"<dc:title>([^<]*)</dc:title>", body))


def _postings_fds(pid: int, directory) -> int:
    found = 0
    for entry in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{entry}").startswith(str(directory)):
                found += 1
        except OSError:
            continue
    return found


def test_thirty_loads_keep_segments_and_descriptors_bounded(tmp_path):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    deliveries = Deliveries(tmp_path)
    load(home, "A", deliveries.next(0, 60, 0, 0)[0])
    directory = home.root / "postings"
    server = start_serving(home, workers=1)   # one process: the reactor runs in the served process
    counts, fds, files = [], [], []
    try:
        for number in range(1, ROUNDS + 1):
            load(home, "A", deliveries.next(number, 4, 3, 2)[0])
            expected = deliveries.expected()
            word = deliveries.round_words[-1]
            deadline = time.monotonic() + 30
            while _hits(server, word)[0] != expected[word] and time.monotonic() < deadline:
                time.sleep(0.2)   # the server refreshes at most once a second
            for check in [*deliveries.round_words[-3:], *deliveries.gone[-2:]]:
                assert _hits(server, check)[0] == expected[check], (number, check)
            counts.append(segments(home, "postings"))
            fds.append(_postings_fds(server.process.pid, directory))
            files.append(len([p for p in directory.iterdir() if p.suffix in (".docs", ".positions")]))
        titles = len(deliveries.titles)
        bound = (merge.FACTOR - 1) * (int(math.log(titles, merge.FACTOR)) + 1)
        assert max(counts) <= bound, counts
        assert any(later < earlier for earlier, later in zip(counts, counts[1:], strict=False)), counts
        # two files a segment and the lexicon (with its WAL): flat, never growing with the loads
        assert max(fds) <= 2 * bound + 3, fds
        assert max(fds[10:]) <= max(fds[:10]) + 2 * merge.FACTOR, fds
        # the files of merged segments go at the next update: at most one merge's worth left over
        assert max(files) <= 2 * (bound + 2 * merge.FACTOR), files

        words = sorted(deliveries.expected())
        after_updates = {word: _hits(server, word) for word in words}
        assert {word: found[0] for word, found in after_updates.items()} == deliveries.expected()
        store = CatalogStore.of(home)
        try:
            indexing.rebuild(home, store)   # what `unikat index --full` does
        finally:
            store.close()
        assert segments(home, "postings") == 1
        deadline = time.monotonic() + 30   # the server takes up the rebuilt index at a refresh:
        while _postings_fds(server.process.pid, directory) > 2 + 3 and time.monotonic() < deadline:
            _hits(server, words[0])         # then it holds one segment's files and the lexicon
            time.sleep(0.2)
        assert _postings_fds(server.process.pid, directory) <= 2 + 3
        assert {word: _hits(server, word) for word in words} == after_updates
    finally:
        stop_serving(server)
    print(f"segments after each load: {counts}\npostings descriptors of the server: {fds}\nsegment files: {files}")
