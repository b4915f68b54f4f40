"""SRU answers as JSON (`httpAccept=application/json`): the response documents of
`zserver.sru.response` turned into one JSON object each.

This module owns the JSON shape (README "SRU in JSON" shows it). The XML response is built
first, as for every other answer, and then read here, so the two never say different things:
whatever the XML carries (diagnostics, echoed request, facets added later) the JSON carries.

    {"operation": "searchRetrieve", "version": "2.0", "numberOfRecords": 12,
     "resultSetId": "u...", "resultSetTTL": 300,
     "records": [{"recordPosition": 1, "recordSchema": "...", "recordXMLEscaping": "xml",
                  "recordData": "<record xmlns=...>...</record>"},
                 {"recordPosition": 2, "recordSchema": "info:unikat/schema/marc-in-json",
                  "recordData": {"leader": "...", "fields": [...]}},
                 {"recordPosition": 3, "recordSchema": "info:srw/schema/1/diagnostics-v1.1",
                  "diagnostic": {"uri": "info:srw/diagnostic/1/65", "details": "17", "message": "..."}}],
     "nextRecordPosition": 4,
     "echoedRequest": {"version": "2.0", "query": "dc.title=water", ...},
     "diagnostics": [{"uri": "...", "details": "...", "message": "..."}]}

Rules: element names are kept (SRU's own), counts and positions are numbers, a record in an
XML schema is its XML as a string, a MARC-in-JSON record is a JSON object, a record that could
not be returned is a `diagnostic` object, `diagnostics` is absent when there are none. Scan
gives `terms` (value, numberOfRecords, displayTerm, whereInList); explain gives the ZeeRex
record as a string in `record.recordData` and its main facts in `explain` (database, title,
schemas, indexes with their CQL names). Elements this module does not know (facets) are
carried generically: an element with children becomes an object, repeated ones a list.
It must not know HTTP or the catalog.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

MEDIA_TYPE = "application/json"

_NUMBERS = frozenset({"numberOfRecords", "recordPosition", "nextRecordPosition", "resultSetTTL",
                      "resultSetIdleTime", "startRecord", "maximumRecords", "responsePosition",
                      "maximumTerms", "count", "facetCount", "facetStart", "facetLimit"})
_OPERATIONS = {"searchRetrieveResponse": "searchRetrieve", "scanResponse": "scan",
               "explainResponse": "explain"}
_JSON_SCHEMAS = frozenset({"info:unikat/schema/marc-in-json"})
_SPLICE = "unikat-record"   # response.py's marker for a record serialized ahead (its PI target)
_ZEEREX = "{http://explain.z3950.org/dtd/2.0/}"


def response_json(root: etree._Element) -> bytes:
    """The JSON text (UTF-8) of an SRU response document `root`."""
    name = etree.QName(root).localname
    result: dict[str, Any] = {"operation": _OPERATIONS.get(name, name)}
    for child in root:
        key = etree.QName(child).localname
        if key == "records":
            result["records"] = [_record(record) for record in child]
        elif key == "record":       # explain
            result["record"] = _record(child)
            explain = child.find(f".//{_ZEEREX}explain")
            if explain is not None:
                result["explain"] = _explain(explain)
        elif key == "terms":
            result["terms"] = [_flat(term) for term in child]
        elif key.startswith("echoed"):
            result["echoedRequest"] = _flat(child)
        elif key == "diagnostics":
            result["diagnostics"] = [_flat(diagnostic) for diagnostic in child]
        else:
            result[key] = _generic(child)
    return json.dumps(result, ensure_ascii=False, indent=1).encode("utf-8")


def _record(record: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in record:
        key = etree.QName(child).localname
        if key == "recordData":
            schema = out.get("recordSchema", "")
            diagnostic = next((node for node in child if isinstance(node.tag, str)
                               and etree.QName(node).localname == "diagnostic"), None)
            if diagnostic is not None:
                out["diagnostic"] = _flat(diagnostic)
            else:
                out["recordData"] = _data(child, schema)
        else:
            out[key] = _value(key, child.text)
    return out


def _data(holder: etree._Element, schema: str) -> Any:
    """A record's data: JSON for MARC-in-JSON, else the XML (or escaped text) as a string."""
    for node in holder:
        if isinstance(node, etree._ProcessingInstruction) and node.target == _SPLICE:
            return node.text
        if isinstance(node.tag, str):
            return etree.tostring(node, encoding="unicode", with_tail=False)
    text = holder.text or ""
    return json.loads(text) if schema in _JSON_SCHEMAS and text else text


def _explain(explain: etree._Element) -> dict[str, Any]:
    """The facts of a ZeeRex record a JSON client wants first."""
    server = explain.find(_ZEEREX + "serverInfo")
    out: dict[str, Any] = {
        "database": server.findtext(_ZEEREX + "database") if server is not None else None,
        "title": explain.findtext(f"{_ZEEREX}databaseInfo/{_ZEEREX}title"),
        "schemas": [{"identifier": schema.get("identifier"), "name": schema.get("name"),
                     "title": schema.findtext(_ZEEREX + "title")}
                    for schema in explain.iterfind(f"{_ZEEREX}schemaInfo/{_ZEEREX}schema")],
        "indexes": [{"id": index.get("id"), "title": index.findtext(_ZEEREX + "title"),
                     "names": [f"{name.get('set')}.{name.text}" for name in index.iterfind(f"{_ZEEREX}map/{_ZEEREX}name")],
                     "search": index.get("search") == "true", "scan": index.get("scan") == "true",
                     "sort": index.get("sort") == "true"}
                    for index in explain.iterfind(f"{_ZEEREX}indexInfo/{_ZEEREX}index")],
    }
    supports = [(item.get("type"), item.text or "") for item in
                explain.iterfind(f"{_ZEEREX}configInfo/{_ZEEREX}supports")]
    out["httpAccept"] = [value for kind, value in supports if kind == "httpAccept"]
    return out


def _flat(element: etree._Element) -> dict[str, Any]:
    """An element of simple children as an object (echoed requests, terms, diagnostics)."""
    return {etree.QName(child).localname: _value(etree.QName(child).localname, child.text)
            for child in element if isinstance(child.tag, str)}


def _generic(element: etree._Element) -> Any:
    children = [child for child in element if isinstance(child.tag, str)]
    if not children and not element.attrib:
        return _value(etree.QName(element).localname, element.text)
    out: dict[str, Any] = {name: value for name, value in element.attrib.items()}
    for child in children:
        key, value = etree.QName(child).localname, _generic(child)
        if key in out:
            out[key] = out[key] if isinstance(out[key], list) else [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def _value(key: str, text: str | None) -> Any:
    text = text or ""
    if key in _NUMBERS and text.isdigit():
        return int(text)
    return text
