"""Merging the posting-array engine's segments, so their number stays O(log n).

Each update (a delivery) adds a segment; a server holds two open files per segment, and a
search reads every segment's run of a term. Unmerged, both grew with the deliveries (the soak
test saw a worker's descriptors go from 232 to 272).

The policy is logarithmic, as Lucene's LogMergePolicy: a segment's level is
floor(log_FACTOR(titles)); when FACTOR segments or more share a level, all of that level are
merged into one (a level higher), and again while that makes another full level. Afterwards
every level holds fewer than FACTOR segments, so a catalog of n titles has at most
(FACTOR - 1) * (log_FACTOR(n) + 1) segments, and each title is rewritten at most once a level.

Any set of segments can be merged: a segment's postings of ISNs an update voided later (`dropped`
rows of a newer segment) are left out of the merged one, which gets a new, highest number, so
every void still to come applies to it as to any older segment. `dropped` rows older than every
remaining segment are removed. The merged files are written before the one transaction that
swaps the lexicon rows; the old files are deleted by the next update (`remove_obsolete`), not
at once: a server that read the old segment list a moment before the swap may still be opening
them. A server takes up the merged set at its next refresh and closes the old files then.
"""

from __future__ import annotations

import functools
import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from index.engines.postings.layout import POSITION_BITS, docs_path, lengths_path, positions_path, read_runs

__all__ = ["FACTOR", "merge", "merge_segments", "plan", "remove_obsolete"]

FACTOR = 4                 # segments of one level that make a merge
_CHUNK_ROWS = 25_000       # lexicon rows merged at a time (whole terms), at most about
_CHUNK_VALUES = 1_000_000  # ... and postings


def level(titles: int) -> int:
    return int(math.log(max(titles, 1), FACTOR))


def plan(segments: dict[int, int]) -> list[int] | None:
    """The segments to merge next (numbers, ascending), from number -> titles; None when every
    level holds fewer than FACTOR segments."""
    levels: dict[int, list[int]] = {}
    for number, titles in segments.items():
        levels.setdefault(level(titles), []).append(number)
    full = [numbers for _, numbers in sorted(levels.items()) if len(numbers) >= FACTOR]
    return sorted(full[0]) if full else None


def merge(directory: Path, db: sqlite3.Connection) -> list[list[int]]:
    """Merge as the policy says until it says no more; returns the merges done (their numbers)."""
    done = []
    while (numbers := plan(dict(db.execute("SELECT id, titles FROM segments")))) is not None:
        merge_segments(directory, db, numbers)
        done.append(numbers)
    return done


def merge_segments(directory: Path, db: sqlite3.Connection, numbers: list[int]) -> int:
    """Merge the segments `numbers` into one new segment; returns its number."""
    new = db.execute("SELECT max(id) FROM segments").fetchone()[0] + 1
    titles = dict(db.execute(f"SELECT id, titles FROM segments WHERE id IN ({_marks(numbers)})", numbers))
    drops = np.array(db.execute("SELECT isn, max(segment) FROM dropped GROUP BY isn ORDER BY isn").fetchall(),
                     dtype=np.int64).reshape(-1, 2)
    void = {number: drops[drops[:, 1] > number, 0] for number in numbers}   # as the searcher voids them
    files = {number: (open(docs_path(directory, number), "rb"), open(positions_path(directory, number), "rb"))
             for number in numbers}
    rows_out: list[tuple] = []
    docs_at = positions_at = 0
    try:
        with open(docs_path(directory, new), "wb") as docs_file, open(positions_path(directory, new), "wb") as pos_file:
            for chunk in _chunks(db, numbers):
                docs, docs_count = _merged(chunk, 3, files, void, 0, 0)
                positions, positions_count = _merged(chunk, 5, files, void, 1, POSITION_BITS)
                docs_file.write(docs.astype("<i8").tobytes())
                pos_file.write(positions.astype("<i8").tobytes())
                keys = _term_keys(chunk)
                starts_docs = docs_at + np.cumsum(docs_count) - docs_count
                starts_positions = positions_at + np.cumsum(positions_count) - positions_count
                rows_out.extend((field, term, new, int(d_at), int(d), int(p_at), int(p))
                                for (field, term), d_at, d, p_at, p
                                in zip(keys, starts_docs, docs_count, starts_positions, positions_count, strict=True)
                                if d)
                docs_at += len(docs)
                positions_at += len(positions)
    finally:
        for handles in files.values():
            for handle in handles:
                handle.close()
    count = _merge_lengths(directory, numbers, titles, void, new)
    if count is None:   # no lengths files: the titles are the ISNs the merged postings hold
        count = _distinct_isns(directory, new)
    marks = _marks(numbers)
    with db:
        db.execute(f"DELETE FROM terms WHERE segment IN ({marks})", numbers)
        db.executemany("INSERT INTO terms VALUES (?, ?, ?, ?, ?, ?, ?)", rows_out)
        db.execute(f"DELETE FROM segments WHERE id IN ({marks})", numbers)
        db.execute("INSERT INTO segments VALUES (?, ?)", (new, count))
        oldest = db.execute("SELECT min(id) FROM segments").fetchone()[0]
        db.execute("DELETE FROM dropped WHERE segment <= ?", (oldest,))   # they void nothing left
    return new


