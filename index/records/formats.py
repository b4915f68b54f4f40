"""Record syntaxes produced at the way out: MARCXML, ISBD text, Dublin Core.

Input is always a stored display record (ISO 2709 bytes, UTF-8). Output is bytes (XML) or
str (text). MARCXML follows the MARC21 slim schema; ISBD follows the area order and
punctuation of ISBD consolidated edition (title and statement of responsibility, edition,
publication, physical description, series, notes, standard number).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import pymarc
from lxml import etree

from index.records import iso2709
from index.records.model import Holding

MARCXML_NS = "http://www.loc.gov/MARC21/slim"
DC_NS = "http://purl.org/dc/elements/1.1/"
SRW_DC_NS = "info:srw/schema/1/dc-schema"
_M = f"{{{MARCXML_NS}}}"


def parse(marc: bytes) -> pymarc.Record:
    return pymarc.Record(data=marc, to_unicode=True, force_utf8=True, utf8_handling="replace")


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters; MARC data sometimes has them."""
    return _CONTROL.sub(" ", text)


_MARKUP = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(text: str) -> str:
    """Character data as lxml writes it (so both MARCXML paths give the same bytes)."""
    if not _MARKUP.search(text):   # the common case: nothing to escape
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _CONTROL.sub(" ", text)


@functools.lru_cache(maxsize=4096)
def _attribute(value: str) -> str:
    """An attribute value (tags, indicators, codes: few distinct ones, hence the cache)."""
    return _text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def to_marcxml(marc: bytes) -> bytes:
    """One MARCXML `record` element (UTF-8, no XML declaration), written straight from the
    stored ISO 2709 bytes: the bytes lxml writes for the element built from a pymarc Record,
    several times faster (tests/index/records/test_marcxml.py)."""
    return (_whole_record_marcxml(marc) or _field_by_field_marcxml(marc)).encode("utf-8")


_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_BODY_MARKUP = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1c]")   # separators \x1d-\x1f kept
_BODY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1c]")


def _whole_record_marcxml(marc: bytes) -> str | None:
    """The common case in few steps: the data area decoded and escaped at once, then cut at the
    field and subfield separators. None for anything unusual (fields out of directory order,
    odd indicators or codes); `_field_by_field_marcxml` writes those."""
    try:
        base = int(marc[12:17])
        directory = marc[24:base - 1].decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    tags = [directory[at:at + 3] for at in range(0, len(directory) - len(directory) % 12, 12)]
    body = marc[base:].decode("utf-8", "replace")
    if _BODY_MARKUP.search(body):
        body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
        body = _BODY_CONTROL.sub(" ", body)
    pieces = body.split("\x1e")
    if len(pieces) != len(tags) + 1 or pieces[-1] != "\x1d":
        return None
    parts = [f'<record xmlns="{MARCXML_NS}"><leader>{_text(iso2709.leader(marc))}</leader>']
    for tag, piece in zip(tags, pieces, strict=False):
        if not (tag.isascii() and tag.isalnum()):
            return None
        if tag < "010" and tag.isdigit():
            parts.append(f'<controlfield tag="{tag}">{piece.replace(chr(0x1f), " ")}</controlfield>')
            continue
        head, *chunks = piece.split("\x1f")
        if len(head) != 2 or not all(c in _ALNUM or c == " " for c in head):
            return None
        chunks = [chunk for chunk in chunks if chunk]
        if not all(chunk[0] in _ALNUM for chunk in chunks):
            return None
        parts.append(f'<datafield tag="{tag}" ind1="{head[0]}" ind2="{head[1]}">')
        parts.extend(f'<subfield code="{chunk[0]}">{chunk[1:]}</subfield>' for chunk in chunks)
        parts.append("</datafield>")
    parts.append("</record>")
    return "".join(parts)


def _field_by_field_marcxml(marc: bytes) -> str:
    parts = [f'<record xmlns="{MARCXML_NS}"><leader>{_text(iso2709.leader(marc))}</leader>']
    for field in iso2709.fields(marc):
        if isinstance(field, iso2709.ControlField):
            parts.append(f'<controlfield tag="{_attribute(field.tag)}">{_text(field.data)}</controlfield>')
            continue
        parts.append(f'<datafield tag="{_attribute(field.tag)}" ind1="{_attribute(field.indicator1)}" '
                     f'ind2="{_attribute(field.indicator2)}">')
        parts.extend(f'<subfield code="{_attribute(code)}">{_text(value)}</subfield>' for code, value in field.subfields)
        parts.append("</datafield>")
    parts.append("</record>")
    return "".join(parts)


def marcxml_tree(marc: bytes) -> etree._Element:
    """The MARCXML `record` element of a stored record, for embedding in a larger document."""
    return etree.fromstring(to_marcxml(marc))


def _subfields(field: pymarc.Field, codes: str) -> list[str]:
    return [sf.value.strip() for sf in field.subfields if sf.code in codes and sf.value.strip()]


def _strip_end(text: str) -> str:
    return text.rstrip(" /:;,=").strip()


