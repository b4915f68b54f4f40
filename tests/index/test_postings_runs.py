"""A posting-array segment built in bounded runs merged on disk is the segment built in memory."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE_DATA, load, make_home

from index.engines.postings import writer
from index.engines.postings.layout import connect, docs_path, lengths_path, positions_path
from index.searchkeys.files import SearchKeyFiles

LOADS = (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml"), ("ZDB", "ejournals.pica"))


@pytest.fixture(scope="module")
def titles(tmp_path_factory):
    """The search keys of the sample catalog, as its search-key files hold them."""
    home = make_home(tmp_path_factory.mktemp("runs"), (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    for library, name in LOADS:
        load(home, library, SAMPLE_DATA / name)
    return list(SearchKeyFiles(home.searchkeys_dir).read_all())


def _built(directory, titles, merging=None) -> tuple[list, bytes, bytes]:
    directory.mkdir()
    assert writer.build(directory, titles, merging) == len(titles)
    db = connect(directory, readonly=True)
    rows = db.execute("SELECT * FROM terms ORDER BY field, term").fetchall()
    db.close()
    assert not (directory / "runs").exists(), "the runs are removed after the merge"
    return rows, docs_path(directory, 1).read_bytes(), positions_path(directory, 1).read_bytes()


@pytest.mark.parametrize("run_size", [5_000, 40_000])
def test_runs_merged_on_disk_give_the_segment_built_in_memory(tmp_path, monkeypatch, titles, run_size):
    in_memory = _built(tmp_path / "memory", titles)
    assert len(in_memory[0]) > 10_000 and len(in_memory[1]) > 0
    monkeypatch.setattr(writer, "RUN_OCCURRENCES", run_size)
    monkeypatch.setattr(writer, "_MERGE_CHUNK", 1000)    # terms continue across chunk ends
    monkeypatch.setattr(writer, "_MERGE_VALUES", 3000)
    merged: list[tuple[int, int]] = []
    assert _built(tmp_path / "runs", titles, lambda done, total: merged.append((done, total))) == in_memory
    assert len(merged) > 1 and merged[-1][0] == merged[-1][1], "a merge reports its progress to the end"


@pytest.mark.parametrize("block", [7, 300])
def test_runs_merged_a_block_at_a_time_give_the_segment_built_in_memory(tmp_path, monkeypatch, titles, block):
    # small blocks of each run's lexicon: a block of one run ends inside the terms of another,
    # and a term held by several runs is cut by some of their blocks' ends
    in_memory = _built(tmp_path / "memory", titles)
    monkeypatch.setattr(writer, "RUN_OCCURRENCES", 5_000)
    monkeypatch.setattr(writer, "_MERGE_ENTRIES", 0)   # every run's block the smallest
    monkeypatch.setattr(writer, "_MERGE_BLOCK_MIN", block)
    monkeypatch.setattr(writer, "_MERGE_VALUES", 2000)
    assert _built(tmp_path / "runs", titles) == in_memory


def test_a_merge_holds_the_same_number_of_entries_however_many_runs(tmp_path, monkeypatch, titles):
    # the runs share one budget of lexicon entries in memory, so a bigger catalog (more runs)
    # does not make the merge bigger
    monkeypatch.setattr(writer, "RUN_OCCURRENCES", 8_000)
    monkeypatch.setattr(writer, "_MERGE_ENTRIES", 2_000)
    monkeypatch.setattr(writer, "_MERGE_BLOCK_MIN", 5)
    largest = []
    merged_blocks = writer._merged_blocks

    def watched(runs):
        assert len(runs) > 20, len(runs)
        for block in merged_blocks(runs):
            largest.append(len(block[0]))
            yield block

    monkeypatch.setattr(writer, "_merged_blocks", watched)
    _built(tmp_path / "runs", titles)
    assert len(largest) > 10 and max(largest) <= 2_000


def test_title_lengths_written_a_chunk_at_a_time_are_those_held_whole(tmp_path, monkeypatch, titles):
    whole = tmp_path / "whole"
    _built(whole, titles)
    monkeypatch.setattr(writer, "_LENGTHS_CHUNK", 37)   # not a multiple of a title's ints
    chunked = tmp_path / "chunked"
    _built(chunked, titles)
    assert lengths_path(chunked, 1).read_bytes() == lengths_path(whole, 1).read_bytes()
    assert len(lengths_path(whole, 1).read_bytes()) == 4 * len(titles) * (1 + len(writer.WORD_FIELDS))
    assert not (chunked / writer._LENGTHS_PARTIAL).exists()


@pytest.mark.parametrize(("count", "top"), [(0, 1), (1, 1), (1_000, 10), (200_000, 70_000), (100_000, 2**31 - 1)])
def test_stable_order_is_a_stable_argsort(count, top):
    ranks = np.random.default_rng(count).integers(0, top, count).astype(np.int32)
    assert np.array_equal(writer._stable_order(ranks), np.argsort(ranks, kind="stable"))
