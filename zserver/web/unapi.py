"""unAPI (http://unapi.info/specs/): the records of the web page in every format we have.

The search and record pages advertise the server in their head
(`<link rel="unapi-server" type="application/xml" title="unAPI" href="/unapi">`) and each
title with `<abbr class="unapi-id" title="ISN">`; the id is the title's ISN. `/unapi`:

- no `id`: 200, `<formats>` listing every format;
- `id` alone: 300 Multiple Choices, `<formats id="ISN">` with the formats of that title
  (isohold only when some library's holdings of it can be shown); 404 for no such title;
- `id` and `format`: 200 and the record; 404 for no such title, 406 for a format we do not
  have or that this title cannot take (isohold without holdings);
- `format` alone: 400 (an unAPI client always sends the id with it).

Formats: marcxml, marc21 (ISO 2709, UTF-8), json (MARC-in-JSON), dc, isbd (text), opac
(MARCXML with holdings), isohold (ISO 20775). The XML ones are what SRU's record schemas of
the same names give (`zserver.sru.response.SCHEMAS`). A reader not signed in sees what the
web page shows them: no holdings of restricted libraries (`Catalog.record`). It must not
know Twisted or HTTP servers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from index.errors import RecordNotFound
from index.records.formats import to_isbd
from index.records.marcjson import MEDIA_TYPE as MARC_JSON_TYPE
from index.search import Catalog, TitleRecord
from zserver.sru.response import RecordNotInSchema, find_schema
from zserver.web.answer import WebAnswer
from zserver.z3950.present import utf8_leader

PATH = "/unapi"
_XML = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class Format:
    name: str
    type: str               # media type of the record
    docs: str               # where the format is described
    holdings: bool = False  # needs the title's holdings (and has none without them)


FORMATS: tuple[Format, ...] = (
    Format("marcxml", "application/marcxml+xml", "http://www.loc.gov/standards/marcxml/"),
    Format("marc21", "application/marc", "http://www.loc.gov/marc/"),
    Format("json", MARC_JSON_TYPE, "https://github.com/marc4j/marc4j/wiki/MARC-in-JSON-Description"),
    Format("dc", "application/xml", "http://www.loc.gov/standards/sru/recordSchemas/dc-schema.html"),
    Format("isbd", "text/plain", "info:unikat/schema/isbd"),
    Format("opac", "application/xml", "info:unikat/schema/opac"),
    Format("isohold", "application/xml", "http://www.loc.gov/standards/iso20775/", holdings=True),
)
BY_NAME = {format.name: format for format in FORMATS}


def unapi(params: Mapping[str, Sequence[str]], catalog: Catalog, *, signed_in: bool = False) -> WebAnswer:
    """The unAPI answer to `params` (id, format)."""
    identifier = (params.get("id") or [""])[0].strip()
    wanted = (params.get("format") or [""])[0].strip()
    if not identifier:
        if wanted:
            return _text(400, "unAPI: a format needs the id of a record (id=ISN).")
        return WebAnswer(200, _XML, _formats(FORMATS, None))
    if not identifier.isascii() or not identifier.isdigit() or len(identifier) > 12:
        return _text(404, f"unAPI: no record {identifier!r}: an id is a title's number (ISN).")
    try:
        title = catalog.record(int(identifier), signed_in=signed_in)
    except RecordNotFound:
        return _text(404, f"unAPI: there is no record {identifier} (it may have been deleted).")
    available = [format for format in FORMATS if not format.holdings or title.holdings]
    if not wanted:
        return WebAnswer(300, _XML, _formats(available, identifier))
    format = BY_NAME.get(wanted)
    if format is None:
        return _text(406, f"unAPI: no format {wanted!r}; formats: {', '.join(BY_NAME)}.")
    if format not in available:
        return _text(406, f"unAPI: record {identifier} has no {wanted}: no library's holdings of it can be shown.")
    try:
        body = _record(format, title, catalog)
    except RecordNotInSchema as refusal:
        return _text(406, f"unAPI: record {identifier} has no {wanted}: {refusal}.")
    charset = "; charset=utf-8" if format.name != "marc21" else ""
    return WebAnswer(200, format.type + charset, body)


def _record(format: Format, title: TitleRecord, catalog: Catalog) -> bytes:
    if format.name == "marc21":
        return utf8_leader(title.marc)
    if format.name == "isbd":
        return to_isbd(title.marc, title.holdings).encode("utf-8")
    schema = find_schema(format.name)
    assert schema is not None, format.name   # every other format is an SRU record schema
    isils = {code: library.isil for code, library in catalog.config.libraries.items() if library.isil}
    data = schema.render(title, catalog.library_names, isils)
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes):
        return data
    return etree.tostring(data, encoding="utf-8", xml_declaration=True)


def _formats(formats: Sequence[Format], identifier: str | None) -> bytes:
    root = etree.Element("formats")
    if identifier is not None:
        root.set("id", identifier)
    for format in formats:
        etree.SubElement(root, "format", name=format.name, type=format.type, docs=format.docs)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)


def _text(status: int, message: str) -> WebAnswer:
    return WebAnswer(status, "text/plain; charset=utf-8", (message + "\n").encode("utf-8"))
