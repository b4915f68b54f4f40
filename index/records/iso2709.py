"""ISO 2709 read straight from its bytes, where pymarc's general reader costs too much.

`fields` reads the display records unikat wrote itself (UTF-8, well-formed): the way out
renders them many times per second, and walking the directory is about ten times cheaper than
building a pymarc Record. Fields are decoded as pymarc decodes them: control fields are tags
below 010, missing indicators are blanks, empty subfields are left out.

`read_utf8` reads delivered UTF-8 records into pymarc Records. pymarc's `decode_marc` slices,
decodes and checks every subfield on its own (and reads leader/09 through a Python
`__getitem__` for each), which made it about 40% of a load worker's time. The subfield
delimiter is ASCII, so it never falls inside a multi-byte character, and splitting a decoded
field gives the same text as decoding each piece. It takes only records with nothing unusual
about them and returns None for the rest (a bad leader or directory, missing or extra
indicators, a non-ASCII subfield code, invalid UTF-8), which pymarc then reads with its own
warnings, repairs and errors (`index.records.marc`). pymarc stays the reference:
`tests/index/records/test_iso2709_decode.py` compares both on every record file we have and on
damaged ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from pymarc import Field, Leader, Record, Subfield


class ControlField(NamedTuple):
    tag: str
    data: str


class DataField(NamedTuple):
    tag: str
    indicator1: str
    indicator2: str
    subfields: list[tuple[str, str]]


def leader(marc: bytes) -> str:
    return marc[:24].decode("ascii", "replace")


def fields(marc: bytes) -> Iterator[ControlField | DataField]:
    base = int(marc[12:17])
    directory = marc[24:base - 1]
    for entry in range(0, len(directory) - len(directory) % 12, 12):
        tag = directory[entry:entry + 3].decode("ascii", "replace")
        length, offset = int(directory[entry + 3:entry + 7]), int(directory[entry + 7:entry + 12])
        data = marc[base + offset:base + offset + length - 1]
        if tag < "010" and tag.isdigit():
            yield ControlField(tag, data.decode("utf-8", "replace"))
            continue
        head, *chunks = data.decode("utf-8", "replace").split("\x1f")
        indicators = (head + "  ")[:2]
        yield DataField(tag, indicators[0], indicators[1], [(chunk[0], chunk[1:]) for chunk in chunks if chunk])


_LEADER = 24
_subfield = tuple.__new__
_ENTRY = 12


class Read(NamedTuple):
    """A delivered record as `read_utf8` read it; `as_delivered`: pymarc's `as_marc` of it (with
    leader/09 `a`) gives the delivered bytes themselves."""

    record: Record
    as_delivered: bool


def read_utf8(chunk: bytes) -> Read | None:
    """The Record `pymarc.Record(data=chunk, force_utf8=True, utf8_handling="strict")` gives, or
    None when the record needs pymarc's general path; and whether a load can keep the delivered
    bytes instead of writing the record again (the write was a tenth of a load worker's time).
    It can when the leader says UTF-8 and its lengths are exact, the fields follow one another
    in directory order, each ends in a field terminator, and no subfield is empty (pymarc leaves
    those out)."""
    try:
        base = int(chunk[12:17])
        if base <= 0 or base >= len(chunk) or len(chunk) < int(chunk[:5]):
            return None
        leader = chunk[:_LEADER].decode("ascii")
        directory = chunk[_LEADER:base - 1].decode("ascii")
        if not directory or len(directory) % _ENTRY:
            return None
        # int() also takes " 123": the digits themselves must be what pymarc writes
        as_delivered = (chunk[9:10] == b"a" and len(chunk) == int(chunk[:5]) and chunk[base - 1] == 0x1E
                        and chunk[:5].isdigit() and chunk[12:17].isdigit()
                        and chunk.endswith(b"\x1e\x1d") and b"\x1f\x1f" not in chunk and b"\x1f\x1e" not in chunk)
        fields = []
        expected = 0   # where the next field starts when the fields follow one another
        for at in range(0, len(directory), _ENTRY):
            tag = directory[at:at + 3]
            offset, length = int(directory[at + 7:at + 12]), int(directory[at + 3:at + 7])
            start = base + offset
            if as_delivered and (offset != expected or length < 1 or chunk[start + length - 1:start + length] != b"\x1e"
                                 or not directory[at + 3:at + 12].isdigit()):
                as_delivered = False
            expected = offset + length
            data = chunk[start:start + length - 1].decode("utf-8")
            if tag < "010" and tag.isdigit():
                fields.append(Field(tag=tag, data=data))
                continue
            indicators, *pieces = data.split("\x1f")
            if len(indicators) != 2 or not indicators.isascii():
                return None
            if not data.isascii() and not all(piece[0].isascii() for piece in pieces if piece):
                return None   # pymarc warns of a subfield code that is not ASCII and makes one up
            # tuple.__new__ is what a named tuple's constructor calls, without its Python frame
            fields.append(Field(tag, tuple(indicators), [_subfield(Subfield, (piece[0], piece[1:]))
                                                         for piece in pieces if piece]))
    except (ValueError, UnicodeDecodeError):   # a number or a text pymarc reads its own way, or refuses
        return None
    record = Record(fields=fields, force_utf8=True)
    record.leader = Leader(leader)
    return Read(record, as_delivered and base + expected + 1 == len(chunk))
