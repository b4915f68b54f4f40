"""PICA+ reader: normalized and plain PICA+ records into MARC21 `SourceRecord`s with holdings.

This module owns the PICA side of loading: finding record boundaries (`pica_records`), parsing
both serializations into a small `PicaRecord`, grouping its fields into levels, and mapping it
onto our internal model (MARC21 + `Holding`s) (`decode_pica`, one record at a time). It knows
nothing of the store or of search keys.

Serializations (`detect_pica_serialization` tells them apart by the bytes):
- **normalized**: a field is `TAG[/OCC] ` + subfields, each `\\x1f` + code + value, and ends with
  `\\x1e`; a record ends with `\\n` and/or `\\x1d` (the "binary" variant). A leading piece
  without subfields before the first field (the record id of GBV "PICA+" dumps) is skipped.
- **plain**: one field per line, `021A $aTitle$hResp`, `$$` is a literal dollar, records
  are separated by empty lines.
- **import** (DNB/GBV import files, read too): a record starts with `\\x1d`, each field is a
  line starting with `\\x1e`; other lines (comments, the text before the first record) are skipped.

Levels: tags `0xx.` are the title (level 0), `1xx.` a local record (a new one starts at `101@`),
`2xx.` a copy (level 2, grouped by occurrence `/01`, `/02` inside its local record).

Mapping (PICA+ / PICA3 -> MARC21), table-driven below; PICA+ meanings follow the K10plus,
ZDB and DNB data under `../shared/data` and qa-catalogue's `pica-marc.tsv`:
- 002@ (0500) type: pos 1 physical form -> leader/06 (`O` remote electronic also gives
  007 `cr`; `T` GND authority gives leader/06 `z`), pos 2 bibliographic level -> leader/07,
  pos 4 `l` (licence-free) -> 506 0_ `$f Unrestricted online access`.
- 003@ (0100) PPN -> 001; 003 = the system named by 007G (007K in GND records) when it carries
  the same number (DNB -> DE-101, GBV/KXP -> DE-627, GND -> DE-588 ...), else `PICA`.
  001B (last change) -> 005.
- 001A (creation date), 011@ (1100) years, 019@ (1700) country, 010@ (1500) language -> 008;
  010@ also -> 041. Leader/18 is `c`: PICA carries no ISBD punctuation.
- 004A (2000) ISBN -> 020; 005A (2010) ISSN -> 022; 004U (2050) URN -> 024 7_ $2 urn;
  004V DOI -> 024 7_ $2 doi; 006A LCCN -> 010; 003O OCLC and 006Z ZDB id -> 035.
- 021A (4000) -> 245: $a main title, $d other title -> $b, $f parallel title -> $b after `= `,
  $h responsibility -> $c, $n material designation -> $h; `@` marks the non-filing
  characters -> ind2. 021B part -> 245 $n/$p.
- 028A (3000) person -> 100 (other persons 028B-028G -> 700); 029A (3100) corporate -> 110
  (other corporates 029E/029F/029G -> 710); with both, the person is the main entry.
  GND ids (`$Agnd$0...`, `$7gnd/...`) -> $0 `(DE-588)...`.
- 032@ (4020) -> 250; 033A (4030) place $p/publisher $n -> 264 _1 $a/$b, with 011@ as $c;
  033B -> 264 _1 $a/$b; 034D/034M/034I/034K (4060-4063) -> 300 $a/$b/$c/$e.
- 031@ (4024) pub history -> 362 0_; without it 031N (4025, normalized) is written as text.
- 036E (4170) series -> 490 0_ $a $v. 037A (4201) -> 500; 037C (4204) -> 502.
- 022A (3210) uniform title -> 240; 027A (4212) other title -> 246; 030F meeting -> 711;
  044N keywords -> 653.
- 041A (5100 subject chains) and 044K (5550 GND subjects) -> 600/610/611/630/651/650 _7 $2 gnd,
  by the GND record type in $7/$V (`Tp` person, `Tb` corporate, `Tf` meeting, `Tu` work,
  `Tg` place, else 650); the one-letter chain prefix (`f Wörterbuch`) is dropped.
- 009Q (4085) and 017C/017D/017H URLs -> 856 40 $u, $z (e.g. `LF`, licence-free), $x, $q, $y.
- 039D/039I (4243 other edition) -> 776 08; 039E (4244) -> 780 00 ($b `f`), 785 00 ($b `s`),
  else 787 08; 039B (in) -> 773 08, 039C (supplement) -> 770 08; $i relation, $t title ($Y),
  $w `(003)PPN` of the linked record from $9, $x ISSN / $z ISBN from $6 when $C says which.
Other title fields in the descriptive ranges 021-039 and 041-044 that are not mapped are
reported as light problems (`PICA field 027A not mapped`); codes, classification and
administrative fields are left out silently.

GND authority records (002@ `T...`) in mixed files are kept, not dropped: leader/06 `z`, their
preferred name (028A, 029A, 030A, 022A, 041A, 065A) -> 100/110/111/130/150/151 and variants
(028@ ...) -> 4XX. Full authority support comes later.

Holdings (one `Holding` per copy, or per local record that has no copies):
- library: 247C (ZDB 4800) $S sigel or $T ISIL of the copy; else 101@ $c sigel (not the
  placeholder `PICA`), else the sigel in `<...>` at the end of 101@ $d, else 101@ $b ISIL;
  else the `library` argument; else `ILN <101@ $a>`. Sigel first: it is in every source we
  have, and a consortium sigel stands for all its members.
- call number 209A $a (7100, `$x00` preferred); location 209A $f; url 209R $u (7135);
  note: holdings statement 209B `$x32` (8032; else 231B, else 231@ written out), gaps
  209B `$x33`, comment 209B `$x34`, licence comment 209B `$x43` (8043), 220B, 237A;
  lendable: not when the GBV loan indicator 209A $d says reference only, blocked, lost or
  on order (`a d e f g i z`); source_id: EPN 203@ $0, or `ILN/PPN` for a bare local record.

Deletions: PICA+ title data carry no deletion marker we know of (deletions travel outside the
record, e.g. in OAI headers), so `deleted` stays False.
Errors: a record that is not well-formed (bad tag, no subfields, cut off before its field end,
not UTF-8) or has no PPN becomes a `LoadProblem`; the reader never raises for bad data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal, NamedTuple

import pymarc
from pymarc import Field, Indicators, Subfield

from index.records.model import Holding, LoadProblem, RawRecord, SourceRecord

__all__ = [
    "PicaCopy",
    "PicaField",
    "PicaLocal",
    "PicaRecord",
    "PicaSyntaxError",
    "Serialization",
    "detect_pica_serialization",
    "parse_pica_record",
    "pica_to_marc",
    "read_pica",
]

Serialization = Literal["normalized", "plain", "import"]


class PicaSyntaxError(ValueError):
    """A record that is not well-formed PICA+; the message says why."""


class PicaField(NamedTuple):
    """One PICA+ field: tag (`021A`), occurrence (`01`, or empty), subfields as (code, value)."""

    tag: str
    occurrence: str
    subfields: tuple[tuple[str, str], ...]

    def value(self, code: str) -> str:
        """The first value of subfield `code`, or an empty string when there is none."""
        return next((v for c, v in self.subfields if c == code), "")

    def values(self, code: str) -> list[str]:
        return [v for c, v in self.subfields if c == code]


@dataclass
class PicaCopy:
    """A level-2 copy record (`2xx./NN`), named by its occurrence."""

    occurrence: str
    fields: list[PicaField] = field(default_factory=list)


@dataclass
class PicaLocal:
    """A level-1 local record (starts at `101@`) and the copies that follow it."""

    fields: list[PicaField] = field(default_factory=list)
    copies: list[PicaCopy] = field(default_factory=list)


@dataclass
class PicaRecord:
    """A PICA+ record: title fields (level 0) and local records with their copies."""

    title: list[PicaField] = field(default_factory=list)
    locals: list[PicaLocal] = field(default_factory=list)

    def first(self, tag: str) -> PicaField | None:
        return _first(self.title, tag)

    def fields(self, *tags: str) -> list[PicaField]:
        return [f for f in self.title if f.tag in tags]

    @property
    def ppn(self) -> str:
        found = self.first("003@")
        return found.value("0").strip() if found else ""

    @property
    def type_code(self) -> str:
        """002@ $0, e.g. `Aau` (printed monograph) or `Obvz` (online serial) or `Tp1` (GND)."""
        found = self.first("002@")
        return found.value("0") if found else ""


def _first(fields: list[PicaField], tag: str) -> PicaField | None:
    return next((f for f in fields if f.tag == tag), None)


# -- parsing ---------------------------------------------------------------------------------

_TAG = re.compile(r"([0-2][0-9]{2}[A-Z@])(?:/([0-9]{2,3}))?")
_CODE = re.compile(r"[A-Za-z0-9]")
_PLAIN_TOKEN = re.compile(r"\$\$|\$(.)|[^$]+", re.DOTALL)
_RECORD_END = re.compile(rb"\x1d\n?|\n")
_BOM = b"\xef\xbb\xbf"


def detect_pica_serialization(data: bytes) -> Serialization:
    """`normalized` when the bytes hold PICA's control characters (\\x1e, \\x1f), `import` when
    most field marks \\x1e start a line, else `plain`."""
    head = data[:65536]
    if head.count(b"\n\x1e") * 2 > head.count(b"\x1e"):
        return "import"
    if b"\x1e" in head or b"\x1f" in head:
        return "normalized"
    return "plain"


def parse_pica_record(data: bytes | str, serialization: Serialization | None = None) -> PicaRecord:
    """Parse one record (bytes as in the file, or decoded text) into a `PicaRecord`.

    Raises `PicaSyntaxError` for a record that is not well-formed PICA+ or not UTF-8.
    """
    if isinstance(data, bytes):
        serialization = serialization or detect_pica_serialization(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PicaSyntaxError(f"not UTF-8 at byte {error.start}") from None
    else:
        text = data
        serialization = serialization or detect_pica_serialization(text.encode("utf-8"))
    if serialization == "import":
        text = "".join(line[1:].rstrip("\r") + "\x1e" for line in text.split("\n") if line.startswith("\x1e"))
    if serialization in ("normalized", "import"):
        fields = _normalized_fields(text)
    else:
        fields = [_plain_field(line) for line in text.split("\n") if line.strip()]  # not splitlines: \x85
    if not fields:
        raise PicaSyntaxError("record has no fields")
    return _group_levels(fields)


def _normalized_fields(text: str) -> list[PicaField]:
    text = text.rstrip("\x1d\r\n")
    pieces = text.split("\x1e")
    if pieces[-1].strip():
        raise PicaSyntaxError("record cut off: its last field has no field end (\\x1e)")
    fields = []
    for index, piece in enumerate(pieces):
        if not piece.strip():
            continue
        if index == 0 and "\x1f" not in piece and not _TAG.fullmatch(piece.strip()):
            continue  # record id in front of the fields (GBV "PICA+" dump form)
        head, found, rest = piece.partition("\x1f")
        if not found:
            raise PicaSyntaxError(f"field {piece[:12]!r} has no subfields")
        tag, occurrence = _tag(head)
        subfields = []
        for part in rest.split("\x1f"):
            if not _CODE.fullmatch(part[:1]):
                raise PicaSyntaxError(f"field {tag} has a subfield without a valid code")
            subfields.append((part[0], part[1:]))
        fields.append(PicaField(tag, occurrence, tuple(subfields)))
    return fields


def _plain_field(line: str) -> PicaField:
    head, _, rest = line.rstrip("\r").partition(" ")
    tag, occurrence = _tag(head)
    rest = rest.lstrip(" ")
    if not rest.startswith("$") or rest.startswith("$$"):
        raise PicaSyntaxError(f"field {head} has no subfields")
    subfields: list[tuple[str, list[str]]] = []   # each value's pieces, joined once (+= was quadratic)
    for match in _PLAIN_TOKEN.finditer(rest):
        code, token = match.group(1), match.group(0)
        if code is not None:
            if not _CODE.fullmatch(code):
                raise PicaSyntaxError(f"field {tag} has a subfield without a valid code")
            subfields.append((code, []))
        else:
            subfields[-1][1].append("$" if token == "$$" else token)
    if not subfields:
        raise PicaSyntaxError(f"field {head} has no subfields")
    return PicaField(tag, occurrence, tuple((code, "".join(pieces)) for code, pieces in subfields))


def _tag(head: str) -> tuple[str, str]:
    match = _TAG.fullmatch(head.strip())
    if not match:
        raise PicaSyntaxError(f"not a PICA+ tag: {head.strip()[:12]!r}")
    return match.group(1), match.group(2) or ""


def _group_levels(fields: list[PicaField]) -> PicaRecord:
    record = PicaRecord()
    for f in fields:
        level = f.tag[0]
        if level == "0":
            record.title.append(f)
            continue
        if not record.locals or (level == "1" and f.tag == "101@" and _first(record.locals[-1].fields, "101@")):
            record.locals.append(PicaLocal())
        local = record.locals[-1]
        if level == "1":
            local.fields.append(f)
            continue
        copy = next((c for c in reversed(local.copies) if c.occurrence == f.occurrence), None)
        if copy is None:
            copy = PicaCopy(f.occurrence)
            local.copies.append(copy)
        copy.fields.append(f)
    return record


# -- reading files ---------------------------------------------------------------------------


def read_pica(data: bytes | str | PathLike[str], *, library: str | None = None) -> Iterator[SourceRecord | LoadProblem]:
    """Read PICA+ records (normalized or plain, detected) from bytes or a file path.

    Yields a `SourceRecord` (MARC21 + holdings) per record, or a `LoadProblem` for a record
    that cannot be read. `raw` is the record's bytes as delivered, `position` is 1-based,
    `offset` the byte offset in the file. `library` is the code used for holdings whose local
    record names no library.
    """
    if not isinstance(data, bytes):
        data = Path(data).read_bytes()
    serialization, records = pica_records(data)
    return (decode_pica(raw, serialization, library) for raw in records)


def pica_records(data: bytes) -> tuple[Serialization, Iterator[RawRecord]]:
    """The serialization of a PICA+ file and its records, found but not parsed."""
    start = len(_BOM) if data.startswith(_BOM) else 0
    serialization = detect_pica_serialization(data[start:])
    chunk_reader = {"normalized": _normalized_chunks, "plain": _plain_chunks, "import": _import_chunks}
    chunks = chunk_reader[serialization](data, start)
    return serialization, (RawRecord(raw, position, offset) for position, (offset, raw) in enumerate(chunks, 1))


def _normalized_chunks(data: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    offset = start
    for match in _RECORD_END.finditer(data, start):
        if data[offset : match.start()].strip():
            yield offset, data[offset : match.end()]
        offset = match.end()
    if data[offset:].strip():
        yield offset, data[offset:]


def _import_chunks(data: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    offset = data.find(b"\x1d", start)  # what comes before the first record is ignored
    while offset >= 0:
        end = data.find(b"\x1d", offset + 1)
        chunk = data[offset : end if end >= 0 else len(data)]
        if b"\n\x1e" in chunk:
            yield offset, chunk
        offset = end


def _plain_chunks(data: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    offset, record_start = start, None
    for line in data[start:].splitlines(keepends=True):
        if line.strip():
            if record_start is None:
                record_start = offset
        elif record_start is not None:
            yield record_start, data[record_start:offset]
            record_start = None
        offset += len(line)
    if record_start is not None:
        yield record_start, data[record_start:offset]


def decode_pica(raw: RawRecord, serialization: Serialization, library: str | None = None) -> SourceRecord | LoadProblem:
    """Parse one PICA+ record of a file in `serialization` and map it onto MARC21 (see `read_pica`)."""
    try:
        record = parse_pica_record(raw.raw, serialization)
    except PicaSyntaxError as error:
        return LoadProblem(raw.raw, raw.position, raw.offset, f"unreadable PICA+ record: {error}")
    if not record.ppn:
        return LoadProblem(raw.raw, raw.position, raw.offset, "PICA+ record without PPN (003@ $0)")
    marc, holdings, problems = _convert(record, library)
    return SourceRecord(record=marc, raw=raw.raw, position=raw.position, offset=raw.offset, holdings=holdings,
                        problems=problems)


# -- mapping onto MARC21 ---------------------------------------------------------------------


def pica_to_marc(record: PicaRecord, *, library: str | None = None) -> tuple[pymarc.Record, list[Holding]]:
    """Map a PICA+ record onto MARC21 and its holdings (see the module docstring for the table)."""
    marc, holdings, _ = _convert(record, library)
    return marc, holdings


def _convert(record: PicaRecord, library: str | None) -> tuple[pymarc.Record, list[Holding], list[str]]:
    authority = record.type_code.startswith("T")
    source = _source_system(record)
    fields = _control_fields(record, source, authority)
    problems: list[str] = []
    if authority:
        fields += _authority_fields(record)
    else:
        fields += _title_fields(record, source, problems)
    marc = pymarc.Record(force_utf8=True, leader=_leader(record.type_code))
    for f in sorted(fields, key=lambda f: f.tag):
        marc.add_field(f)
    holdings = [] if authority else _holdings(record, library)
    return marc, holdings, problems


# Leader/06 by 002@ pos 1 (physical form), leader/07 by pos 2 (bibliographic level).
_RECORD_TYPE = {"A": "a", "O": "a", "E": "a", "H": "t", "B": "g", "G": "i", "K": "e", "M": "c", "S": "m", "V": "r",
                "T": "z"}
_BIB_LEVEL = {"a": "m", "c": "m", "f": "m", "F": "m", "v": "m", "j": "m", "b": "s", "d": "s", "o": "a", "s": "a"}
# 007G $a/$c/$i: the system that created the record -> MARC organization code for 003.
_SYSTEMS = {"GND": "DE-588", "DNB": "DE-101", "GBV": "DE-627", "KXP": "DE-627", "ZDB": "DE-600", "SWB": "DE-576",
            "HBZ": "DE-605", "HEBIS": "DE-603", "BVB": "DE-604", "OBV": "AT-OBV"}
# 019@ country (ISO 3166 with PICA's region prefix) -> MARC country code for 008/15-17.
_COUNTRIES = {"XA-DE": "gw ", "XA-AT": "au ", "XA-CH": "sz ", "XA-GB": "xxk", "XD-US": "xxu", "XA-FR": "fr ",
              "XA-IT": "it ", "XA-NL": "ne ", "XA-ES": "sp ", "XA-PL": "pl ", "XA-CZ": "xr ", "XA-RU": "ru "}
_PICA_DATE = re.compile(r"(\d\d)-(\d\d)-(\d\d)")


def _leader(type_code: str) -> str:
    kind = _RECORD_TYPE.get(type_code[:1], "a")
    if kind == "z":
        return "00000nz  a2200000n  4500"
    level = _BIB_LEVEL.get(type_code[1:2], "m")
    return f"00000n{kind}{level} a2200000 c 4500"


def _source_system(record: PicaRecord) -> str:
    for f in record.fields("007G", "007K"):
        system = f.value("a") or f.value("c") or f.value("i")
        if system and f.value("0") == record.ppn:
            return _SYSTEMS.get(system.upper(), system)
    return "PICA"


def _yyyymmdd(pica_date: str) -> str:
    """`0386:16-03-95` (or `16-03-95`) -> `19950316`; `` when there is no date."""
    match = _PICA_DATE.search(pica_date)
    if not match:
        return ""
    day, month, year = match.groups()
    century = "19" if int(year) >= 60 else "20"
    return f"{century}{year}{month}{day}"


def _control_fields(record: PicaRecord, source: str, authority: bool) -> list[Field]:
    fields = [Field(tag="001", data=record.ppn), Field(tag="003", data=source)]
    changed = record.first("001B")
    if changed and _yyyymmdd(changed.value("0")):
        clock = re.sub(r"\D", "", changed.value("t"))[:6].ljust(6, "0")
        fields.append(Field(tag="005", data=f"{_yyyymmdd(changed.value('0'))}{clock}.0"))
    if authority:
        return fields
    if record.type_code.startswith("O"):
        fields.append(Field(tag="007", data="cr"))
    fields.append(Field(tag="008", data=_fixed_008(record)))
    return fields


def _fixed_008(record: PicaRecord) -> str:
    created = record.first("001A")
    entered = _yyyymmdd(created.value("0"))[2:] if created else ""
    years = record.first("011@")
    first = re.sub(r"[^0-9u]", "", years.value("a"))[:4] if years else ""
    last = re.sub(r"[^0-9u]", "", years.value("b"))[:4] if years else ""
    serial = _leader(record.type_code)[7] == "s"
    date_type = ("d" if last else "c") if serial else ("s" if first else "n")
    country_field = record.first("019@")
    country = _COUNTRIES.get(country_field.value("a")[:5], "xx ") if country_field else "xx "
    languages = record.first("010@")
    language = languages.value("a")[:3] if languages else ""
    return f"{entered:6.6}{date_type}{first:4.4}{last:4.4}{country}{'|' * 17}{language:3.3} d"


_NO_CONTROLS = str.maketrans("", "", "\x1d\x1e\x1f")


def _sub(code: str, value: str) -> Subfield:
    return Subfield(code=code, value=value.translate(_NO_CONTROLS).strip())


def _no_at(value: str) -> str:
    return value.replace("@", "")


@dataclass(frozen=True)
class _Copy:
    """A table rule: copy PICA subfields onto one MARC field, `codes` maps PICA -> MARC code."""

    tag: str
    indicators: str
    codes: dict[str, str]
    prefix: str = ""            # put in front of the first mapped value (e.g. `(OCoLC)`)
    fixed: tuple[tuple[str, str], ...] = ()   # subfields appended as they are (e.g. $2 urn)
    strip_at: bool = False      # drop PICA's non-filing marker `@`

    def __call__(self, f: PicaField, source: str) -> list[Field]:
        subfields = []
        for code, value in f.subfields:
            if code in self.codes and value.strip():
                value = _no_at(value) if self.strip_at else value
                subfields.append(_sub(self.codes[code], (self.prefix if not subfields else "") + value))
        if not subfields:
            return []
        subfields += [_sub(c, v) for c, v in self.fixed]
        return [Field(tag=self.tag, indicators=Indicators(*self.indicators), subfields=subfields)]


def _url(f: PicaField, source: str) -> list[Field]:
    if not f.value("u"):
        return []
    codes = {"u": "u", "q": "q", "x": "x", "z": "z", "y": "y", "3": "3"}
    subfields = [_sub(codes[c], v) for c, v in f.subfields if c in codes and v]
    return [Field(tag="856", indicators=Indicators("4", "0"), subfields=subfields)]


_LINK_TAGS = {"039B": ("773", "08"), "039C": ("770", "08"), "039D": ("776", "08"), "039I": ("776", "08")}
_SUCCESSION = {"f": ("780", "00"), "s": ("785", "00")}


def _link(f: PicaField, source: str) -> list[Field]:
    if f.tag == "039E":
        tag, indicators = _SUCCESSION.get(f.value("b"), ("787", "08"))
    else:
        tag, indicators = _LINK_TAGS[f.tag]
    subfields = []
    relation = f.value("i") or f.value("a")
    title = f.value("Y") or f.value("t")
    if relation:
        subfields.append(_sub("i", relation))
    if title:
        subfields.append(_sub("t", _no_at(title)))
    if f.value("9"):
        subfields.append(_sub("w", f"({source}){f.value('9')}"))
    kind = f.value("C").upper()   # ZDB: $C ISSN / ISBN, $6 the number: the other edition's ISSN ($x) or ISBN ($z)
    if f.value("6") and kind in ("ISSN", "ISBN"):
        subfields.append(_sub("x" if kind == "ISSN" else "z", f.value("6")))
    if not (title or f.value("9")):
        return []
    return [Field(tag=tag, indicators=Indicators(*indicators), subfields=subfields)]


def _expansion(f: PicaField) -> str:
    """The linked heading spelled out: $8, or $A in K10plus (in DNB data $A is a source code)."""
    expanded = f.value("A")
    return f.value("8") or ("" if re.fullmatch(r"[a-z]*", expanded) else expanded)


def _gnd_id(f: PicaField) -> str:
    if f.value("7").startswith("gnd/"):
        return "(DE-588)" + f.value("7")[4:]
    if f.value("A") == "gnd" and f.value("0"):
        return "(DE-588)" + f.value("0")
    return ""


def _gnd_kind(f: PicaField) -> str:
    """The GND record type letter of a linked heading (`Tp1` -> `p`), from $7 (DNB) or $V."""
    for value in (f.value("7"), f.value("V")):
        if re.match(r"T[a-z]", value):
            return value[1]
    return ""


def _person(f: PicaField) -> tuple[str, list[Subfield]] | None:
    """Indicator 1 and subfields of a personal name: $a `Surname, Forename prefix` ..."""
    if f.value("P"):
        indicator, name = "0", f.value("P")
    elif f.value("a"):
        indicator = "1"
        name = ", ".join(v for v in (f.value("a"), f.value("d")) if v)
        name += f" {f.value('c')}" if f.value("c") else ""
    elif _expansion(f):
        indicator, name = "1", _expansion(f)
    else:
        return None
    subfields = [_sub("a", name)]
    subfields += [_sub("b", v) for v in f.values("n")] + [_sub("c", v) for v in f.values("l")]
    if f.value("E") or f.value("G"):
        subfields.append(_sub("d", f"{f.value('E')}-{f.value('G')}"))
    return indicator, subfields + _role_and_id(f)


def _corporate(f: PicaField) -> tuple[str, list[Subfield]] | None:
    name = f.value("a") or _expansion(f)
    if not name:
        return None
    subfields = [_sub("a", name)]
    codes = {"b": "b", "g": "g", "n": "n", "d": "d", "c": "c"}
    subfields += [_sub(codes[c], v) for c, v in f.subfields if c in codes and v]
    return "2", subfields + _role_and_id(f)


def _role_and_id(f: PicaField) -> list[Subfield]:
    subfields = [_sub("e", v) for v in f.values("B")] + [_sub("4", v) for v in f.values("4")]
    return subfields + ([_sub("0", _gnd_id(f))] if _gnd_id(f) else [])


_PERSONS = ("028A", "028B", "028C", "028D", "028E", "028F", "028G")
_CORPORATES = ("029A", "029E", "029F", "029G")


def _names(record: PicaRecord) -> list[Field]:
    """028A person, or else 029A corporate, is the main entry (1XX); all other names are 7XX."""
    main = record.first("028A") or record.first("029A")
    fields = []
    for f in record.fields(*_PERSONS, *_CORPORATES):
        built = _person(f) if f.tag in _PERSONS else _corporate(f)
        if built is None:
            continue
        indicator, subfields = built
        base = "100" if f.tag in _PERSONS else "110"
        tag = base if f is main else str(int(base) + 600)
        fields.append(Field(tag=tag, indicators=Indicators(indicator, " "), subfields=subfields))
    return fields


_SUBJECT_TAGS = {"p": "600", "b": "610", "f": "611", "u": "630", "g": "651"}


def _subject(f: PicaField, source: str) -> list[Field]:
    kind = _gnd_kind(f)
    tag = _SUBJECT_TAGS.get(kind, "650")
    if kind == "p":
        built = _person(f)
    elif kind in ("b", "f"):
        built = _corporate(f)
    else:
        heading = f.value("a") or _expansion(f)
        if f.occurrence:
            heading = re.sub(r"^[a-z] (?=\S)", "", heading)  # chain element type prefix
        built = (" ", [_sub("a", heading)] + [_sub("g", v) for v in f.values("g")]) if heading else None
    if built is None:
        return []
    indicator, subfields = built
    subfields = [s for s in subfields if s.code not in ("e", "4")] + [_sub("2", "gnd")]
    if not any(s.code == "0" for s in subfields) and _gnd_id(f):
        subfields.insert(-1, _sub("0", _gnd_id(f)))
    indicator = indicator if tag in ("600", "610", "611") else " "
    return [Field(tag=tag, indicators=Indicators(indicator, "7"), subfields=subfields)]


def _title(record: PicaRecord, has_main_entry: bool) -> list[Field]:
    f = record.first("021A")
    if f is None:
        return []
    main = f.value("a") or f.value("Y")
    at = main.find("@")
    subfields = [_sub("a", _no_at(main))] if main else []
    subfields += [_sub("h", v) for v in f.values("n")]
    other = " : ".join(_no_at(v) for v in f.values("d"))
    parallel = " = ".join(_no_at(v) for v in f.values("f"))
    if parallel:
        other = f"{other} = {parallel}" if other else f"= {parallel}"
    if other:
        subfields.append(_sub("b", other))
    part = record.first("021B")
    if part:
        subfields += [_sub("n", v) for v in part.values("l")] + [_sub("p", _no_at(v)) for v in part.values("a")]
    subfields += [_sub("c", v) for v in f.values("h")]
    if not subfields:
        return []
    nonfiling = str(at) if 0 <= at <= 9 else "0"
    return [Field(tag="245", indicators=Indicators("1" if has_main_entry else "0", nonfiling), subfields=subfields)]


def _imprint(record: PicaRecord) -> list[Field]:
    years = record.first("011@")
    date = ""
    if years:
        date = years.value("n") or "-".join(v for v in (years.value("a"), years.value("b")) if v)
        if record.type_code[1:2] == "b" and years.value("a") and not years.value("b"):
            date += "-"
    fields = []
    for f in record.fields("033A"):
        subfields = [_sub("a" if c == "p" else "b", v) for c, v in f.subfields if c in "pn" and v]
        if subfields:
            fields.append(Field(tag="264", indicators=Indicators(" ", "1"), subfields=subfields))
    if date:
        if not fields:
            fields.append(Field(tag="264", indicators=Indicators(" ", "1"), subfields=[]))
        fields[0].add_subfield("c", date)
    return fields


_EXTENT = (("034D", "a"), ("034M", "b"), ("034I", "c"), ("034K", "e"))


def _extent(record: PicaRecord) -> list[Field]:
    subfields = [_sub(code, f.value("a")) for tag, code in _EXTENT for f in record.fields(tag) if f.value("a")]
    return [Field(tag="300", indicators=Indicators(" ", " "), subfields=subfields)] if subfields else []


def _history(record: PicaRecord) -> list[Field]:
    text = "; ".join(f.value("a") for f in record.fields("031@") if f.value("a"))
    if not text:
        text = "; ".join(_span(f) for f in record.fields("031N") if _span(f))
    return [Field(tag="362", indicators=Indicators("0", " "), subfields=[_sub("a", text)])] if text else []


def _span(f: PicaField) -> str:
    """ZDB normalized span ($d volume, $j year, $n/$k end volume/year, $6 open) as text."""
    start = ".".join(v for v in (f.value("d"), f.value("j")) if v)
    end = ".".join(v for v in (f.value("n"), f.value("k")) if v)
    if end:
        return f"{start} - {end}" if start else f"- {end}"
    return f"{start} -" if start and (f.value("6") or f.tag == "031N") else start


def _licence_free(record: PicaRecord) -> list[Field]:
    if record.type_code[3:4] != "l":
        return []
    subfields = [_sub("a", "Lizenzfrei"), _sub("f", "Unrestricted online access"), _sub("2", "star")]
    return [Field(tag="506", indicators=Indicators("0", " "), subfields=subfields)]


def _languages(record: PicaRecord) -> list[Field]:
    f = record.first("010@")
    if f is None:
        return []
    subfields = [_sub("a" if c == "a" else "h", v) for c, v in f.subfields if c in "ac" and v]
    return [Field(tag="041", indicators=Indicators(" ", " "), subfields=subfields)] if subfields else []


_FieldRule = Callable[[PicaField, str], list[Field]]

# Title fields mapped one to one. Keys are PICA+ tags (PICA3 in the comment).
_TITLE_RULES: dict[str, _FieldRule] = {
    "003O": _Copy("035", "  ", {"0": "a"}, prefix="(OCoLC)"),
    "004A": _Copy("020", "  ", {"0": "a", "A": "a", "f": "c", "g": "q"}),      # 2000 ISBN
    "004U": _Copy("024", "7 ", {"0": "a"}, fixed=(("2", "urn"),)),            # 2050 URN
    "004V": _Copy("024", "7 ", {"0": "a"}, fixed=(("2", "doi"),)),            # 2051 DOI
    "005A": _Copy("022", "  ", {"0": "a"}),                                   # 2010 ISSN
    "006A": _Copy("010", "  ", {"0": "a"}),                                   # LCCN
    "006Z": _Copy("035", "  ", {"0": "a"}, prefix="(DE-600)"),                # 2110 ZDB id
    "009Q": _url, "017C": _url, "017D": _url, "017H": _url,                   # 4085 URL
    "032@": _Copy("250", "  ", {"a": "a", "h": "b"}),                         # 4020 edition
    "033B": _Copy("264", " 1", {"p": "a", "n": "b"}),                         # 4031 other publisher
    "036E": _Copy("490", "0 ", {"a": "a", "l": "v"}, strip_at=True),          # 4170 series
    "037A": _Copy("500", "  ", {"a": "a"}),                                   # 4201 note
    "037C": _Copy("502", "  ", {"a": "a"}),                                   # 4204 thesis
    "022A": _Copy("240", "10", {"a": "a"}, strip_at=True),                    # 3210 uniform title
    "027A": _Copy("246", "3 ", {"a": "a"}, strip_at=True),                    # 4212 other title
    "030F": _Copy("711", "2 ", {"a": "a", "k": "c", "p": "d"}, strip_at=True),  # 3110 meeting
    "039B": _link, "039C": _link, "039D": _link, "039I": _link, "039E": _link,  # 4241-4244 links
    "044N": _Copy("653", "  ", {"a": "a"}),                                   # 5520 keywords
    "041A": _subject, "044K": _subject,                                       # 5100, 5550 subjects
}
# Title fields built from several PICA+ fields at once, and the tags each one reads.
_RECORD_RULES: tuple[tuple[Callable[[PicaRecord], list[Field]], tuple[str, ...]], ...] = (
    (_names, _PERSONS + _CORPORATES),
    (_imprint, ("033A",)),
    (_extent, tuple(tag for tag, _ in _EXTENT)),
    (_history, ("031@", "031N")),
    (_languages, ()),
    (_licence_free, ()),
)
# Descriptive fields left out on purpose, so they are no problem: 021A/021B go into 245; 036D,
# 036F, 036G, 036L repeat series (036E) as links or normalized forms; 025@ (title of the whole)
# and 026C (abbreviated title) repeat titles; 021Z, 033F, 036H, 039Y are DNB object and
# provenance data; 042@ is DNB processing data.
_NOT_MAPPED = {"021A", "021B", "036D", "036F", "036G", "036L", "025@", "026C", "021Z", "033F", "036H", "039Y", "042@"}


def _title_fields(record: PicaRecord, source: str, problems: list[str]) -> list[Field]:
    fields: list[Field] = []
    read: set[str] = set(_NOT_MAPPED)
    for build, tags in _RECORD_RULES:
        fields += build(record)
        read.update(tags)
    main_entry = any(f.tag in ("100", "110") for f in fields)
    fields += _title(record, main_entry)
    if not any(f.tag == "245" for f in fields):
        problems.append("no title (021A)")
    unmapped: list[str] = []
    for f in record.title:
        rule = _TITLE_RULES.get(f.tag)
        if rule is not None:
            fields += rule(f, source)
        elif f.tag not in read and _descriptive(f.tag) and f.tag not in unmapped:
            unmapped.append(f.tag)
    problems += [f"PICA field {tag} not mapped" for tag in unmapped]
    return fields


def _descriptive(tag: str) -> bool:
    number = int(tag[:3])
    return 21 <= number <= 39 or 41 <= number <= 44


# GND authority records: preferred heading -> 1XX, variants -> 4XX.
_AUTHORITY_HEADINGS = {
    "028A": ("100", _person), "028@": ("400", _person),
    "029A": ("110", _corporate), "029@": ("410", _corporate),
    "030A": ("111", _corporate), "030@": ("411", _corporate),
    "022A": ("130", None), "022@": ("430", None),
    "041A": ("150", None), "041@": ("450", None),
    "065A": ("151", None), "065@": ("451", None),
}


def _authority_fields(record: PicaRecord) -> list[Field]:
    fields = []
    for f in record.title:
        if f.tag not in _AUTHORITY_HEADINGS:
            continue
        tag, build = _AUTHORITY_HEADINGS[f.tag]
        if tag.startswith("1") and any(x.tag.startswith("1") for x in fields):
            continue
        if build is not None:
            built = build(f)
        else:
            built = (" ", [_sub("a", f.value("a"))] + [_sub("g", v) for v in f.values("g")]) if f.value("a") else None
        if built:
            subfields = [s for s in built[1] if s.code not in ("e", "4", "0")]
            fields.append(Field(tag=tag, indicators=Indicators(built[0], " "), subfields=subfields))
    return fields


# -- holdings --------------------------------------------------------------------------------

# GBV loan indicator (209A $d): a bestellt, d nur mit Zustimmung/keine Fernleihe, e vermisst,
# f Lesesaal, g gesperrt, i Präsenz (nur Kopie in Fernleihe), z Verlust. u/b/c/s are lendable.
_NOT_LENDABLE = frozenset("adefgiz")


def _holdings(record: PicaRecord, library: str | None) -> list[Holding]:
    holdings = []
    for local in record.locals:
        head = _first(local.fields, "101@")
        iln = head.value("a") if head else ""
        local_library = _local_library(head) or library or (f"ILN {iln}" if iln else "")
        if not local.copies:
            holdings.append(_holding(local.fields, local_library, f"{iln}/{record.ppn}"))
        for copy in local.copies:
            holdings.append(_holding(copy.fields, local_library, ""))
    return holdings


def _local_library(head: PicaField | None) -> str:
    if head is None:
        return ""
    if head.value("c") and head.value("c") != "PICA":
        return head.value("c")
    match = re.search(r"<([^<>]+)>\s*$", head.value("d"))
    return match.group(1).strip() if match else head.value("b")


def _holding(fields: list[PicaField], library: str, source_id: str) -> Holding:
    owner = _first(fields, "247C")
    calls = [f for f in fields if f.tag == "209A"]
    call = next((f for f in calls if f.value("x") == "00"), calls[0] if calls else None)
    location = next((f.value("f") for f in ([call] if call else []) + calls if f.value("f")), "")
    url = next((f.value("u") for f in fields if f.tag == "209R" and f.value("u")), "")
    epn = _first(fields, "203@")
    loan = call.value("d") if call else ""
    return Holding(
        library=(owner.value("S") or owner.value("T") if owner else "") or library,
        location=location,
        call_number=call.value("a") if call else "",
        url=url,
        note=_holding_note(fields),
        lendable=loan[:1] not in _NOT_LENDABLE,
        source_id=epn.value("0") if epn and epn.value("0") else source_id,
    )


# 209B $x: 32 holdings statement (8032), 33 gaps (8033), 34 comment (8034), 43 licence (8043).
_NOTE_KINDS = (("32", ""), ("33", "Lücken: "), ("34", ""), ("43", ""))


def _holding_note(fields: list[PicaField]) -> str:
    extra = {kind: [f.value("a") for f in fields if f.tag == "209B" and f.value("x") == kind and f.value("a")]
             for kind, _ in _NOTE_KINDS}
    if not extra["32"]:
        extra["32"] = [f.value("a") for f in fields if f.tag == "231B" and f.value("a")]
        extra["32"] = extra["32"] or [_span(f) for f in fields if f.tag == "231@" and _span(f)]
    parts = [label + value for kind, label in _NOTE_KINDS for value in extra[kind]]
    parts += [f.value("a") for f in fields if f.tag in ("220B", "237A") and f.value("a")]
    return "; ".join(dict.fromkeys(parts))
