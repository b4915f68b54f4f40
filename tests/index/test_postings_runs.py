"""A posting-array segment built in bounded runs merged on disk is the segment built in memory."""

from __future__ import annotations

import itertools
import os
import resource

import numpy as np
import pytest
from conftest import SAMPLE_DATA, load, make_home

from index.engines.postings import writer
from index.engines.postings.layout import connect, docs_path, lengths_path, positions_path
from index.searchkeys.extract import TitleKeys
from index.searchkeys.files import SearchKeyFiles

LOADS = (("A", "lib-a.mrc"), ("B", "lib-b.mrc"), ("C", "lib-c.xml"), ("ZDB", "ejournals.pica"))


@pytest.fixture(scope="module")
def titles(tmp_path_factory):
    """The search keys of the sample catalog, as its search-key files hold them."""
    home = make_home(tmp_path_factory.mktemp("runs"), (SAMPLE_DATA / "unikat.toml").read_text(), engine="postings")
    for library, name in LOADS:
        load(home, library, SAMPLE_DATA / name)
    return list(SearchKeyFiles(home.searchkeys_dir).read_all())


def _built(directory, titles, merging=None, procs=1) -> tuple[list, bytes, bytes]:
    directory.mkdir()
    assert writer.build(directory, titles, merging, procs) == len(titles)
    db = connect(directory, readonly=True)
    rows = db.execute("SELECT * FROM terms ORDER BY field, term").fetchall()
    db.close()
    assert not (directory / "runs").exists(), "the runs are removed after the merge"
    return rows, docs_path(directory, 1).read_bytes(), positions_path(directory, 1).read_bytes()


def _merges_seen(monkeypatch) -> list[list]:
    """The spilled runs of each merge a build makes from now on, as the merge begins."""
    seen: list[list] = []
    merge = writer._SegmentBuilder._merge

    def watched(self, *args):
        seen.append(list(self.spilled))
        return merge(self, *args)

    monkeypatch.setattr(writer._SegmentBuilder, "_merge", watched)
    return seen


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
    in_parts: list[tuple[int, int]] = []
    merges = _merges_seen(monkeypatch)
    assert _built(tmp_path / "parts", titles, lambda done, total: in_parts.append((done, total)), 3) == in_memory
    entries = [sum(run.terms for run in spilled) for spilled in merges]
    assert {total for _, total in in_parts} == set(entries), "the progress of a merge in parts counts every part"
    assert in_parts[-1] == (entries[0], entries[0])
    assert [done for done, _ in in_parts] == sorted(done for done, _ in in_parts)


def test_a_merge_of_more_runs_than_files_a_process_may_open(tmp_path, monkeypatch, titles):
    in_memory = _built(tmp_path / "memory", titles)
    monkeypatch.setattr(writer, "RUN_OCCURRENCES", 1_000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    allowed = len(os.listdir("/proc/self/fd")) + 40
    merges = _merges_seen(monkeypatch)
    resource.setrlimit(resource.RLIMIT_NOFILE, (allowed, hard))
    try:
        assert _built(tmp_path / "runs", titles, procs=2) == in_memory
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    spilled = [len(runs) for runs in merges]
    assert spilled[0] > 2 * allowed, spilled


@pytest.mark.parametrize("run_size", [5_000, 40_000, 10**9])
def test_runs_collected_by_worker_processes_give_the_segment_built_in_memory(tmp_path, monkeypatch, titles,
                                                                             run_size):
    # 10**9: one run, collected here without workers
    in_memory = _built(tmp_path / "memory", titles)
    monkeypatch.setattr(writer, "RUN_OCCURRENCES", run_size)
    spilled_run, where = writer._spilled_run, tmp_path / "collected by"

    def watched(job):
        with open(where, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return spilled_run(job)

    merged_apart, merge_apart = tmp_path / "merged apart by", writer._merge_apart

    def watched_merge(merged, part):
        merged_apart.write_text(f"{os.getpid()} {part.first}")
        return merge_apart(merged, part)

    monkeypatch.setattr(writer, "_spilled_run", watched)
    monkeypatch.setattr(writer, "_merge_apart", watched_merge)
    assert _built(tmp_path / "workers", titles, procs=2) == in_memory
    assert (lengths_path(tmp_path / "workers", 1).read_bytes()
            == lengths_path(tmp_path / "memory", 1).read_bytes())
    db = connect(tmp_path / "workers", readonly=True)
    assert db.execute("SELECT count(*) FROM control").fetchone()[0] == len(titles)
    db.close()
    if run_size < 10**9:
        collectors = where.read_text().split()
        assert len(collectors) == len(list(writer._run_batches(titles, run_size // 2))) > 5
        assert str(os.getpid()) not in collectors and len(set(collectors)) == 2, "runs collected by two workers"
        pid, first = merged_apart.read_text().split()
        assert int(pid) != os.getpid() and "a" < first < "z", "the later fields are merged in a process of their own"
    else:
        assert not where.exists(), "one run is collected here, without workers"


def test_worker_processes_refuse_titles_out_of_isn_order(tmp_path, monkeypatch, titles):
    monkeypatch.setattr(writer, "RUN_OCCURRENCES", 5_000)
    shuffled = titles[:200] + titles[300:] + titles[200:300]
    with pytest.raises(ValueError, match="out of ISN order"):
        _built(tmp_path / "workers", shuffled, procs=2)


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


def test_field_groups_split_the_lexicon_entries_about_evenly(tmp_path, titles):
    runs = []
    for number in range(3):
        run = writer._Run()
        for title in titles[number::3]:
            run.add(title)
        runs.append(writer._SpilledRun(tmp_path, number, run.sorted()))
    total = sum(run.terms for run in runs)
    assert writer._field_groups(runs, 1) == [("", writer._SpilledRun.END)]
    for count in (2, 3):
        groups = writer._field_groups(runs, count)
        assert len(groups) == count and groups[0][0] == "" and groups[-1][1] == writer._SpilledRun.END
        assert all(end == first for (_, end), (first, _) in itertools.pairwise(groups)), groups
        sizes = [sum(run.part(first, end).terms for run in runs) for first, end in groups]
        assert sum(sizes) == total and max(sizes) < 0.75 * total, sizes


def _run_of(tmp_path, number, keys_of_titles) -> writer._SpilledRun:
    run = writer._Run()
    for isn, keys in enumerate(keys_of_titles, start=1):
        run.add(TitleKeys(isn, keys))
    return writer._SpilledRun(tmp_path, number, run.sorted())


def test_a_field_holding_most_entries_after_small_ones_is_a_part_of_its_own(tmp_path):
    # [1, 1, 98] entries: the second part begins at the big field, nearest half of them
    run = _run_of(tmp_path, 0, [{"dewey": ["5"], "isbn": ["0306406152"], "lccn": [f"85{n:06d}" for n in range(98)]}])
    assert writer._field_groups([run], 2) == [("", "lccn"), ("lccn", writer._SpilledRun.END)]


def test_a_search_key_with_a_line_break_fails_the_spill_and_does_not_corrupt_the_merge(tmp_path):
    with pytest.raises(ValueError, match="line break"):
        _run_of(tmp_path, 0, [{"lccn": ["85\n12345"]}])
