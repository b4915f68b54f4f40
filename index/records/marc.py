"""MARC21 readers: ISO 2709 (MARC-8 or UTF-8) and MARCXML, into `SourceRecord`s.

pymarc parses and decodes; this module finds record boundaries itself so that every record,
good or bad, keeps its byte offset and raw bytes for the reject file, and it turns pymarc's
MARC-8 complaints (written to stderr) into counted light problems. Finding (`iso2709_records`,
`marcxml_records`) and parsing (`decode_iso2709`, `decode_marcxml`) are separate steps, so a load
can find records in one process and parse them in others; `read_marc21` and `read_marcxml` do both. It knows nothing of the
store. Holdings come from 852 fields (MARC21 holdings location): $a library, $b location,
$h/$i call number, $z note, $u URL; `$z Reference only` (or $t/`nicht ausleihbar`) marks a
copy that cannot be lent.
"""

from __future__ import annotations

import contextlib
import io
import re
import unicodedata
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pymarc
from lxml import etree

from index.records import iso2709
from index.records.detect import HEAD, detect_format
from index.records.model import Holding, LoadProblem, RawRecord, SourceRecord

MARCXML_NS = "http://www.loc.gov/MARC21/slim"
_RECORD_END = b"\x1d"
_NOT_LENDABLE = re.compile(r"reference only|not for loan|nicht ausleihbar|präsenz", re.I)


def read_marc21(data: bytes, *, encoding: str | None = None) -> Iterator[SourceRecord | LoadProblem]:
    """Read ISO 2709 records. `encoding` forces `utf-8` or `marc-8`; default is leader/09."""
    return (item if isinstance(item, LoadProblem) else decode_iso2709(item, encoding)
            for item in iso2709_records(data))


def iso2709_records(source: bytes | BinaryIO) -> Iterator[RawRecord | LoadProblem]:
    """The records of an ISO 2709 file, found by their length and terminator but not parsed.

    `source` is the file's bytes or the open file, read a megabyte at a time (a file mapped into
    memory instead killed the load with SIGBUS when it was cut short meanwhile). A record whose
    length field is wrong is cut at the next record terminator instead, so one bad record never
    hides the ones after it. A file that ends inside a record (cut short in a copy) ends with a
    `LoadProblem` saying so, `rest_unread`: the load says the file breaks off, as for MARCXML.
    """
    read = io.BytesIO(source).read if isinstance(source, bytes | bytearray) else source.read
    data, base, ended = b"", 0, False   # data: the file's bytes from offset `base` on
    offset, position = 0, 0             # in data
    while True:
        if not ended and len(data) - offset < _LOOKAHEAD:   # every length field can be followed
            block = read(_BLOCK)
            data, base, offset, ended = data[offset:] + block, base + offset, 0, not block
            if base == 0 and data[:3] == b"\xef\xbb\xbf":   # a byte-order mark some tools write
                offset = 3
            continue
        if offset >= len(data):
            return
        if data[offset : offset + 1] in _PADDING:
            offset += 1
            continue
        end = _record_end(data, offset)
        while end < 0 and not ended:   # no terminator yet: read on (blocks as large as what is held)
            block = read(max(_BLOCK, len(data)))
            data, ended = data + block, not block
            end = _record_end(data, offset)
        position += 1
        chunk = data[offset:] if end < 0 else data[offset:end]
        if end < 0 and chunk[:5].isdigit() and int(chunk[:5]) > len(chunk):
            yield LoadProblem(chunk, position, base + offset, f"the file breaks off inside this record ({len(chunk):,}"
                              f" of its {int(chunk[:5]):,} bytes)", rest_unread=True)
        else:
            yield RawRecord(chunk, position, base + offset)
        offset += len(chunk)


_BLOCK = 1 << 20
_LOOKAHEAD = 100_000   # more than the longest record a length field can give (99,999 bytes)
_PADDING = (b"\n", b"\r", b" ", b"\x1a", b"\x1d", b"\x00")   # between records