def isbd_areas(record: pymarc.Record) -> list[str]:
    """The ISBD areas of a record, each a string; empty areas are left out."""
    areas: list[str] = []
    f245 = record.get("245")
    if f245 is not None:
        title = " ".join(_strip_end(v) for v in _subfields(f245, "a"))
        for sf in f245.subfields:
            value = _strip_end(sf.value)
            if not value:
                continue
            if sf.code == "b":
                title += (" = " if sf.value.startswith("=") or title.endswith("=") else " : ") + value.lstrip("=: ")
            elif sf.code in "np":
                title += ". " + value
            elif sf.code == "c":
                title += " / " + value
        areas.append(title.rstrip(".") + ".")
    edition = record.get("250")
    if edition is not None:
        areas.append(" ".join(_subfields(edition, "ab")).rstrip(".") + ".")
    imprint = record.get("264") or record.get("260")
    if imprint is not None:
        place = "; ".join(_strip_end(v) for v in _subfields(imprint, "a"))
        publisher = " : ".join(_strip_end(v) for v in _subfields(imprint, "b"))
        date = " ".join(_subfields(imprint, "c")).rstrip(".")
        text = place
        if publisher:
            text += (" : " if text else "") + publisher
        if date:
            text += (", " if text else "") + date
        if text:
            areas.append(text + ".")
    extent = record.get("300")
    if extent is not None:
        parts = [_strip_end(v) for v in _subfields(extent, "a")]
        other = _subfields(extent, "b")
        size = _subfields(extent, "c")
        text = " ".join(parts)
        if other:
            text += " : " + _strip_end(other[0])
        if size:
            text += " ; " + _strip_end(size[0])
        areas.append(text.rstrip(".") + ".")
    series = [" ; ".join(_strip_end(v) for v in _subfields(f, "av")) for f in record.get_fields("490", "440")]
    areas.extend(f"({s})" for s in series if s)
    for note in record.get_fields("500", "502", "504", "505"):
        text = " ".join(_subfields(note, "a"))
        if text:
            areas.append(text)
    numbers = [f"ISBN {v}" for f in record.get_fields("020") for v in _subfields(f, "a")]
    numbers += [f"ISSN {v}" for f in record.get_fields("022") for v in _subfields(f, "a")]
    if numbers:
        areas.append(". — ".join(numbers))
    return areas


def to_isbd(marc: bytes, holdings: Iterable[Holding] = ()) -> str:
    """ISBD display text; areas separated by `. — ` as ISBD prescribes, holdings after it."""
    record = parse(marc)
    areas = isbd_areas(record)
    heading = ""
    for tag in ("100", "110", "111"):
        if record.get(tag) is not None:
            heading = _strip_end(" ".join(_subfields(record.get(tag), "abcdq")))
            break
    text = (heading + "\n" if heading else "") + " — ".join(areas)
    lines = [text]
    for holding in holdings:
        parts = [holding.library, holding.location, holding.call_number, holding.note, holding.url]
        lines.append("Held by: " + " | ".join(p for p in parts if p))
    return "\n".join(lines) + "\n"


def to_dc(marc: bytes) -> bytes:
    """Simple Dublin Core (SRU's dc schema), following LoC's MARC21 → DC crosswalk."""
    record = parse(marc)
    root = etree.Element(f"{{{SRW_DC_NS}}}dc", nsmap={"srw_dc": SRW_DC_NS, "dc": DC_NS})

    def add(name: str, value: str) -> None:
        value = value.strip()
        if value:
            etree.SubElement(root, f"{{{DC_NS}}}{name}").text = _xml_safe(value)

    for field in record.get_fields("245"):
        add("title", _strip_end(" ".join(_subfields(field, "abfghknps"))))
    for field in record.get_fields("100", "110", "111", "700", "710", "711", "720"):
        add("creator", _strip_end(" ".join(_subfields(field, "abcdq"))))
    for field in record.get_fields("600", "610", "611", "630", "650", "653"):
        add("subject", " -- ".join(_subfields(field, "abcdqxyzv")))
    for field in record.get_fields("520"):
        add("description", " ".join(_subfields(field, "a")))
    for field in record.get_fields("260", "264"):
        add("publisher", _strip_end(" ".join(_subfields(field, "ab"))))
        add("date", " ".join(_subfields(field, "c")).rstrip("."))
    leader = str(record.leader)
    add("type", {"a": "text", "t": "text", "e": "cartographic", "f": "cartographic", "c": "notated music",
                 "d": "notated music", "i": "sound recording", "j": "sound recording", "g": "moving image",
                 "k": "still image", "m": "software, multimedia"}.get(leader[6:7], ""))
    for field in record.get_fields("300"):
        add("format", " ".join(_subfields(field, "abc")))
    for field in record.get_fields("020", "022"):
        for value in _subfields(field, "a"):
            add("identifier", ("URN:ISBN:" if field.tag == "020" else "URN:ISSN:") + value)
    for field in record.get_fields("856"):
        for value in _subfields(field, "u"):
            add("identifier", value)
    f008 = record.get("008")
    if f008 is not None and len(f008.data or "") >= 38:
        add("language", f008.data[35:38])
    return etree.tostring(root, encoding="utf-8")
