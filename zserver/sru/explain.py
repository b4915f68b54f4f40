"""The explain record: a ZeeRex 2.0 description made from the live configuration and index table.

This module owns what unikat tells SRU clients about itself (ZeeRex 2.0,
`http://explain.z3950.org/dtd/2.0/`): serverInfo (host, port, database), databaseInfo (the
catalog's name and libraries), indexInfo (every logical index of `index.searchkeys.spec`
with each CQL name `zserver.sru.cqlmap` resolves to it, in the context sets cql, dc, bath,
rec and unikat, and whether it can be searched, scanned and sorted), schemaInfo (the record
schemas of `response.SCHEMAS`) and configInfo (defaults and limits of `SruSettings`, and
the CQL features we support).

Nothing here is written by hand twice: index names come from cqlmap's table, labels from
the index spec, schemas from the response module. It must not search or know HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from index.config import Config
from index.engines.base import sort_field
from index.search import Database
from index.searchkeys.spec import BY_NAME, SORT_KEYS
from zserver.sru.cqlmap import ALL_RECORDS, DEFAULT_PREFIXES, DEFAULT_SEARCH_ORDER, INDEXES, RESULT_SET_ID
from zserver.sru.request import CONTENT_TYPES, SruSettings, Version
from zserver.sru.response import SCHEMAS, ZEEREX_NS, xml_text

_Z = f"{{{ZEEREX_NS}}}"

_SPELLINGS = (
    "serverChoice", "anywhere", "keywords", "allIndexes", "allRecords", "resultSetId",
    "creator", "contributor", "date", "type", "personalName", "corporateName",
    "conferenceName", "uniformTitle", "keyTitle", "seriesTitle", "topicalSubject",
    "standardIdentifier", "localNumber", "lcCallNumber", "materialType",
)
"""How the CQL index names are written (cqlmap compares them case-insensitively)."""

_SPECIAL = {ALL_RECORDS: ("allRecords", "Every record (cql.allRecords = 1)"),
            RESULT_SET_ID: ("resultSetId", "An earlier result set, by its resultSetId")}

SET_ORDER = DEFAULT_SEARCH_ORDER
"""Context sets in the order an unprefixed index is looked up, and listed."""


@dataclass(frozen=True)
class IndexEntry:
    """One logical index as explain lists it: its CQL names and what it can do."""

    id: str
    title: str
    names: tuple[tuple[str, str], ...]     # (context set prefix, index name)
    search: bool
    scan: bool
    sort: bool


def _spelled(key: str) -> str:
    for spelling in _SPELLINGS:
        if spelling.lower() == key:
            return spelling
    return key


def scannable(index: str) -> bool:
    """Whether SRU scan (and Catalog.scan) can browse the logical index `index`."""
    spec = BY_NAME.get(index)
    return spec is not None and index != "isn"


def sortable(index: str) -> bool:
    """Whether sortBy (and the sortKeys parameter) can sort by the logical index `index`."""
    return sort_field(index) is not None


def index_entries() -> list[IndexEntry]:
    """Every index a CQL query can name, grouped by logical index, names sorted by set."""
    names: dict[str, list[tuple[str, str]]] = {}
    for context_set in SET_ORDER:
        for key, target in sorted(INDEXES.get(context_set, {}).items()):
            names.setdefault(target, []).append((context_set, _spelled(key)))
    entries = []
    for target, mapped in names.items():
        if target in _SPECIAL:
            name, title = _SPECIAL[target]
            entries.append(IndexEntry(name, title, tuple(mapped), True, False, False))
            continue
        spec = BY_NAME[target]
        entries.append(IndexEntry(target, spec.label, tuple(mapped), True, scannable(target),
                                  sortable(target)))
    return entries


_RELATIONS = ("=", "==", "exact", "adj", "all", "any", "<", "<=", ">", ">=", "<>", "within")
_RELATION_MODIFIERS = ("relevant", "string", "word", "masked", "unmasked", "ignoreCase",
                       "ignoreAccents", "locale")


def explain_record(config: Config, database: Database, settings: SruSettings, *,
                   host: str, port: int, version: Version) -> etree._Element:
    """The ZeeRex `explain` element for `database`, as seen at host:port."""
    root = etree.Element(_Z + "explain", nsmap={"zr": ZEEREX_NS})
    server = etree.SubElement(root, _Z + "serverInfo", protocol="SRU", version=version.value,
                              transport="http", method="GET POST")
    _add(server, "host", host)
    _add(server, "port", str(port))
    _add(server, "database", database.name)

    info = etree.SubElement(root, _Z + "databaseInfo")
    title = config.name if database.library is None else (
        f"{config.name}: {_library_name(config, database.library)}")
    etree.SubElement(info, _Z + "title", lang="en", primary="true").text = xml_text(title)
    _add(info, "description", _description(config, database), lang="en", primary="true")

    index_info = etree.SubElement(root, _Z + "indexInfo")
    for prefix in SET_ORDER:
        etree.SubElement(index_info, _Z + "set", name=prefix, identifier=DEFAULT_PREFIXES[prefix])
    for entry in index_entries():
        index = etree.SubElement(index_info, _Z + "index", id=entry.id,
                                 search=_bool(entry.search), scan=_bool(entry.scan),
                                 sort=_bool(entry.sort))
        _add(index, "title", entry.title, lang="en")
        for prefix, name in entry.names:
            mapping = etree.SubElement(index, _Z + "map")
            _add(mapping, "name", name, set=prefix)
    for key in SORT_KEYS:
        _add(index_info, "sortKeyword", key)

    schema_info = etree.SubElement(root, _Z + "schemaInfo")
    for schema in SCHEMAS:
        element = etree.SubElement(schema_info, _Z + "schema", identifier=schema.identifier,
                                   name=schema.name, sort="false", retrieve="true")
        _add(element, "title", schema.title, lang="en")

    config_info = etree.SubElement(root, _Z + "configInfo")
    defaults: Mapping[str, object] = {
        "numberOfRecords": settings.default_records, "retrieveSchema": settings.default_schema,
        "index": "cql.serverChoice", "relation": "=", "contextSet": "unikat",
        "resultSetTTL": settings.result_set_ttl, "maximumTerms": settings.default_terms,
        "sortAscending": "true", "sortCaseSensitive": "false",
    }
    for kind, value in defaults.items():
        _add(config_info, "default", str(value), type=kind)
    limits: Mapping[str, object] = {
        "maximumRecords": settings.maximum_records, "maximumTerms": settings.maximum_terms,
        "resultSetTTL": settings.maximum_result_set_ttl,
        "queryLength": settings.maximum_query_length,
    }
    for kind, value in limits.items():
        _add(config_info, "setting", str(value), type=kind)
    for relation in _RELATIONS:
        _add(config_info, "supports", relation, type="relation")
    for modifier in _RELATION_MODIFIERS:
        _add(config_info, "supports", modifier, type="relationModifier")
    for operator in ("and", "or", "not", "prox"):
        _add(config_info, "supports", operator, type="booleanOperator")
    for modifier in ("unit=word", "unit=element", "distance", "ordered", "unordered"):
        _add(config_info, "supports", modifier, type="proximityModifier")
    for media in CONTENT_TYPES:   # httpAccept: application/json answers in JSON (README)
        _add(config_info, "supports", media, type="httpAccept")
    for kind, value in (("maskingCharacter", "*"), ("maskingCharacter", "?"),
                        ("anchoring", "^"), ("resultSets", ""), ("sort", ""),
                        ("scan", ""), ("sortModifier", "ascending"),
                        ("sortModifier", "descending"), ("sortModifier", "ignoreCase")):
        _add(config_info, "supports", value, type=kind)
    return root


def _add(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, _Z + name, **attributes)
    if text:
        element.text = xml_text(text)
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _library_name(config: Config, code: str) -> str:
    library = config.libraries.get(code)
    return library.name if library is not None else code


def _description(config: Config, database: Database) -> str:
    if database.library is not None:
        return (f"The titles of the union catalog held by {_library_name(config, database.library)}"
                f" ({database.library}), with the holdings of every library.")
    libraries = ", ".join(f"{code} ({library.name})" for code, library in config.libraries.items())
    return f"Union catalog of {len(config.libraries)} libraries: {libraries}."