def _record_end(data: bytes, offset: int) -> int:
    """Where the record at `offset` ends: by its length field if the terminator is there, else
    after the next terminator; -1 if `data` holds none."""
    head = data[offset : offset + 5]
    if head.isdigit():
        length = int(head)
        end = offset + length
        if length >= 24 and data[end - 1 : end] == _RECORD_END:
            return end
    end = data.find(_RECORD_END, offset)
    return end if end < 0 else end + 1


def decode_iso2709(raw: RawRecord, encoding: str | None = None) -> SourceRecord | LoadProblem:
    """Parse one ISO 2709 record (`encoding` as for `read_marc21`)."""
    chunk, position, offset = raw.raw, raw.position, raw.offset
    if len(chunk) < 24 or not chunk[:5].isdigit():
        return LoadProblem(chunk, position, offset, "not an ISO 2709 record (no leader)")
    if not chunk.endswith(_RECORD_END):
        return LoadProblem(chunk, position, offset, "truncated record (no record terminator)")
    utf8 = encoding == "utf-8" if encoding else chunk[9:10] == b"a"
    problems: list[str] = []
    if not utf8 and encoding is None and _utf8_not_marc8(chunk):
        utf8 = True
        problems.append("leader/09 says MARC-8, the bytes are UTF-8: read as UTF-8")
    read = iso2709.read_utf8(chunk) if utf8 else None
    if read is not None:
        return _source_record(read.record, chunk, position, offset, problems, ascii_text=chunk.isascii(),
                              raw_is_marc=read.as_delivered)
    complaints = io.StringIO()
    try:
        # pymarc writes undecodable MARC-8 to stderr and warns of the rest; `always`, because
        # the default filter shows a warning once per process and a load worker reads thousands
        with contextlib.redirect_stderr(complaints), warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            record = pymarc.Record(data=chunk, to_unicode=True, force_utf8=utf8, utf8_handling="strict")
    except UnicodeDecodeError:
        record = _decode_lenient(chunk, utf8)
        if record is None:
            return LoadProblem(chunk, position, offset, "unreadable record: invalid character encoding")
        problems.append("invalid UTF-8 bytes replaced")
    except Exception as error:  # pymarc raises many kinds for broken structure
        return LoadProblem(chunk, position, offset, f"unreadable record: {error.__class__.__name__}: {error}")
    if complaints.getvalue():
        problems.append("MARC-8 character that does not decode")
    if any(issubclass(warning.category, pymarc.exceptions.BadSubfieldCodeWarning) for warning in warned):
        problems.append("subfield code that is not ASCII (pymarc made one up)")
    # UTF-8 bytes all ASCII decode to ASCII text, which is NFC already (MARC-8 escapes to other
    # character sets are ASCII bytes, so only UTF-8 may skip the pass)
    return _source_record(record, chunk, position, offset, problems, ascii_text=utf8 and chunk.isascii())


def _utf8_not_marc8(chunk: bytes) -> bool:
    """Whether a record whose leader says MARC-8 is UTF-8 instead: it has non-ASCII bytes, no
    MARC-8 escape, and reads as UTF-8. MARC-8's own non-ASCII bytes (a diacritic before its
    ASCII letter, a special character alone) are not valid UTF-8, so a real MARC-8 record is
    never taken; read as MARC-8, a UTF-8 one would be stored as garbage over the good record."""
    if chunk.isascii() or b"\x1b" in chunk:
        return False
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_lenient(chunk: bytes, utf8: bool) -> pymarc.Record | None:
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return pymarc.Record(data=chunk, to_unicode=True, force_utf8=utf8, utf8_handling="replace")
    except Exception:
        return None


