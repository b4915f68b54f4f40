"""The floor of parsing a delivery with pymarc, in one process and in two.

    .venv/bin/python bench/parse_floor.py [bench/out/lc-100000.mrc]

Only `pymarc.Record(...)` per record, nothing else: what a load that parses each record once,
spread over the cores, could not go below. Quoted in bench/RESULTS.md (load analysis).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

import pymarc

BATCH = 2000


def _records(data: bytes) -> list[bytes]:
    chunks, offset = [], 0
    while offset < len(data):
        length = int(data[offset:offset + 5])
        chunks.append(data[offset:offset + length])
        offset += length
    return chunks


def _parse(batch: list[bytes]) -> int:
    return sum(1 for chunk in batch if pymarc.Record(data=chunk, to_unicode=True, force_utf8=True))


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out" / "lc-100000.mrc")
    chunks = _records(path.read_bytes())
    batches = [chunks[i:i + BATCH] for i in range(0, len(chunks), BATCH)]
    started = time.perf_counter()
    count = sum(map(_parse, batches))
    one = time.perf_counter() - started
    with multiprocessing.get_context("fork").Pool(2) as pool:
        started = time.perf_counter()
        pool.map(_parse, batches)
        two = time.perf_counter() - started
    print(f"{count:,} records: pymarc parse {one:.1f} s in one process, {two:.1f} s in two")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
