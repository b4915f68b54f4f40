"""What a delivery file is: MARC21 (ISO 2709), MARCXML or PICA+, judged from its first records.

One odd leader at the start of a MARC21 file must not make the whole file PICA+ (every record
then rejected as unreadable), and a file that is none of our formats (a gzip archive, a README,
PICA-XML) must be refused as a whole, not read as thousands of broken "records". So the
judgement looks at the first `HEAD` bytes, not the first record: ISO 2709 and PICA+ records in
them are counted and the majority wins; what looks like no format raises `UnknownFormat`,
whose message names what the file seems to be.
"""

from __future__ import annotations

import re

HEAD = 256 * 1024   # bytes looked at: dozens of records of any format
FORMAT_NAMES = {"marc21": "MARC21 (ISO 2709)", "marcxml": "MARCXML", "pica": "PICA+", "json": "MARC-in-JSON"}

_MAGIC = (   # compressed or document files librarians send by mistake
    (b"\x1f\x8b", "a gzip-compressed file (unpack it first)"),
    (b"BZh", "a bzip2-compressed file (unpack it first)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file (unpack it first)"),
    (b"PK\x03\x04", "a zip archive (unpack it first)"),
    (b"%PDF", "a PDF document"),
)
_RECORD_END = b"\x1d"
_FIELD_END = b"\x1e"
_SAMPLE = 50   # records weighed, at most
_LEADER = re.compile(rb"[0-9]{5}[a-z ][a-z ]{4}[0-9 ]{2}[0-9]{5}.{3}4500", re.DOTALL)
# A PICA+ field: tag (three digits and a letter or @), optional /occurrence, then its subfields.
_PICA_NORMALIZED = re.compile(rb"(?:^|[\x1e\x1d\n])[0-2][0-9]{2}[A-Z@](?:/[0-9]{2,3})? \x1f")
_PICA_PLAIN = re.compile(rb"[0-2][0-9]{2}[A-Z@](?:/[0-9]{2,3})? ?\$")
_PICA_XML = re.compile(rb"picaXML|oclcpica\.org/xmlns/ppxml|<(?:\w+:)?(?:datafield|tag)\s[^>]*"
                       rb"(?:tag|id)=\"[0-2][0-9]{2}[A-Z@]\"")
_MARC_XML = re.compile(rb"www\.loc\.gov/MARC21/slim|<(?:\w+:)?(?:leader|controlfield)[\s>]"
                       rb"|<(?:\w+:)?datafield\s[^>]*tag=\"[0-9A-Za-z]{3}\"")


_BLANK = b"\xef\xbb\xbf \t\r\n\x00"   # what may come before the first record (a BOM, padding)


class UnknownFormat(ValueError):
    """The file is not in a format we read; the message says what it looks like."""


def detect_format(head: bytes) -> str:
    """`marc21`, `marcxml`, `pica` or `json` for the first bytes of a delivery (give `HEAD` of them);
    `UnknownFormat` when they are none of these. An empty file is `marc21` (no records)."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise UnknownFormat(f"looks like {what}, not MARC21, MARCXML or PICA+")
    text = head.lstrip(_BLANK)
    if not text:
        return "marc21"
    if text.startswith(b"<"):
        return _xml_kind(text)
    if text[:1] in (b"[", b"{"):   # MARC-in-JSON (`unikat export --format json`, pymarc's JSONWriter)
        if re.match(rb'[\[\s]*\{\s*"(?:leader|fields)"', text):
            return "json"
        raise UnknownFormat("looks like a JSON file that is not MARC-in-JSON (no \"leader\" first in its records)")
    iso, pica = _iso2709_votes(text), len(_PICA_NORMALIZED.findall(text[:HEAD]))
    pica += len(re.findall(rb"\n\x1e[0-2][0-9]{2}[A-Z@]", text))   # PICA import format
    if iso or pica:
        return "marc21" if iso >= pica else "pica"
    if text[:5].isdigit() and text[6:10] == b"M2.0":
        raise UnknownFormat("looks like MAB2 (its leader says M2.0), which is not read (deliver MARC21)")
    if _plain_pica(text):
        return "pica"
    raise UnknownFormat(f"looks like {_what_else(text)}, not MARC21 (ISO 2709), MARCXML or PICA+")


def seen_format(head: bytes) -> str | None:
    """The format `detect_format` sees in `head`; None when it sees none, or no records at all."""
    if not head.lstrip(_BLANK):
        return None
    try:
        return detect_format(head)
    except UnknownFormat:
        return None


def _iso2709_votes(text: bytes) -> int:
    """How many of the first records look like ISO 2709: a leader with record length, base
    address and entry map (`4500`), or a directory of 12-byte entries (tag, then 9 digits) from
    byte 24 up to the first field terminator. Either will do: one bad leader or directory is a
    rejected record, not a reason to read the file as something else."""
    votes = 0
    for chunk in text.split(_RECORD_END, _SAMPLE)[:_SAMPLE]:
        chunk = chunk.lstrip(b"\n\r \x1a\x00")
        if _LEADER.match(chunk) or _directory(chunk):
            votes += 1
    return votes


def _directory(chunk: bytes) -> bool:
    end = chunk.find(_FIELD_END)
    if end < 36 or (end - 24) % 12:
        return False
    entries = (chunk[start : start + 12] for start in range(24, end, 12))
    return all(entry[:3].isalnum() and entry[3:].isdigit() for entry in entries)


def _plain_pica(text: bytes) -> bool:
    """Plain PICA+: most of the first non-empty lines are fields (`021A $aTitle`)."""
    lines = [line for line in text.split(b"\n", 200)[:200] if line.strip()]
    fields = sum(1 for line in lines if _PICA_PLAIN.match(line))
    return fields > 0 and fields * 2 > len(lines)


def _xml_kind(text: bytes) -> str:
    if _PICA_XML.search(text):
        raise UnknownFormat("looks like PICA-XML, which is not read (deliver PICA+ or MARCXML)")
    if _MARC_XML.search(text):
        return "marcxml"
    if re.match(rb"<!doctype html|<html", text[:200].lower()):
        raise UnknownFormat("looks like an HTML page, not MARCXML")
    root = re.search(rb"<([A-Za-z_][\w.:-]*)", re.sub(rb"<[?!][^>]*>\s*", b"", text[:4096]))
    name = root.group(1).decode("ascii", "replace") if root else "?"
    raise UnknownFormat(f"looks like an XML file with root element <{name}>, not MARCXML")


def _what_else(text: bytes) -> str:
    sample = text[:4096]
    try:
        decoded = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        decoded = sample[: error.start].decode("utf-8") if error.start > len(sample) - 4 else ""
    if decoded and all(ch.isprintable() or ch in "\t\r\n\f" for ch in decoded):
        first = decoded.strip().split("\n", 1)[0][:60]
        return f"a text file (it begins {first!r})"
    return "binary data"