def _source_record(record: pymarc.Record, raw: bytes, position: int, offset: int, problems: list[str], *,
                   ascii_text: bool = False, raw_is_marc: bool = False) -> SourceRecord:
    leader = str(record.leader)
    if len(leader) != 24:
        leader = (leader + " " * 24)[:24]
        problems.append("leader of wrong length repaired")
    deleted = leader[5] == "d"
    if not ascii_text and _to_nfc(record):
        raw_is_marc = False
    record.leader = leader[:9] + "a" + leader[10:]  # text is UTF-8 from here on
    return SourceRecord(record=record, raw=raw, position=position, offset=offset, problems=problems, deleted=deleted,
                        raw_is_marc=raw_is_marc)


# MARC-8 ligature and double-tilde halves (U+FE20/FE21, U+FE22/FE23) and the single double-width
# marks U+0361/U+0360 are both in use for the same text; store the single mark.
_DOUBLE_MARKS = re.compile("(.)([\ufe20\ufe22])(.)[\ufe21\ufe23]")


def _double_mark(match: re.Match) -> str:
    return match.group(1) + ("\u0361" if match.group(2) == "\ufe20" else "\u0360") + match.group(3)


def _to_nfc(record: pymarc.Record) -> bool:
    """Store one Unicode form: NFC, as MARC-8 decoding gives (UTF-8 sources often deliver NFD).
    Whether any text changed."""
    changed = False
    for field_ in record.fields:
        if field_.is_control_field():
            continue
        for index, subfield in enumerate(field_.subfields):
            if not subfield.value.isascii():
                value = unicodedata.normalize("NFC", _DOUBLE_MARKS.sub(_double_mark, subfield.value))
                if value != subfield.value:
                    field_.subfields[index] = pymarc.Subfield(subfield.code, value)
                    changed = True
    return changed


def read_marcxml(data: bytes) -> Iterator[SourceRecord | LoadProblem]:
    """Read MARCXML records (a `collection` or a single `record`, with or without namespace)."""
    for item in marcxml_records(data):
        yield item if isinstance(item, LoadProblem) else decode_marcxml(item)


def marcxml_records(data: bytes) -> Iterator[RawRecord | LoadProblem]:
    """Each `record` element of a MARCXML file as its own XML text (namespace declared), not yet
    made a MARC record, read a megabyte at a time (the whole tree would take 16 times the file).
    `raw` keeps the whitespace that followed the element, as a reject file shows it; the record
    is `body`. Where the file stops being well-formed, the records closed before that point are
    given, then one `LoadProblem` for the broken record and the rest of the file (the parser
    cannot go on; it also hands out the broken record, cut off, as if it were whole: never
    given)."""
    parser = etree.XMLPullParser(events=("end",), recover=False, huge_tree=True)
    position = 0
    held = None   # a record whose tail may not be read yet: given at the next event
    closed: list[re.Match] = []   # after a failure: the records really closed before it
    failure: etree.XMLSyntaxError | None = None
    at = 0
    while True:
        last = at >= len(data)
        try:
            if last:
                parser.close()
            else:
                parser.feed(data[at:at + _FEED_BYTES])
                at += _FEED_BYTES
        except etree.XMLSyntaxError as error:
            failure = error
            closed = list(_RECORD_CLOSE.finditer(data, 0, _byte_offset(data, *error.position)))
        for _event, element in parser.read_events():
            if held is not None:
                if failure and position == len(closed):
                    break
                position += 1
                yield _marcxml_record(held, position)
            held = element if etree.QName(element).localname == "record" else None
        if failure or last:
            if held is not None and (not failure or position < len(closed)):
                position += 1
                yield _marcxml_record(held, position)
            break
    if failure:
        start = closed[position - 1].end() if position else 0
        between = data[start:start + 4096]
        start += len(between) - len(between.lstrip())   # the line break after the last whole record
        line, column = failure.position
        yield LoadProblem(bytes(data[start:start + _BROKEN_SHOWN]), position + 1, start,
                          f"XML not well-formed at line {line}, column {column} ({failure.msg}): this record"
                          f" and the rest of the file ({len(data) - start:,} bytes) were not read", rest_unread=True)


