"""`iso2709_records` reads a file a block at a time (so a delivery cut short during a load ends
the load's reading instead of killing it with SIGBUS, as a mapped file did). Against the whole-file
finder it replaced, kept here as the reference: the same records, positions and offsets, from
bytes and from a file that hands out short reads, on every ISO 2709 file we have and on damaged
and hostile ones."""

from __future__ import annotations

import io
import random
from pathlib import Path

from index.records.marc import iso2709_records
from tests.index.records.test_iso2709_decode import _iso2709_files

ROOT = Path(__file__).resolve().parents[3]
END = b"\x1d"
# as long as a length field allows, with a terminator inside: only its length says where it ends
_LONGEST = b"99999" + b"a" * 49_995 + END + b"b" * 49_997 + END


def _reference(data: bytes) -> list[tuple[bytes, int, int]]:
    """Records found in the whole file at once (the finder before the block reader)."""
    found, offset, position = [], (3 if data[:3] == b"\xef\xbb\xbf" else 0), 0
    while offset < len(data):
        if data[offset:offset + 1] in (b"\n", b"\r", b" ", b"\x1a", b"\x1d", b"\x00"):
            offset += 1
            continue
        position += 1
        head, chunk = data[offset:offset + 5], None
        if head.isdigit():
            end = offset + int(head)
            if int(head) >= 24 and data[end - 1:end] == END:
                chunk = data[offset:end]
        if chunk is None:
            end = data.find(END, offset)
            chunk = data[offset:] if end < 0 else data[offset:end + 1]
        found.append((chunk, position, offset))
        offset += len(chunk)
    return found


class _ShortReads(io.RawIOBase):
    """A file whose reads return at most a random few bytes more than asked for less."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data, self._at, self._rng = data, 0, random.Random(seed)

    def read(self, size: int = -1) -> bytes:
        size = min(size, self._rng.choice((1, 7, 500, 70_000, size)))
        block = self._data[self._at:self._at + size]
        self._at += len(block)
        return block


def _check(data: bytes, seed: int = 0) -> int:
    expected = _reference(data)
    for source in (data, io.BytesIO(data), _ShortReads(data, seed)):
        got = [(raw.raw, raw.position, raw.offset) for raw in iso2709_records(source)]
        assert got == expected, (len(got), len(expected))
    return len(expected)


def _samples() -> bytes:
    return b"".join(path.read_bytes() for path in sorted((ROOT / "sample_data").glob("*.mrc")))


def test_sample_deliveries_are_found_alike():
    assert _check(_samples()) > 1000


def test_every_record_file_is_found_alike():
    files = _iso2709_files()
    assert sum(_check(path.read_bytes(), seed) for seed, path in enumerate(files)) > 4000


def test_damaged_and_hostile_files_are_found_alike():
    data = _samples()
    rng = random.Random(1709)
    cases = [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf" + data[:5000], b"\x1d" * 10, b"99999" + b"x" * 300_000,
             b"00030" + b"a" * 2_500_000 + END + data[:3000],   # no terminator for longer than a block
             data[: len(data) // 2 + 17],                        # cut short in a record
             b"\n" * 970_000 + _LONGEST * 3]                      # the longest records across a block's end
    for _ in range(40):
        damaged = bytearray(data[: rng.randrange(200_000, 2_500_000)])
        for _ in range(rng.randint(1, 50)):
            damaged[rng.randrange(len(damaged))] = rng.choice(b"\x1d\x1e0123456789 \n")
        cases.append(bytes(damaged))
    for seed, case in enumerate(cases):
        _check(case, seed)
