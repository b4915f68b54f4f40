"""Retrieval records: which record syntax and element set a client asked for, and each title
rendered that way as the EXTERNAL of a NamePlusRecord.

This module owns the Z39.50 side of "record syntaxes are produced only at the way out"
(Z39.50-2003 section 3.2.3, `PresentRequest.recordComposition` and `preferredRecordSyntax`):

- MARC21 (YAZ's "usmarc", 1.2.840.10003.5.10): the stored ISO 2709 record, UTF-8, with
  leader/09 set to `a` so clients know the encoding;
- XML (1.2.840.10003.5.109.10 text/xml, and .109.11 application/xml): MARCXML (slim schema);
- JSON (YAZ's "json", 1.2.840.10003.5.1000.81.3, Index Data's arc: the registry has no JSON
  syntax): MARC-in-JSON (`index.records.marcjson`), octet-aligned UTF-8, as YAZ's servers send it;
- SUTRS (1.2.840.10003.5.101): ISBD text; element set F adds one "Held by:" line per holding;
- OPAC (1.2.840.10003.5.102): the MARC21 record plus one `HoldingsAndCircData` per holding:
  nucCode = library code, localLocation = the library's name from unikat.toml (its code when
  unknown, e.g. a consortium sigel), shelvingLocation = location, callNumber = call number,
  publicNote = the holding's note and its URL (`HoldingsAndCircData` has no URL element, and
  the URL is licence-dependent per holding, so it cannot go into the bibliographic 856),
  joined by " ; ". No circulationData: the catalog does not know availability. A rule-built
  holding (LFER, `index.rules`) says so in its note and gives all its URLs; a consortium's
  holding is named as the consortium with its members (`index.consortia`).

Element sets (generic names, case-insensitive): F full (default) and B brief. B is a short
MARC record derived from the full one: leader, 001, 003, 005, 008, 020, 022, 1XX, 245 $a $b,
250 $a, 260/264 $a $b $c. Unknown element set names give Bib-1 25, database-specific ones 26,
an unknown record syntax 239, CompSpec (complex composition) 244.

It must not know sessions, result sets or message sizes (the handler decides how many records
fit), nor how MARCXML or ISBD are made (`index.records.formats`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pymarc

from index.records.formats import parse, to_isbd, to_marcxml
from index.records.marcjson import to_marc_json
from index.records.model import Holding
from index.search import TitleRecord
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic
from zserver.z3950.records import Oid, external_octets, marc21_record, opac_record, sutrs_record, xml_record


class Syntax(Enum):
    MARC21 = "usmarc"
    XML = "xml"
    SUTRS = "sutrs"
    OPAC = "opac"
    JSON = "json"


class ElementSet(Enum):
    FULL = "F"
    BRIEF = "B"
    CLUSTER = "CLUSTER"   # the title's member records and why they matched, XML (zserver/cluster_xml.py)


SYNTAX_OIDS: dict[str, Syntax] = {
    Oid.MARC21: Syntax.MARC21,
    Oid.XML: Syntax.XML,
    Oid.XML_APPLICATION: Syntax.XML,
    Oid.SUTRS: Syntax.SUTRS,
    Oid.OPAC: Syntax.OPAC,
    Oid.JSON: Syntax.JSON,
}
"""Record syntax OIDs we serve. Without preferredRecordSyntax, MARC21."""


@dataclass(frozen=True)
class Composition:
    """What each record of one Present (or piggy-backed search) looks like."""

    syntax: Syntax = Syntax.MARC21
    element_set: ElementSet = ElementSet.FULL

    @property
    def needs_holdings(self) -> bool:
        return self.syntax is Syntax.OPAC or (self.syntax is Syntax.SUTRS and self.element_set is ElementSet.FULL)


def composition(preferred_syntax: str | None, element_set_names: tuple[str, Any] | None) -> Composition:
    """The Composition for a `preferredRecordSyntax` OID and an `ElementSetNames` CHOICE
    (either may be None). Raises Z3950Diagnostic 239, 25 or 26."""
    syntax = Syntax.MARC21
    if preferred_syntax is not None:
        syntax = SYNTAX_OIDS.get(preferred_syntax)
        if syntax is None:
            raise Z3950Diagnostic(Bib1Diagnostic.RECORD_SYNTAX_NOT_SUPPORTED, preferred_syntax)
    element_set = ElementSet.FULL
    if element_set_names is not None:
        kind, name = element_set_names
        if kind != "genericElementSetName":
            raise Z3950Diagnostic(Bib1Diagnostic.ONLY_SINGLE_ELEMENT_SET_NAME, "use a generic element set name")
        try:
            element_set = ElementSet(name.strip().upper())
        except ValueError:
            raise Z3950Diagnostic(Bib1Diagnostic.ELEMENT_SET_NAME_NOT_VALID, name) from None
    if element_set is ElementSet.CLUSTER and syntax is not Syntax.XML:
        raise Z3950Diagnostic(Bib1Diagnostic.ELEMENT_SET_NAME_NOT_VALID, "cluster: ask for the XML record syntax")
    return Composition(syntax, element_set)


def render(title: TitleRecord, how: Composition, library_names: Mapping[str, str] | None = None,
           library: str | Collection[str] | None = None) -> dict[str, Any]:
    """The retrieval record EXTERNAL of `title`. `library` limits OPAC and SUTRS holdings to
    one library, or to the codes given (a library's own database view: its own and its
    consortia's, `Catalog.view_libraries`)."""
    marc = utf8_leader(title.marc) if how.element_set is ElementSet.FULL else brief_marc(title.marc)
    shown = {library} if isinstance(library, str) else library
    holdings = [h for h in title.holdings if shown is None or h.library in shown]
    if how.syntax is Syntax.MARC21:
        return marc21_record(marc)
    if how.syntax is Syntax.XML:
        return xml_record(to_marcxml(marc))
    if how.syntax is Syntax.JSON:
        return external_octets(Oid.JSON, to_marc_json(marc))
    if how.syntax is Syntax.SUTRS:
        shown = holdings if how.element_set is ElementSet.FULL else ()
        return sutrs_record(to_isbd(marc, shown))
    return opac_record(marc, opac_holdings(holdings, library_names or {}))


def xml_external(xml: bytes) -> dict[str, Any]:
    """An XML retrieval record made elsewhere (the element set `cluster`: zserver/cluster_xml.py)."""
    return xml_record(xml)


def record_size(external: dict[str, Any]) -> int:
    """Bytes a rendered record adds to a response (its content; framing is a few bytes more)."""
    return len(external["encoding"][1])


def utf8_leader(marc: bytes) -> bytes:
    """The record with leader/09 `a` (UCS/Unicode): stored records are always UTF-8."""
    if len(marc) >= 24 and marc[9:10] != b"a":
        return marc[:9] + b"a" + marc[10:]
    return marc


_BRIEF_FIELDS: dict[str, str | None] = {
    "001": None, "003": None, "005": None, "008": None,   # control fields, whole
    "020": "aqz", "022": "a", "100": "abcdq", "110": "abcdn", "111": "acden",
    "245": "ab", "250": "a", "260": "abc", "264": "abc",
}
"""Tag -> subfield codes kept in element set B (None: a control field kept whole)."""


def brief_marc(marc: bytes) -> bytes:
    """A short MARC21 record (element set B) built from the full one, UTF-8."""
    full = parse(marc)
    brief = pymarc.Record(force_utf8=True)
    brief.leader = full.leader
    for field in full.fields:
        if field.tag not in _BRIEF_FIELDS:
            continue
        codes = _BRIEF_FIELDS[field.tag]
        if codes is None or field.is_control_field():
            if field.is_control_field():
                brief.add_field(pymarc.Field(tag=field.tag, data=field.data))
            continue
        subfields = [subfield for subfield in field.subfields if subfield.code in codes]
        if subfields:
            brief.add_field(pymarc.Field(tag=field.tag, indicators=field.indicators, subfields=subfields))
    return utf8_leader(brief.as_marc())


def opac_holdings(holdings: Iterable[Holding], library_names: Mapping[str, str]) -> list[dict[str, Any]]:
    """`HoldingsAndCircData` values (RecordSyntax-opac) for the holdings of one title."""
    result = []
    for holding in holdings:
        item: dict[str, Any] = {"nucCode": holding.library,
                                "localLocation": library_names.get(holding.library, holding.library)}
        if holding.location:
            item["shelvingLocation"] = holding.location
        if holding.call_number:
            item["callNumber"] = holding.call_number
        note = " ; ".join(part for part in (holding.note, holding.url, *holding.other_urls) if part)
        if note:
            item["publicNote"] = note
        result.append(item)
    return result
