"""The fields of a stored display record, read straight from its ISO 2709 bytes.

Only for records unikat wrote itself (UTF-8, well-formed): the way out renders them many times
per second, and walking the directory is about ten times cheaper than building a pymarc
Record. Deliveries from libraries are always read with pymarc (`index.records.marc`). Fields
are decoded as pymarc decodes them: control fields are tags below 010, missing indicators are
blanks, empty subfields are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple


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
