"""The record model every reader delivers and the store keeps.

A bibliographic record is a `pymarc.Record` in MARC21 with UTF-8 text (MELVYL's master file is
MARC-based; PICA+ titles are mapped onto MARC21 on the way in). Holdings are plain values, one
per holding library and copy group. Readers know nothing of the store; the store knows nothing
of file formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pymarc


@dataclass(frozen=True)
class Holding:
    """What one library holds of a title (MELVYL's local data record)."""

    library: str                 # the holding library's code (sigel / ISIL / config code)
    location: str = ""           # branch, shelf or collection
    call_number: str = ""
    url: str = ""                # licence-dependent or free access URL
    note: str = ""               # holdings statement, licence comment, local note
    copies: int = 1
    lendable: bool = True        # False for reference-only copies (no interlibrary loan)
    source_id: str = ""          # id of the local/copy record in the source system
    rule: str = ""               # built by a rule for a virtual library (`index.rules`), e.g. "lfer"
    other_urls: tuple[str, ...] = ()   # further URLs of the same holding (7135 $u repeated)


@dataclass
class SourceRecord:
    """One record as read from a delivery file, before validation.

    `position` is the 1-based record number in its file and `offset` its byte offset, so a
    reject can point at the exact place. `problems` holds light problems the reader met
    (counted, the record is kept). `deleted` marks a delete request (MARC leader/05 `d`).
    `raw_is_marc` says `raw` is byte for byte what `record.as_marc()` writes, so the load keeps
    it as the record's ISO 2709 instead of writing it again.
    """

    record: pymarc.Record
    raw: bytes
    position: int
    offset: int
    holdings: list[Holding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    deleted: bool = False
    raw_is_marc: bool = False


@dataclass(frozen=True)
class RawRecord:
    """One record's bytes as delivered, found but not yet parsed (loading parses it in a worker).

    `raw` is what a reject file keeps; the record proper is `raw[:end]` (`end` None: all of it;
    a MARCXML record's `raw` also holds the whitespace that followed it in the file).
    """

    raw: bytes
    position: int
    offset: int
    end: int | None = None

    @property
    def body(self) -> bytes:
        return self.raw if self.end is None else self.raw[:self.end]


@dataclass(frozen=True)
class LoadProblem:
    """A record that could not be read at all; it goes to the reject file with `reason`."""

    raw: bytes
    position: int
    offset: int
    reason: str
    rest_unread: bool = False   # the file breaks here: nothing after this point could be read
