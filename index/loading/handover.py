"""Search keys handed over from a load to the index phase, so a display record is parsed once.

A load's worker processes parse each delivered record and work out its search keys as
`index.searchkeys.extract` would for a title whose display record is that record (`pack`). The
load keeps them in the store beside the title's pending mark (`CatalogStore.offer_keys`), with a
`digest` of exactly what they were worked out from: the ISO 2709 bytes and the holdings. The
index phase takes them back (`unpack`) only for a title whose display record and holdings still
give the same digest; a title that changed in between (merged with others, its headings linked
to the authority file, a member replaced) is parsed and extracted again. So handed-over keys can
never differ from extracted ones, whatever happened to the title after the worker saw it.

The keys are plain values (lists of strings, a tuple) in `marshal`'s format, the fastest to read
back by far; they live only until the title is indexed. The digest names the format's and
Python's version, so keys written by another (a Python upgraded between a crash and the re-run)
are not taken.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from collections.abc import Iterable

from index.records.model import Holding
from index.searchkeys.extract import IndexControl, TitleKeys

__all__ = ["digest", "pack", "unpack"]

_FORMAT = bytes([marshal.version, sys.version_info.major, sys.version_info.minor])


def digest(marc: bytes, holdings: Iterable[Holding]) -> bytes:
    """What a title's search keys are extracted from, condensed: its display record and holdings
    (in the order the store lists them)."""
    text = repr([tuple(vars(h).values()) for h in holdings]).encode("utf-8")
    return _FORMAT + hashlib.blake2b(marc + b"\x1d" + text, digest_size=16).digest()


def pack(keys: TitleKeys) -> bytes:
    """A title's keys and index-control entry as bytes (the ISN is not kept: it is set on `unpack`)."""
    return marshal.dumps((keys.keys, tuple(vars(keys.control).values())))


def unpack(isn: int, packed: bytes) -> TitleKeys:
    """The keys `pack` made, for title `isn`."""
    keys, control = marshal.loads(packed)
    keys["isn"] = [str(isn)]
    return TitleKeys(isn=isn, keys=keys, control=IndexControl(*control))