def remove_obsolete(directory: Path, db: sqlite3.Connection) -> list[int]:
    """Delete the files of segments a merge replaced (an earlier update's); returns their numbers."""
    live = {row[0] for row in db.execute("SELECT id FROM segments")}
    gone = set()
    for path in directory.iterdir():
        stem, dot, suffix = path.name.partition(".")
        if dot and suffix in ("docs", "positions", "lengths") and stem.isdigit() and int(stem) not in live:
            path.unlink()
            gone.add(int(stem))
    return sorted(gone)


def _marks(numbers: list[int]) -> str:
    return ", ".join("?" * len(numbers))


def _chunks(db: sqlite3.Connection, numbers: list[int]) -> Iterator[list[tuple]]:
    """The lexicon rows of the segments in (field, term, segment) order, a chunk at a time,
    each chunk ending with a whole term."""
    cursor = db.execute("SELECT field, term, segment, docs_at, docs, positions_at, positions FROM terms"
                        f" WHERE segment IN ({_marks(numbers)}) ORDER BY field, term, segment", numbers)
    chunk: list[tuple] = []
    values = 0
    for row in cursor:
        if (len(chunk) >= _CHUNK_ROWS or values >= _CHUNK_VALUES) and row[:2] != chunk[-1][:2]:
            yield chunk
            chunk, values = [], 0
        chunk.append(row)
        values += row[4] + row[6]
    if chunk:
        yield chunk


def _term_keys(chunk: list[tuple]) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for row in chunk:
        if not keys or keys[-1] != row[:2]:
            keys.append(row[:2])
    return keys


def _merged(chunk: list[tuple], column: int, files: dict, void: dict[int, np.ndarray], which: int,
            shift: int) -> tuple[np.ndarray, np.ndarray]:
    """One kind of postings (docs: column 3, positions: column 5) of the chunk's terms, merged:
    the values of all segments per term, voided ones left out, sorted; and the count per term."""
    group = np.cumsum([i == 0 or chunk[i][:2] != chunk[i - 1][:2] for i in range(len(chunk))]) - 1
    terms = int(group[-1]) + 1
    values, owners = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    segment_of = np.array([row[2] for row in chunk])
    at_all = np.array([row[column] for row in chunk], dtype=np.int64)
    count_all = np.array([row[column + 1] for row in chunk], dtype=np.int64)
    for number in np.unique(segment_of).tolist():
        mine = (segment_of == number) & (count_all > 0)
        if not mine.any():
            continue
        at, counts = at_all[mine], count_all[mine]
        found = read_runs(functools.partial(_pread, files[number][which]), at, counts)
        owner = np.repeat(group[mine], counts)
        if len(void[number]):
            kept = ~np.isin(found >> shift if shift else found, void[number])
            found, owner = found[kept], owner[kept]
        values.append(found)
        owners.append(owner)
    found, owner = np.concatenate(values), np.concatenate(owners)
    order = np.lexsort((found, owner))
    return found[order], np.bincount(owner, minlength=terms)


def _pread(handle, part: slice) -> np.ndarray:
    """The int64 values `part` of an open segment file."""
    data = os.pread(handle.fileno(), 8 * (part.stop - part.start), 8 * part.start)
    return np.frombuffer(data, dtype="<i8").astype(np.int64)


def _merge_lengths(directory: Path, numbers: list[int], titles: dict[int, int], void: dict[int, np.ndarray],
                   new: int) -> int | None:
    """The field lengths (rows of ISN and counts, `layout`) of the merged segments, voided rows
    left out, into the new segment's file; returns the rows (its titles), None without files."""
    paths = {number: lengths_path(directory, number) for number in numbers}
    if not all(path.exists() for path in paths.values()):
        return None
    parts = []
    for number, path in paths.items():
        flat = np.fromfile(path, dtype="<i4")
        if titles[number] == 0 or not len(flat):
            continue
        width = len(flat) // titles[number]
        if width * titles[number] != len(flat):
            raise ValueError(f"{path}: {len(flat)} values are not {titles[number]} rows")
        rows = flat.reshape(-1, width)
        parts.append(rows[~np.isin(rows[:, 0].astype(np.int64), void[number])])
    if not parts:
        lengths_path(directory, new).write_bytes(b"")
        return 0
    table = np.concatenate(parts)
    table = table[np.argsort(table[:, 0], kind="stable")]
    table.astype("<i4").tofile(lengths_path(directory, new))
    return len(table)


def _distinct_isns(directory: Path, segment: int) -> int:
    """The number of distinct ISNs in a segment's docs file, read in blocks."""
    seen: set[int] = set()
    with open(docs_path(directory, segment), "rb") as handle:
        while data := handle.read(8 * 1_000_000):
            seen.update(np.unique(np.frombuffer(data, dtype="<i8")).tolist())
    return len(seen)
