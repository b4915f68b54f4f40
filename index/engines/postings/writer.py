"""Builds the posting-array engine's files: a full build (one segment) or an update (one more).

Titles are taken in bounded runs: every (field, term) of a run gets an id, every occurrence
appends the id and its code (`ISN << 32 | position`) to two flat arrays; numpy then sorts by
(term, code) and cuts the runs of each term. That is one Python loop over the words and a few
array operations, not a per-document write. A segment that fits in one run is written
directly; a larger one is written run by run to temporary files and merged on disk, term by
term, as Lucene and Zebra merge: the memory of a build does not grow with the catalog.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import marshal
import multiprocessing
import shutil
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

from index.engines.base import Progress
from index.engines.postings import controltable, merge
from index.engines.postings.layout import (
    EXACT_FIELDS,
    GAP,
    KEY_FIELDS,
    POSITION_BITS,
    SCHEMA,
    WORD_FIELDS,
    connect,
    docs_path,
    exact_field,
    lengths_path,
    positions_path,
)
from index.engines.ranking import LENGTH_FIELDS, LONGEST
from index.loading.collector import return_freed_heap
from index.loading.forked import forked_workers
from index.searchkeys.extract import TitleKeys

if WORD_FIELDS != LENGTH_FIELDS:   # `_Run.add` gives the lengths in WORD_FIELDS order
    raise ImportError("the word indexes and the ranked fields differ: count the lengths apart")

MAX_SEGMENTS = 64   # a safety valve: updates merge segments (`merge`), so there are O(log n) of them
# term occurrences held in memory before a run goes to disk (~12 bytes each, and their terms); at
# 100k LC records 2M, 1M, 500k and 250k gave the same time and peaks of 304, 241, 213 and 216 MB
RUN_OCCURRENCES = 500_000
_BYTES_PER_OCCURRENCE = 8   # of packed search keys, in LC records: how `_run_batches` tells a run's size
_LENGTHS_CHUNK = 65_536   # ints of title lengths held before they go to the file
_LENGTHS_PARTIAL = "lengths.partial"
_MERGE_CHUNK = 25_000        # lexicon entries merged at a time, at most
_MERGE_VALUES = 1_000_000     # ... and postings (ISNs and position codes), unless one term has more
# lexicon entries in memory during a merge, shared among the runs (each at least _MERGE_BLOCK_MIN):
# 4,096 a run made the merge's memory grow with the number of runs, i.e. with the catalog
_MERGE_ENTRIES = 65_536
_MERGE_BLOCK_MIN = 256
# a merge's lexicon rows; a term cut by a chunk's end is written again, whole, with the next chunk
_INSERT_TERMS = "INSERT OR REPLACE INTO terms VALUES (?, ?, ?, ?, ?, ?, ?)"


@dataclass
class _Postings:
    """One run's postings, sorted by (field, term): each term's distinct ISNs (`docs`) and,
    for word fields, its position codes, with the count of each per term."""

    fields: list[str]
    terms: list[str]
    docs: np.ndarray
    docs_count: np.ndarray
    positions: np.ndarray
    positions_count: np.ndarray

    def write(self, directory: Path, db: sqlite3.Connection, segment: int, titles: int) -> None:
        """Write as segment `segment` with its lexicon rows (in the caller's transaction)."""
        self.docs.astype("<i8").tofile(docs_path(directory, segment))
        self.positions.astype("<i8").tofile(positions_path(directory, segment))
        docs_at = np.cumsum(self.docs_count) - self.docs_count
        positions_at = np.cumsum(self.positions_count) - self.positions_count
        db.executemany("INSERT INTO terms VALUES (?, ?, ?, ?, ?, ?, ?)", zip(
            self.fields, self.terms, itertools.repeat(segment), docs_at.tolist(), self.docs_count.tolist(),
            positions_at.tolist(), self.positions_count.tolist(), strict=False))   # repeat() is endless
        db.execute("INSERT INTO segments VALUES (?, ?)", (segment, titles))


class _Run:
    """The postings of titles taken in ISN order, while they are collected.

    Each occurrence appends a provisional term id and its code; `dict.setdefault` with a running
    counter assigns ids inside C loops (`array.extend(map(...))`), so ids are sparse. `sorted`
    ranks the terms in lexicon order and renumbers the occurrences by that rank.
    """

    def __init__(self) -> None:
        self.ids: dict[str, dict[str, int]] = {}     # field -> term -> provisional id
        self.counter = itertools.count()
        self.term_ids = array("i")    # provisional ids, one per occurrence (2**31 per run)
        self.codes = array("q")

    def __len__(self) -> int:
        return len(self.codes)

    def add(self, title: TitleKeys) -> list[int]:
        """Add a title's postings; returns its row of the lengths file: its ISN, then the words of
        each word field, as ranking stores them (`ranking.field_lengths`, counted here from the
        words split anyway)."""
        base = title.isn << POSITION_BITS
        term_ids, codes, counter = self.term_ids, self.codes, self.counter
        lengths = [title.isn]
        for name in WORD_FIELDS:
            keys = title.keys.get(name)
            if not keys:
                lengths.append(0)
                continue
            assign = self.ids.setdefault(name, {}).setdefault
            position = base
            words_in_field = 0
            for key in keys:
                words = key.split()
                term_ids.extend(map(assign, words, counter))
                codes.extend(range(position, position + len(words)))
                position += len(words) + GAP
                words_in_field += len(words)
            lengths.append(min(words_in_field, LONGEST))
        for name in EXACT_FIELDS:
            self._keys(exact_field(name), title.keys.get(name), base)
        for name in KEY_FIELDS:
            keys = title.keys.get(name)
            if keys and name == "year":
                keys = [f"{int(key):04d}" for key in keys if key.isdigit()]
            self._keys(name, keys, base)
        return lengths

    def _keys(self, field: str, keys: list[str] | None, base: int) -> None:
        if keys:
            keys = [key for key in keys if key]
            self.term_ids.extend(map(self.ids.setdefault(field, {}).setdefault, keys, self.counter))
            self.codes.extend(itertools.repeat(base, len(keys)))

    def sorted(self) -> _Postings:
        """The run's postings by term; empties the run."""
        fields, terms, provisional, positional = [], [], [], []
        for field in sorted(self.ids):
            ids = self.ids[field]
            ordered = sorted(ids)
            fields.extend(itertools.repeat(field, len(ordered)))
            terms.extend(ordered)
            provisional.extend(map(ids.__getitem__, ordered))
            positional.extend(itertools.repeat(field in WORD_FIELDS, len(ordered)))
        self.ids = {}
        total = len(terms)
        rank = np.zeros(max(provisional, default=-1) + 1, dtype=np.int32)
        rank[np.array(provisional, dtype=np.int64)] = np.arange(total, dtype=np.int32)
        term_ids = rank[np.frombuffer(self.term_ids, dtype=np.int32)] if self.term_ids else np.zeros(0, np.int32)
        del rank, provisional
        # titles were added in ISN order and positions grow within a title, so a stable sort by
        # term leaves each term's codes sorted
        order = _stable_order(term_ids)
        term_ids = term_ids[order]
        codes = np.frombuffer(self.codes, dtype=np.int64)[order] if self.codes else np.zeros(0, np.int64)
        del order
        self.term_ids, self.codes = array("i"), array("q")
        isns = codes >> POSITION_BITS
        first = np.ones(len(codes), dtype=bool)          # first occurrence of a (term, ISN)
        first[1:] = (term_ids[1:] != term_ids[:-1]) | (isns[1:] != isns[:-1])
        docs, doc_terms = isns[first], term_ids[first]
        del isns, first
        kept = np.array(positional, dtype=bool)[term_ids] if len(term_ids) else np.zeros(0, bool)
        positions, position_terms = codes[kept], term_ids[kept]
        del codes, kept, term_ids
        return _Postings(fields, terms, docs, np.bincount(doc_terms, minlength=total),
                         positions, np.bincount(position_terms, minlength=total))


def _stable_order(ranks: np.ndarray) -> np.ndarray:
    """`np.argsort(ranks, kind="stable")` for int32 ranks from 0: NumPy sorts 16-bit integers
    stably by radix, in linear time, and int32 by merge sort, so two 16-bit passes (low half,
    then high half) give the same order in about half the time."""
    order = np.argsort((ranks & 0xFFFF).astype(np.uint16), kind="stable")
    high = (ranks >> 16).astype(np.uint16)[order]
    return order[np.argsort(high, kind="stable")] if high.any() else order


class _Start(NamedTuple):
    """Where a field's entries begin in a spilled run: line, byte of the lexicon, values before
    in the docs and the positions arrays."""

    line: int
    byte: int
    docs: int
    positions: int


class _SpilledRun:
    """A sorted run on disk: its lexicon as lines `field NUL term`, its counts and arrays, and
    where each field begins in them (`starts`, the run's end under END)."""

    END = "\uffff"   # after every field name

    def __init__(self, directory: Path, number: int, postings: _Postings) -> None:
        self.stem = directory / f"run-{number}"
        self.terms = len(postings.terms)
        fields, terms = postings.fields, postings.terms
        docs_before = np.cumsum(postings.docs_count) - postings.docs_count
        positions_before = np.cumsum(postings.positions_count) - postings.positions_count
        self.starts: dict[str, _Start] = {}
        with open(self.stem.with_suffix(".terms"), "wb") as handle:
            # the fields are sorted: each field's lines are one join, not a string built per term
            for field in dict.fromkeys(fields):
                start, end = bisect.bisect_left(fields, field), bisect.bisect_right(fields, field)
                self.starts[field] = _Start(start, handle.tell(), int(docs_before[start]), int(positions_before[start]))
                prefix = field + "\0"
                lines = prefix + ("\n" + prefix).join(terms[start:end]) + "\n"
                if lines.count("\n") != end - start:   # search keys are normalized: never seen
                    raise ValueError(f"a search key of {field} holds a line break: it cannot be merged")
                handle.write(lines.encode("utf-8"))
            self.starts[self.END] = _Start(self.terms, handle.tell(), int(postings.docs_count.sum()),
                                           int(postings.positions_count.sum()))
        np.stack([postings.docs_count, postings.positions_count], axis=1).astype("<i8").tofile(
            self.stem.with_suffix(".counts"))
        postings.docs.astype("<i8").tofile(self.stem.with_suffix(".docs"))
        postings.positions.astype("<i8").tofile(self.stem.with_suffix(".positions"))

    def start(self, field: str) -> _Start:
        """Where the entries of `field` and the fields after it begin."""
        return self.starts[min((name for name in self.starts if name >= field), default=self.END)]

    def part(self, first: str, end: str) -> _RunPart:
        """The run's entries of the fields from `first` up to (not including) `end`."""
        return _RunPart(self.stem, self.start(first), self.start(end))


class _RunPart:
    """Some fields' entries of a spilled run, as a merge reads them: its lexicon a block at a
    time and its arrays' values in order."""

    def __init__(self, stem: Path, start: _Start, end: _Start) -> None:
        self.stem, self.start = stem, start
        self.terms = end.line - start.line
        self.read_to = {".docs": start.docs, ".positions": start.positions}   # how far the merge has read

    def lexicon(self, size: int) -> Iterator[tuple[list[str], np.ndarray]]:
        """Its lexicon in blocks of `size` entries: keys `field NUL term` in lexicon order, with
        their (docs, positions) counts; all runs are read at once, each a block in memory. The
        files are opened for each block, not held: a merge reads from hundreds of runs, more
        than a process may have files open (1,024 by default)."""
        byte, line, left = self.start.byte, self.start.line, self.terms
        while left:
            with open(self.stem.with_suffix(".terms"), "rb") as terms:
                terms.seek(byte)
                lines = list(itertools.islice(terms, min(size, left)))
                byte = terms.tell()
            if not lines:
                return
            block = np.fromfile(self.stem.with_suffix(".counts"), dtype="<i8", count=2 * len(lines),
                                offset=16 * line).reshape(-1, 2)
            line += len(lines)
            left -= len(lines)
            yield b"".join(lines).decode("utf-8").split("\n")[:-1], block

    def read(self, suffix: str, count: int) -> np.ndarray:
        """The next `count` values of the run's docs or positions."""
        values = np.fromfile(self.stem.with_suffix(suffix), dtype="<i8", count=count, offset=8 * self.read_to[suffix])
        self.read_to[suffix] += count
        return values


def _spilled_run(job: tuple[Path, int, list[bytes]]) -> tuple[_SpilledRun, array]:
    """In a worker process: run `number` of the titles `packed` sorted and spilled to `runs`,
    with the titles' (ISN, field lengths) ints."""
    runs, number, packed = job
    run, lengths = _Run(), array("i")
    for title in map(_unpacked, packed):
        lengths.extend(run.add(title))
    spilled = _SpilledRun(runs, number, run.sorted())
    del run
    return_freed_heap()   # the next run's arrays have other sizes: without this the worker only grows
    return spilled, lengths


def _packed(title: TitleKeys) -> bytes:
    """What a run's worker needs of `title`, as bytes: a tenth of the objects' memory while the
    batch waits, and quicker to pickle."""
    return marshal.dumps((title.isn, title.keys))


def _unpacked(packed: bytes) -> TitleKeys:
    isn, keys = marshal.loads(packed)
    return TitleKeys(isn, keys)   # the control entry is not needed: `_controlled` wrote it


def _run_batches(titles: Iterable[TitleKeys], occurrences: int) -> Iterator[list[bytes]]:
    """`titles` packed, in batches of about `occurrences` each, as their bytes tell."""
    most = occurrences * _BYTES_PER_OCCURRENCE
    batch: list[bytes] = []
    size = 0
    for packed in map(_packed, titles):
        batch.append(packed)
        size += len(packed)
        if size >= most:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class _SegmentBuilder:
    """Collects the titles of one segment in ISN order, in runs of at most RUN_OCCURRENCES."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.run = _Run()
        self.spilled: list[_SpilledRun] = []
        self.titles = 0
        self.last_isn = -1
        # (ISN, field lengths) per title, for relevance ranking: to a file a chunk at a time, so
        # memory does not grow with the catalog
        self.lengths = array("i")
        self.lengths_file: BinaryIO | None = None

    def add(self, title: TitleKeys) -> None:
        """Add a title; titles come in ascending ISN order."""
        self._collect(self._checked(title))

    def _checked(self, title: TitleKeys) -> TitleKeys:
        if title.isn <= self.last_isn:
            raise ValueError(f"titles out of ISN order: {title.isn} after {self.last_isn}")
        self.last_isn = title.isn
        return title

    def _collect(self, title: TitleKeys) -> None:
        self.titles += 1
        self.lengths.extend(self.run.add(title))
        if len(self.lengths) >= _LENGTHS_CHUNK:
            self._write_lengths()
        if len(self.run) >= RUN_OCCURRENCES:
            self._spill()

    def add_all(self, titles: Iterable[TitleKeys], procs: int = 1) -> None:
        """Add `titles` (in ascending ISN order). With `procs` > 1 and more than one run of
        them, each run is collected, sorted and spilled by one of `procs` forked processes (the
        GIL would serialize threads), which hold a run each; this one writes the lengths."""
        if procs <= 1:   # no process for runs
            for title in titles:
                self.add(title)
            return
        # each worker holds a run: together they hold what one process collecting them would
        batches = _run_batches(map(self._checked, titles), RUN_OCCURRENCES // procs)
        head = list(itertools.islice(batches, 2))
        if len(head) < 2:   # one run: not worth the processes
            for packed in itertools.chain.from_iterable(head):
                self._collect(_unpacked(packed))
            return
        if len(self.run):
            self._spill()
        numbered = enumerate(itertools.chain(head, batches), start=len(self.spilled))
        jobs = ((self._runs(), number, batch) for number, batch in numbered)
        with forked_workers(_spilled_run, procs) as collectors:
            for (_runs, _number, batch), (spilled, lengths) in collectors.map(jobs, in_flight=1):
                self.spilled.append(spilled)
                self.titles += len(batch)
                self.lengths.extend(lengths)
                if len(self.lengths) >= _LENGTHS_CHUNK:
                    self._write_lengths()

    def _write_lengths(self) -> None:
        if self.lengths_file is None:
            self.lengths_file = open(self.directory / _LENGTHS_PARTIAL, "wb")   # closed in `write`
        self.lengths_file.write(np.frombuffer(self.lengths, dtype=np.int32).astype("<i4").tobytes())
        self.lengths = array("i")

    def _spill(self) -> None:
        self.spilled.append(_SpilledRun(self._runs(), len(self.spilled), self.run.sorted()))

    def _runs(self) -> Path:
        runs = self.directory / "runs"
        runs.mkdir(exist_ok=True)
        return runs

    def write(self, db: sqlite3.Connection, segment: int, merging: Progress | None = None,
              procs: int = 1) -> None:
        """Write the segment and its lexicon rows (in the caller's transaction; with `procs` > 1
        that transaction is committed before the merge's other parts are taken in)."""
        self._write_lengths()
        self.lengths_file.close()
        (self.directory / _LENGTHS_PARTIAL).replace(lengths_path(self.directory, segment))
        if not self.spilled:
            self.run.sorted().write(self.directory, db, segment, self.titles)
            return
        if len(self.run):
            self._spill()
        try:
            self._merge(db, segment, merging, procs)
        finally:
            shutil.rmtree(self.directory / "runs", ignore_errors=True)
        db.execute("INSERT INTO segments VALUES (?, ?)", (segment, self.titles))

    def _merge(self, db: sqlite3.Connection, segment: int, progress: Progress | None, procs: int) -> None:
        """Merge the spilled runs term by term into the segment's files, in `procs` parts of
        the fields at once: each part writes its own stretch of the files (the values before it
        are known from the runs) and, in a forked process, its lexicon rows to a file of its own,
        taken in here at the end."""
        docs, positions = docs_path(self.directory, segment), positions_path(self.directory, segment)
        docs.write_bytes(b"")
        positions.write_bytes(b"")
        parts = [_FieldsMerge(number, self.spilled, first, end, docs, positions, segment,
                              self.directory / "runs" / f"lexicon-{number}.sqlite")
                 for number, (first, end) in enumerate(_field_groups(self.spilled, procs))]
        here, *apart = parts
        # the entries each part has merged, in memory the forked helpers share: progress is all parts'
        merged = multiprocessing.RawArray("q", len(parts))
        total = sum(part.entries() for part in parts)

        def merged_here(count: int) -> None:
            merged[0] = count
            if progress:
                progress(sum(merged), total)

        with forked_workers(functools.partial(_merge_apart, merged), len(apart)) if apart else nullcontext() as helpers:
            for part in apart:
                helpers.submit(part)
            here.merge(db, merged_here)
            for _part in apart:
                helpers.take()
        if not apart:
            return
        db.commit()   # ATTACH is refused in a transaction (the index is a new one, swapped in when complete)
        for part in apart:
            db.execute("ATTACH DATABASE ? AS part", (str(part.lexicon),))
            db.execute("INSERT INTO terms SELECT * FROM part.terms")
            db.commit()
            db.execute("DETACH DATABASE part")
        if progress:
            progress(total, total)


@dataclass
class _FieldsMerge:
    """One part of a merge: the entries of the fields from `first` up to `end` in every run,
    written to the segment's `docs` and `positions` files after the values of the fields before.
    Runs hold ascending, disjoint ranges of ISNs, so a term's postings are its runs' postings
    one after another."""

    number: int
    runs: list[_SpilledRun]
    first: str
    end: str
    docs: Path
    positions: Path
    segment: int
    lexicon: Path   # where its rows go when it is merged apart (`_merge_apart`)

    def entries(self) -> int:
        return sum(run.part(self.first, self.end).terms for run in self.runs)

    def merge(self, db: sqlite3.Connection, merged: Callable[[int], None]) -> None:
        """Write the part's values and its lexicon rows into `db` (in its transaction), a chunk
        at a time; `merged` is told the entries done after each."""
        runs = [run.part(self.first, self.end) for run in self.runs]
        docs_at = sum(run.start(self.first).docs for run in self.runs)
        positions_at = sum(run.start(self.first).positions for run in self.runs)
        done = 0
        last = None   # the previous chunk's last lexicon row
        with open(self.docs, "r+b") as docs_file, open(self.positions, "r+b") as positions_file:
            docs_file.seek(8 * docs_at)
            positions_file.seek(8 * positions_at)
            for keys, numbers, docs, positions in _chunks(_gathered(_merged_blocks(runs))):
                docs_file.write(_in_merged_order(runs, ".docs", numbers, docs))
                positions_file.write(_in_merged_order(runs, ".positions", numbers, positions))
                # one lexicon row per term: its entries (one per run holding it) follow each other
                first = np.ones(len(keys), dtype=bool)
                first[1:] = keys[1:] != keys[:-1]
                starts = np.flatnonzero(first)
                docs_count, positions_count = np.add.reduceat(docs, starts), np.add.reduceat(positions, starts)
                names = [key.partition("\0") for key in keys[starts].tolist()]
                rows = list(zip([name[0] for name in names], [name[2] for name in names], itertools.repeat(self.segment),
                                (docs_at + np.cumsum(docs_count) - docs_count).tolist(), docs_count.tolist(),
                                (positions_at + np.cumsum(positions_count) - positions_count).tolist(),
                                positions_count.tolist(), strict=False))
                docs_at += int(docs.sum())
                positions_at += int(positions.sum())
                # a term cut by the chunk's end continues in this one: its row adds up both parts
                if last is not None and rows[0][:2] == last[:2]:
                    head = rows[0]
                    rows[0] = (*head[:3], last[3], last[4] + head[4], last[5], last[6] + head[6])
                last = rows[-1]
                db.executemany(_INSERT_TERMS, rows)
                done += len(keys)
                merged(done)


def _merge_apart(merged: MutableSequence[int], part: _FieldsMerge) -> None:
    """In a forked process: merge `part`, its lexicon rows to a database file of their own, the
    entries done in `merged`."""
    db = sqlite3.connect(part.lexicon)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.executescript(SCHEMA)
        with db:
            part.merge(db, lambda count: merged.__setitem__(part.number, count))
    finally:
        db.close()


def _field_groups(runs: list[_SpilledRun], count: int) -> list[tuple[str, str]]:
    """At most `count` ranges of fields (first, end), in lexicon order, each beginning at the
    field whose start is nearest its share of the runs' lexicon entries."""
    entries: dict[str, int] = {}
    for run in runs:
        for name, after in itertools.pairwise(run.starts):   # in lexicon order, END last
            entries[name] = entries.get(name, 0) + run.starts[after].line - run.starts[name].line
    fields = sorted(entries)
    before = list(itertools.accumulate((entries[field] for field in fields), initial=0))
    total, firsts, last = before[-1], [""], 0
    for share in range(1, count):
        later = range(last + 1, len(fields))
        if not later:
            break
        last = min(later, key=lambda at: abs(before[at] - total * share / count))
        firsts.append(fields[last])
    return list(zip(firsts, [*firsts[1:], _SpilledRun.END], strict=True))


_Block = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]   # keys, run numbers, docs, positions counts


def _merged_blocks(runs: list[_RunPart]) -> Iterator[_Block]:
    """The lexicon entries of all runs in (field, term, run number) order, a block at a time.

    Each run keeps one block of its lexicon in memory. Every entry up to the smallest of the
    blocks' last keys is in memory, so those are merged at once: their keys concatenated run by
    run and sorted stably (Timsort merges the sorted runs it finds in C, and equal keys keep the
    run order) instead of one heap operation per entry in Python."""
    size = max(_MERGE_BLOCK_MIN, _MERGE_ENTRIES // max(1, len(runs)))
    readers = [run.lexicon(size) for run in runs]
    blocks: list[tuple[list[str], np.ndarray] | None] = [next(reader, None) for reader in readers]
    at = [0] * len(runs)
    while True:
        for number, block in enumerate(blocks):   # a block used up: the run's next one
            if block is not None and at[number] == len(block[0]):
                blocks[number], at[number] = next(readers[number], None), 0
        live = [number for number, block in enumerate(blocks) if block is not None]
        if not live:
            return
        cut = min(blocks[number][0][-1] for number in live)
        keys: list[str] = []
        parts, numbers = [], []
        for number in live:
            block_keys, counts = blocks[number]
            end = bisect.bisect_right(block_keys, cut, at[number])
            keys += block_keys[at[number]:end]
            parts.append(counts[at[number]:end])
            numbers.append(np.full(end - at[number], number, dtype=np.int64))
            at[number] = end
        order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
        counts = np.concatenate(parts)[order]
        yield np.array(keys, dtype=object)[order], np.concatenate(numbers)[order], counts[:, 0], counts[:, 1]


def _gathered(blocks: Iterator[_Block]) -> Iterator[_Block]:
    """Consecutive blocks joined to at least _MERGE_CHUNK entries: with many runs a merge gives
    many small blocks, and each chunk reads from every run."""
    held: list[_Block] = []
    entries = 0
    for block in blocks:
        held.append(block)
        entries += len(block[0])
        if entries >= _MERGE_CHUNK:
            yield _joined(held)
            held, entries = [], 0
    if held:
        yield _joined(held)


def _joined(blocks: list[_Block]) -> _Block:
    return blocks[0] if len(blocks) == 1 else tuple(np.concatenate(parts) for parts in zip(*blocks, strict=True))


def _chunks(blocks: Iterator[_Block]) -> Iterator[_Block]:
    """The merged entries in chunks of at most _MERGE_CHUNK entries and about _MERGE_VALUES
    postings (a chunk ends with the entry that reaches it, so one term may exceed it)."""
    for keys, numbers, docs, positions in blocks:
        values = np.cumsum(docs + positions)
        start = 0
        while start < len(keys):
            before = int(values[start - 1]) if start else 0
            end = min(start + _MERGE_CHUNK, len(keys),
                      int(np.searchsorted(values, before + _MERGE_VALUES, side="left")) + 1)
            yield keys[start:end], numbers[start:end], docs[start:end], positions[start:end]
            start = end


def _in_merged_order(runs: list[_RunPart], suffix: str, numbers: np.ndarray, counts: np.ndarray) -> bytes:
    """The values of a chunk's slices (`counts[i]` values of run `numbers[i]`, in merged order),
    read from the runs, as bytes. Each run's slices of the chunk follow each other in its file."""
    wanted = np.bincount(numbers, weights=counts, minlength=len(runs)).astype(np.int64)
    buffer = np.concatenate([np.zeros(0, np.int64)] + [run.read(suffix, int(count))
                                                       for run, count in zip(runs, wanted, strict=True) if count])
    if not len(buffer):
        return b""
    # the buffer holds the runs' parts in run order, so a slice begins where the slices of
    # lower runs and the run's earlier slices end
    by_run = np.argsort(numbers, kind="stable")
    offsets = np.empty(len(counts), dtype=np.int64)
    offsets[by_run] = np.cumsum(counts[by_run]) - counts[by_run]
    ends = np.cumsum(counts)
    index = np.repeat(offsets - (ends - counts), counts) + np.arange(ends[-1])
    return buffer[index].astype("<i8").tobytes()


def build(directory: Path, titles: Iterable[TitleKeys], merging: Progress | None = None, procs: int = 1) -> int:
    """Build an index in the new, empty `directory` (one segment); returns the number of titles.
    `merging(done, total)` follows a merge of runs, in lexicon entries; `procs` processes
    collect the runs (`_SegmentBuilder.add_all`)."""
    db = connect(directory)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    segment = _SegmentBuilder(directory)
    titles = iter(titles)
    with db:
        segment.add_all(_controlled(db, titles), procs)
        segment.write(db, 1, merging, procs)
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    return segment.titles


def _controlled(db: sqlite3.Connection, titles: Iterable[TitleKeys]) -> Iterator[TitleKeys]:
    """`titles` passed on, their index-control rows written 1,000 at a time (in the caller's
    transaction)."""
    titles = iter(titles)
    while batch := list(itertools.islice(titles, 1000)):
        controltable.write(db, batch)
        yield from batch


def update(directory: Path, changed: Iterable[TitleKeys], deleted: Iterable[int] = ()) -> int:
    """Add a segment with the `changed` titles and void the older postings of them and of
    `deleted`, in one transaction, then merge segments as `merge` says (and delete the files of
    the segments the last update's merges replaced); returns the number of titles written."""
    changed = list(changed)
    gone = sorted(set(deleted) | {title.isn for title in changed})
    db = connect(directory)
    try:
        merge.remove_obsolete(directory, db)
        number = (db.execute("SELECT max(id) FROM segments").fetchone()[0] or 0) + 1
        segment = _SegmentBuilder(directory)
        for title in sorted(changed, key=lambda t: t.isn):   # the segment needs ISN order
            segment.add(title)
        with db:
            segment.write(db, number)   # files first: readers only see committed rows
            db.executemany("INSERT INTO dropped VALUES (?, ?)", [(isn, number) for isn in gone])
            db.executemany("DELETE FROM control WHERE isn = ?", [(isn,) for isn in gone])
            controltable.write(db, changed)
        merge.merge(directory, db)
        return len(changed)
    finally:
        db.close()


def needs_rebuild(directory: Path) -> bool:
    """Whether updates have added so many segments that searches slow down (rebuild to merge)."""
    db = connect(directory, readonly=True)
    try:
        return db.execute("SELECT count(*) FROM segments").fetchone()[0] > MAX_SEGMENTS
    finally:
        db.close()