def _marcxml_record(element: etree._Element, position: int) -> RawRecord:
    body = etree.tostring(element, encoding="utf-8", with_tail=False)
    tail = element.tail or ""
    if not tail or (tail.isspace() and "\r" not in tail):   # written as it is (usually a line break)
        raw = body + tail.encode("utf-8")
    else:
        raw = etree.tostring(element, encoding="utf-8")
    element.clear()   # an empty shell stays in the tree
    return RawRecord(raw, position, 0, end=len(body))


_RECORD_CLOSE = re.compile(rb"</(?:[\w.-]+:)?record\s*>")
_BROKEN_SHOWN = 100_000   # bytes of a broken MARCXML file's unread part put in the reject file
_FEED_BYTES = 1 << 20


def _byte_offset(data: bytes, line: int, column: int) -> int:
    """Where line `line` (1 is the first), column `column` (1 is the first byte) of `data` is."""
    at = 0
    for _ in range(line - 1):
        at = data.find(b"\n", at) + 1
        if not at:
            return len(data)
    return min(len(data), at + max(column - 1, 0))


def decode_marcxml(raw: RawRecord) -> SourceRecord | LoadProblem:
    """Make one MARCXML `record` element (as `marcxml_records` found it) a MARC record."""
    try:
        element = etree.fromstring(raw.body, etree.XMLParser(huge_tree=True))
        record = _record_from_xml(element)
    except (ValueError, etree.XMLSyntaxError) as error:
        return LoadProblem(raw.raw, raw.position, 0, f"unreadable MARCXML record: {error}")
    return _source_record(record, raw.raw, raw.position, 0, [])


def _record_from_xml(element: etree._Element) -> pymarc.Record:
    record = pymarc.Record()
    leader = ""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag", "")
            record.add_field(pymarc.Field(tag=tag, data=child.text or ""))
        elif name == "datafield":
            tag = child.get("tag", "")
            subfields = [
                pymarc.Subfield(code=sub.get("code", " "), value=sub.text or "")
                for sub in child
                if isinstance(sub.tag, str) and etree.QName(sub).localname == "subfield"
            ]
            indicators = [child.get("ind1", " ") or " ", child.get("ind2", " ") or " "]
            record.add_field(pymarc.Field(tag=tag, indicators=indicators, subfields=subfields))
    if len(leader) != 24:
        raise ValueError(f"leader has {len(leader)} characters, not 24")
    record.leader = leader
    return record


def read_file(path: Path, *, fmt: str | None = None, encoding: str | None = None) -> Iterator[SourceRecord | LoadProblem]:
    """Read one delivery file in any supported format (detected when `fmt` is None)."""
    data = path.read_bytes()
    fmt = fmt or detect_format(data[:HEAD])
    if fmt == "marc21":
        return read_marc21(data, encoding=encoding)
    if fmt == "marcxml":
        return read_marcxml(data)
    if fmt == "pica":
        from index.records.pica import read_pica

        return read_pica(data)
    raise ValueError(f"unknown format {fmt!r}")


def holdings_from_852(record: pymarc.Record, library: str, *, every_library: bool = False
                      ) -> tuple[list[Holding], list[str]]:
    """The delivering library's holdings in 852 fields, and light problems found.

    An 852 naming another library in $a is not taken: a library only reports its own copies,
    unless `every_library` (a union source, such as a whole-catalog dump: holdings rule `852-all`).
    """
    holdings, problems = [], []
    for field in record.get_fields("852"):
        owner = (field.get("a") or library).strip()
        if owner != library and not every_library:
            problems.append("852 of another library ignored")
            continue
        note = " ".join(field.get_subfields("z"))
        holdings.append(
            Holding(
                library=owner,
                location=" ".join(field.get_subfields("b", "c")),
                call_number=" ".join(field.get_subfields("h", "i", "j")),
                url=field.get("u") or "",
                note=note,
                lendable=not _NOT_LENDABLE.search(note + " " + " ".join(field.get_subfields("t"))),
                source_id=field.get("p") or "",
            )
        )
    return holdings, problems
