"""SRU responses: the XML of searchRetrieve, scan and explain responses, and record schemas.

This module owns the shape of what goes back to an SRU client: the namespaces and element
order of each version (1.1/1.2: `http://www.loc.gov/zing/srw/` with diagnostics in
`http://www.loc.gov/zing/srw/diagnostic/`; 2.0: the OASIS `sruResponse` and `scan`
namespaces with diagnostics in `.../search-ws/diagnostic`), record packing (XML or escaped
string), surrogate diagnostics, the xml-stylesheet instruction, and the record schemas
(`SCHEMAS`: MARCXML, Dublin Core, ISBD, OPAC with holdings) that turn a catalog record
into the element placed in recordData.

It must not know how a request is validated or searched: the handler gives it values.
Element order follows the SRU 1.2 `srw-types.xsd` and the searchRetrieve 1.0 (SRU 2.0)
`sruResponse.xsd`/`scan.xsd`; in a 2.0 searchRetrieve or explain response `version` (optional
there) is still sent, as YAZ does; `scan.xsd` has no place for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from index.records.formats import marcxml_tree, to_dc, to_isbd, to_marcxml
from index.records.isoholdings import ISO20775_NS
from index.records.isoholdings import holdings_element as iso_holdings_element
from index.records.marcjson import to_marc_json
from index.records.model import Holding
from index.search import TitleRecord
from zserver.cluster_xml import CLUSTER_NS
from zserver.sru.diagnostics import SruDiagnostic
from zserver.sru.request import Escaping, Version

SRW_NS = "http://www.loc.gov/zing/srw/"
SRW_DIAGNOSTIC_NS = "http://www.loc.gov/zing/srw/diagnostic/"
SRU2_NS = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU2_SCAN_NS = "http://docs.oasis-open.org/ns/search-ws/scan"
SRU2_DIAGNOSTIC_NS = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
ZEEREX_NS = "http://explain.z3950.org/dtd/2.0/"
ISBD_NS = "info:unikat/schema/isbd"
OPAC_NS = "info:unikat/schema/opac"
MARC_JSON_SCHEMA = "info:unikat/schema/marc-in-json"
"""Our identifier of MARC-in-JSON: no registry names it (short name `json`)."""

DIAGNOSTIC_SCHEMA = "info:srw/schema/1/diagnostics-v1.1"
EXPLAIN_SCHEMA = ZEEREX_NS


@dataclass(frozen=True)
class SruResponse:
    """What goes back over HTTP: status code, Content-Type header value, body bytes;
    `hit_count_only` when it answers a search with its hit count alone (`hit_count_response`)."""

    status: int
    content_type: str
    body: bytes
    hit_count_only: bool = False


# --- record schemas -----------------------------------------------------------------------

@dataclass(frozen=True)
class RecordSchema:
    """A record schema we can return: its identifier, short names and how to render it.

    `render(record, library_names, library_isils)` gives the element for recordData (bytes: a
    serialized element; str: text, e.g. JSON); `library_isils` (code -> ISIL) may be left out.
    It raises RecordNotInSchema for a record the schema cannot carry.
    """

    identifier: str
    name: str
    title: str
    aliases: tuple[str, ...]
    holdings: bool
    render: Callable[..., etree._Element | bytes | str]


class RecordNotInSchema(Exception):
    """A record that the schema asked for cannot carry (SRU diagnostic 67); the message says why."""


_NO_ISILS: Mapping[str, str] = {}


def _marcxml(record: TitleRecord, _names: Mapping[str, str], _isils: Mapping[str, str] = _NO_ISILS) -> bytes:
    return to_marcxml(record.marc)   # spliced into the serialized response (see _Builder.record)


def _dc(record: TitleRecord, _names: Mapping[str, str], _isils: Mapping[str, str] = _NO_ISILS) -> etree._Element:
    return etree.fromstring(to_dc(record.marc))


def _isbd(record: TitleRecord, _names: Mapping[str, str], _isils: Mapping[str, str] = _NO_ISILS) -> etree._Element:
    element = etree.Element(f"{{{ISBD_NS}}}isbd", nsmap={None: ISBD_NS})
    element.text = xml_text(to_isbd(record.marc))
    return element


def holdings_element(holdings: Sequence[Holding], names: Mapping[str, str],
                     namespace: str = OPAC_NS) -> etree._Element:
    """`<holdings>` with one `<holding>` per library holding: library (code and name),
    location, callNumber, url (one per URL), note, copies, lendable; a holding a rule built for
    a virtual library (`index.rules`, LFER) has `rule="lfer"`."""
    q = f"{{{namespace}}}"
    root = etree.Element(q + "holdings")
    for holding in holdings:
        item = etree.SubElement(root, q + "holding")
        if holding.rule:
            item.set("rule", holding.rule)
        library = etree.SubElement(item, q + "library", code=xml_text(holding.library))
        library.text = xml_text(names.get(holding.library, holding.library))
        for tag, value in (("location", holding.location), ("callNumber", holding.call_number),
                           ("url", holding.url), *(("url", url) for url in holding.other_urls),
                           ("note", holding.note)):
            if value:
                etree.SubElement(item, q + tag).text = xml_text(value)
        etree.SubElement(item, q + "copies").text = str(holding.copies)
        etree.SubElement(item, q + "lendable").text = "true" if holding.lendable else "false"
    return root


def _json(record: TitleRecord, _names: Mapping[str, str], _isils: Mapping[str, str] = _NO_ISILS) -> str:
    return to_marc_json(record.marc).decode("utf-8")   # text in recordData; JSON answers embed it as JSON


def _isohold(record: TitleRecord, names: Mapping[str, str], isils: Mapping[str, str] = _NO_ISILS) -> etree._Element:
    if not record.holdings:
        raise RecordNotInSchema("no library's holdings of this title can be shown")
    return iso_holdings_element(record.holdings, names, isils)


def _cluster(record: TitleRecord, _names: Mapping[str, str], _isils: Mapping[str, str] = _NO_ISILS) -> bytes:
    # The handler renders clusters with the catalog at hand (zserver.cluster_xml.cluster_renderer).
    raise RecordNotInSchema("cluster records need the catalog")


def _opac(record: TitleRecord, names: Mapping[str, str], _isils: Mapping[str, str] = _NO_ISILS) -> etree._Element:
    root = etree.Element(f"{{{OPAC_NS}}}opacRecord", nsmap={None: OPAC_NS})
    bibliographic = etree.SubElement(root, f"{{{OPAC_NS}}}bibliographicRecord")
    bibliographic.append(marcxml_tree(record.marc))
    root.append(holdings_element(record.holdings, names))
    return root


SCHEMAS: tuple[RecordSchema, ...] = (
    RecordSchema("info:srw/schema/1/marcxml-v1.1", "marcxml", "MARCXML (MARC21 slim)",
                 ("marcxml", "marc21-xml", "marc21", "marc", "info:srw/schema/1/marcxml-v1.1-light",
                  "http://www.loc.gov/marc21/slim"), False, _marcxml),
    RecordSchema("info:srw/schema/1/dc-v1.1", "dc", "Simple Dublin Core",
                 ("dc", "info:srw/schema/1/dc-schema", "http://purl.org/dc/elements/1.1/"),
                 False, _dc),
    RecordSchema(ISBD_NS, "isbd", "ISBD display text (one element wrapping the text)",
                 ("isbd",), False, _isbd),
    RecordSchema(OPAC_NS, "opac", "MARCXML with the holdings of every library",
                 ("opac", "holdings"), True, _opac),
    RecordSchema(MARC_JSON_SCHEMA, "json", "MARC-in-JSON (code4lib, as pymarc's as_json): JSON text",
                 ("json", "marcjson", "marc-in-json", "application/marc+json"), False, _json),
    RecordSchema(ISO20775_NS, "isohold", "ISO 20775 holdings: every library's copies, with ISILs",
                 ("isohold", "iso20775", "info:ofi/fmt:xml:xsd:iso20775"), True, _isohold),
    RecordSchema(CLUSTER_NS, "cluster", "The title's member records and why they are one title (zserver/cluster_xml.py)",
                 ("cluster", "clusters"), False, _cluster),
)


def find_schema(name: str) -> RecordSchema | None:
    """The schema with identifier or short name `name` (names compare case-insensitively)."""
    wanted = name.strip().lower()
    for schema in SCHEMAS:
        if wanted == schema.identifier.lower() or wanted == schema.name or wanted in schema.aliases:
            return schema
    return None


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with the characters XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


# --- the response documents ----------------------------------------------------------------

@dataclass(frozen=True)
class RecordOut:
    """One record of a response: its 1-based position and either data or a diagnostic."""

    position: int
    schema: str
    data: etree._Element | bytes | str | None = None
    diagnostic: SruDiagnostic | None = None


# A serialized record travels through the tree as the text of this processing instruction and is
# unwrapped by `serialize`. Escaped XML never contains "?>" (">" is always escaped), and text
# from requests cannot form "<?" (its "<" is escaped), so the markers are unambiguous.
_SPLICE = "unikat-record"
_SPLICED_START = b"<?" + _SPLICE.encode() + b" "
_SPLICED = re.compile(rb"<\?" + _SPLICE.encode() + rb" (.*?)\?>", re.S)

_MESSAGES_NOT_IN_TABLE = {235: "Database does not exist"}
"""Standard messages of codes that `sru.diagnostics` does not list (yet)."""


class _Builder:
    """Element factory for one version's namespaces."""

    def __init__(self, version: Version, *, scan: bool = False) -> None:
        self.version = version
        self.versioned = version.is_1x or not scan   # 2.0's scan.xsd has no `version`
        if version.is_1x:
            self.ns, self.prefix = SRW_NS, "srw"
            self.diag_ns = SRW_DIAGNOSTIC_NS
        else:
            self.ns, self.prefix = (SRU2_SCAN_NS, "scan") if scan else (SRU2_NS, "sruResponse")
            self.diag_ns = SRU2_DIAGNOSTIC_NS

    def root(self, name: str) -> etree._Element:
        root = etree.Element(f"{{{self.ns}}}{name}", nsmap={self.prefix: self.ns, "diag": self.diag_ns})
        if self.versioned:
            self.add(root, "version", self.version.value)
        return root

    def add(self, parent: etree._Element, name: str, text: object | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            element.text = xml_text(str(text))
        return element

    def diagnostic(self, diagnostic: SruDiagnostic) -> etree._Element:
        q = f"{{{self.diag_ns}}}"
        element = etree.Element(q + "diagnostic", nsmap={"diag": self.diag_ns})
        etree.SubElement(element, q + "uri").text = diagnostic.uri
        if diagnostic.details:
            etree.SubElement(element, q + "details").text = xml_text(diagnostic.details)
        message = diagnostic.message or _MESSAGES_NOT_IN_TABLE.get(diagnostic.code, "")
        if message:
            etree.SubElement(element, q + "message").text = message
        return element

    def diagnostics(self, parent: etree._Element, diagnostics: Sequence[SruDiagnostic]) -> None:
        if diagnostics:
            holder = self.add(parent, "diagnostics")
            for diagnostic in diagnostics:
                holder.append(self.diagnostic(diagnostic))

    def echo(self, parent: etree._Element, name: str, fields: Sequence[tuple[str, object | None]]) -> None:
        echoed = self.add(parent, name)
        if self.versioned:
            self.add(echoed, "version", self.version.value)
        for field_name, value in fields:
            if value is not None:
                self.add(echoed, field_name, value)

    def record(self, parent: etree._Element, schema: str, data: etree._Element | bytes,
               escaping: Escaping, position: int | None) -> None:
        """One record. `data` as bytes is a serialized element: it goes into the response as it
        is (`serialize` splices it in), not parsed into the tree to be serialized again."""
        record = self.add(parent, "record")
        self.add(record, "recordSchema", schema)
        self.add(record, "recordPacking" if self.version.is_1x else "recordXMLEscaping", escaping.value)
        holder = self.add(record, "recordData")
        if isinstance(data, str):   # not XML (MARC-in-JSON): text, escaped as any text
            holder.text = xml_text(data)
        elif isinstance(data, bytes):
            text = data.decode("utf-8")
            if escaping is Escaping.XML:
                holder.append(etree.ProcessingInstruction(_SPLICE, text))
            else:
                holder.text = text
        elif escaping is Escaping.XML:
            holder.append(data)
        else:
            holder.text = etree.tostring(data, encoding="unicode")
        if position is not None:
            self.add(record, "recordPosition", position)


def packing_fields(version: Version, escaping: Escaping | None) -> list[tuple[str, object | None]]:
    """The echoed packing parameter: recordPacking (1.x) or recordXMLEscaping (2.0)."""
    value = escaping.value if escaping is not None else None
    return [("recordPacking" if version.is_1x else "recordXMLEscaping", value)]


def search_retrieve_response(
        version: Version, *, number_of_records: int, records: Sequence[RecordOut],
        escaping: Escaping, result_set_id: str | None, result_set_ttl: int | None,
        next_position: int | None, echo: Sequence[tuple[str, object | None]],
        diagnostics: Sequence[SruDiagnostic]) -> etree._Element:
    """A searchRetrieveResponse. `echo` lists the echoed request's fields in schema order."""
    b = _Builder(version)
    root = b.root("searchRetrieveResponse")
    b.add(root, "numberOfRecords", number_of_records)
    if result_set_id is not None:
        b.add(root, "resultSetId", result_set_id)
        if version.is_1x and result_set_ttl:
            b.add(root, "resultSetIdleTime", result_set_ttl)
    if records:
        holder = b.add(root, "records")
        for record in records:
            if record.diagnostic is not None:
                b.record(holder, DIAGNOSTIC_SCHEMA, b.diagnostic(record.diagnostic), Escaping.XML,
                         record.position)
            elif record.data is not None:
                b.record(holder, record.schema, record.data, escaping, record.position)
    if next_position is not None:
        b.add(root, "nextRecordPosition", next_position)
    b.echo(root, "echoedSearchRetrieveRequest", echo)
    b.diagnostics(root, diagnostics)
    if not version.is_1x and result_set_id is not None and result_set_ttl is not None:
        b.add(root, "resultSetTTL", result_set_ttl)
    return root


@dataclass(frozen=True)
class TermOut:
    value: str
    count: int
    where: str | None = None      # first, last, only, inner
    display: str | None = None


def scan_response(version: Version, *, terms: Sequence[TermOut],
                  echo: Sequence[tuple[str, object | None]],
                  diagnostics: Sequence[SruDiagnostic]) -> etree._Element:
    b = _Builder(version, scan=True)
    root = b.root("scanResponse")
    if terms:
        holder = b.add(root, "terms")
        for term in terms:
            element = b.add(holder, "term")
            b.add(element, "value", term.value)
            b.add(element, "numberOfRecords", term.count)
            if term.display is not None:
                b.add(element, "displayTerm", term.display)
            if term.where is not None:
                b.add(element, "whereInList", term.where)
    if version.is_1x or dict(echo).get("scanClause") is not None:   # 2.0 echoes a request with its scanClause
        b.echo(root, "echoedScanRequest", echo)
    b.diagnostics(root, diagnostics)
    return root


def explain_response(version: Version, *, record: etree._Element | None, escaping: Escaping,
                     echo: Sequence[tuple[str, object | None]],
                     diagnostics: Sequence[SruDiagnostic]) -> etree._Element:
    """An explainResponse with the ZeeRex record (`record` None: the diagnostics say why)."""
    b = _Builder(version)
    root = b.root("explainResponse")
    if record is not None:
        b.record(root, EXPLAIN_SCHEMA, record, escaping, None)
    else:
        empty = b.add(root, "record")
        b.add(empty, "recordSchema", EXPLAIN_SCHEMA)
        b.add(empty, "recordData")
    b.echo(root, "echoedExplainRequest", echo)
    b.diagnostics(root, diagnostics)
    return root


def hit_count_response(version: Version, *, number_of_records: int, result_set_id: str | None,
                       result_set_ttl: int | None, echo: Sequence[tuple[str, object | None]],
                       stylesheet: str | None = None) -> bytes:
    """The bytes `serialize(search_retrieve_response(...))` gives for a response without records,
    diagnostics or facets, written as text: most searches ask for the hit count only, and building
    and serializing the tree cost a fifth of such a request. tests/zserver/sru/test_hit_count_response.py
    holds the two to the same bytes."""
    b = _Builder(version)
    open_, close = f"<{b.prefix}:", f"</{b.prefix}:"
    parts = [_head(stylesheet).decode(), f'{open_}searchRetrieveResponse xmlns:{b.prefix}="{b.ns}" xmlns:diag="{b.diag_ns}">',
             f"{open_}version>{version.value}{close}version>",
             f"{open_}numberOfRecords>{number_of_records}{close}numberOfRecords>"]
    if result_set_id is not None:
        parts.append(f"{open_}resultSetId>{_escaped(result_set_id)}{close}resultSetId>")
        if version.is_1x and result_set_ttl:
            parts.append(f"{open_}resultSetIdleTime>{result_set_ttl}{close}resultSetIdleTime>")
    parts.append(f"{open_}echoedSearchRetrieveRequest>{open_}version>{version.value}{close}version>")
    parts.extend(f"{open_}{name}>{_escaped(str(value))}{close}{name}>" for name, value in echo if value is not None)
    parts.append(f"{close}echoedSearchRetrieveRequest>")
    if not version.is_1x and result_set_id is not None and result_set_ttl is not None:
        parts.append(f"{open_}resultSetTTL>{result_set_ttl}{close}resultSetTTL>")
    parts.append(f"{close}searchRetrieveResponse>")
    return "".join(parts).encode("utf-8")


def _escaped(text: str) -> str:
    """Element text as lxml writes it: what XML cannot carry replaced (`xml_text`), then escaped."""
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text:
        return text   # most: printable characters are all XML characters, and none needs escaping
    text = xml_text(text)
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text


def _head(stylesheet: str | None) -> bytes:
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if stylesheet:   # the instruction's pseudo-attributes take & only as a reference (W3C xml-stylesheet)
        href = stylesheet.replace("&", "&amp;")
        head += f'<?xml-stylesheet type="text/xsl" href="{href}"?>\n'.encode()
    return head


def serialize(root: etree._Element, *, stylesheet: str | None = None) -> bytes:
    """UTF-8 XML with declaration, led by an xml-stylesheet instruction if asked for.

    `stylesheet` must already be checked (request.py allows no quote, `<` or `>`).
    """
    body = etree.tostring(root, encoding="utf-8")
    if _SPLICED_START in body:
        body = _SPLICED.sub(rb"\1", body)
    return _head(stylesheet) + body
