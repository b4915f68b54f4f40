"""SRU requests: HTTP parameters -> one validated `SruRequest` value, and the server's limits.

This module owns what an SRU 1.1, 1.2 or 2.0 request may say: which parameters each
operation and version defines, their types and allowed values, version negotiation and the
choice of operation when none is named. Parameters come in as a mapping of names to values
(a decoded GET query string or form-encoded POST body; `decode_form` decodes raw bytes).

It must not know HTTP servers, Twisted, the catalog or CQL semantics: a query is kept as
text here and read by the handler. A request that breaks the protocol still becomes an
`SruRequest`, with the version and operation to answer in and the first `problem` found
(an `SruDiagnostic`), so the handler can answer in the right form.

Choices where the standards leave room (SRU 1.2 "SRU Version 1.2 Specifications", OASIS
searchRetrieve 1.0 part 3 for SRU 2.0):

- No `version`: 2.0. A `version` we do not speak gives diagnostic 5 ("2.0", the highest
  we support), answered in 1.2 form for `1.x` and 2.0 form otherwise.
- No `operation` (always so in 2.0; tolerated in 1.x): `query` means searchRetrieve,
  `scanClause` means scan, neither means explain, so a plain GET of `/DATABASE` explains.
- An empty parameter counts as absent (as YAZ does); a repeated one gives 6. Parameters
  that start with `x-` are extensions and kept; any other unknown parameter gives 8.
- 2.0 clients that still send the 1.x `recordPacking=xml|string` get it read as
  `recordXMLEscaping`; `recordPacking=unpacked` gives 71 (we only pack).
- `sortKeys` exists in 1.1 and 2.0 (1.2 sorts with CQL `sortBy`), so 1.2 gives 8 for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, unquote

from index.config import SruConfig
from zserver.sru.diagnostics import SruDiagnostic, SruDiagnosticCode

_D = SruDiagnosticCode


class Version(Enum):
    V1_1 = "1.1"
    V1_2 = "1.2"
    V2_0 = "2.0"

    @property
    def is_1x(self) -> bool:
        return self is not Version.V2_0


DEFAULT_VERSION = Version.V2_0
HIGHEST_VERSION = Version.V2_0


class Operation(Enum):
    EXPLAIN = "explain"
    SEARCH_RETRIEVE = "searchRetrieve"
    SCAN = "scan"


class Escaping(Enum):
    """How record XML travels in recordData: as XML, or as escaped text (1.x recordPacking)."""

    XML = "xml"
    STRING = "string"


CONTENT_TYPES = ("text/xml", "application/xml", "application/sru+xml", "application/json")
"""Response media types we can send (httpAccept); the first is the default. application/json:
the whole response as JSON (`sru.jsonout`; not inside SOAP, whose envelope is XML)."""


SruSettings = SruConfig
"""Defaults and limits of the SRU service: the `[sru]` section of unikat.toml, checked when
the configuration is parsed (`index.config.SruConfig`; `catalog.config.sru`)."""


@dataclass(frozen=True)
class SruRequest:
    """One SRU request, validated. `problem` is the first protocol error found, or None.

    `maximum_records`, `record_schema`, `result_set_ttl` and `maximum_terms` are None when
    the client did not send them (the configured defaults apply). `host`/`port` say where
    the client reached us (for explain's serverInfo), when the HTTP layer knows it.
    """

    operation: Operation
    version: Version
    database: str
    query: str | None = None
    start_record: int = 1
    maximum_records: int | None = None
    record_schema: str | None = None
    escaping: Escaping = Escaping.XML
    sort_keys: str | None = None
    result_set_ttl: int | None = None
    stylesheet: str | None = None
    content_type: str = CONTENT_TYPES[0]
    scan_clause: str | None = None
    response_position: int = 1
    maximum_terms: int | None = None
    extensions: tuple[tuple[str, str], ...] = ()
    host: str | None = None
    port: int | None = None
    problem: SruDiagnostic | None = None
    soap: str | None = None
    """The SOAP envelope namespace when the request came as SRW (SOAP): answer in one."""
    given: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """The parameters as received (name, value), for the echoed request."""


class FormError(Exception):
    """Raw parameter bytes that cannot be decoded (bad percent-encoding or UTF-8)."""


def decode_form(raw: bytes, *, max_fields: int = 100) -> dict[str, list[str]]:
    """Decode an `application/x-www-form-urlencoded` query string or body (UTF-8).

    Raises FormError for bytes that are not UTF-8 after percent-decoding, for NUL
    characters, or for more than `max_fields` parameters.
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        # Some clients send raw UTF-8 in the URL; read it, percent-escapes and all.
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError("parameters are not UTF-8") from None
    if text and text.count("&") >= max_fields:
        raise FormError(f"more than {max_fields} parameters")
    # parse_qsl(keep_blank_values=True, errors="strict") by hand: its argument coercion cost
    # as much as the rest of a hit-count request's parameter handling
    result: dict[str, list[str]] = {}
    try:
        for piece in text.split("&"):
            if piece:   # empty pieces ("a=1&&b=2", an empty form) are skipped, as parse_qsl skips them
                name, _, value = piece.partition("=")
                result.setdefault(_unescaped(name), []).append(_unescaped(value))
    except UnicodeDecodeError:
        raise FormError("a percent-encoded parameter is not UTF-8") from None
    if "\x00" in text or "%00" in text:   # the only ways to a NUL in a name or value
        raise FormError("NUL character in a parameter")
    return result


def _unescaped(text: str) -> str:
    """One name or value of a form: `+` is a space, `%XX` a UTF-8 byte (strictly decoded)."""
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text, errors="strict") if "%" in text else text


def shaping_params(raw: bytes) -> dict[str, str]:
    """`version`, `operation` and `httpAccept` of the raw parameters `raw`, read leniently (bad escapes and
    bytes replaced; the operation inferred as `parse_request` does): a request refused for its
    encoding or size is still answered in the version and form it asked for."""
    pairs = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"))
    values = {name: pairs[name] for name in ("version", "operation", "httpAccept") if pairs.get(name)}
    if "operation" not in values:
        operation = _operation({name: "" for name in pairs if pairs[name]})[0]
        values["operation"] = operation.value
    return values


# Parameters each operation defines, by the versions that define them (SRU 1.1 and 1.2
# specifications, searchRetrieve 1.0 part 3 for 2.0; explain and scan from SRU 1.2 / 2.0).
_ALL = frozenset(Version)
_V1 = frozenset({Version.V1_1, Version.V1_2})
_V12_UP = frozenset({Version.V1_2, Version.V2_0})
_V2 = frozenset({Version.V2_0})
_V11_V2 = frozenset({Version.V1_1, Version.V2_0})

_COMMON = {"operation": _ALL, "version": _ALL, "stylesheet": _ALL, "httpAccept": _V12_UP,
           "extraRequestData": _ALL}
_PARAMETERS: dict[Operation, dict[str, frozenset[Version]]] = {
    Operation.EXPLAIN: {**_COMMON, "recordPacking": _ALL, "recordXMLEscaping": _V2},
    Operation.SEARCH_RETRIEVE: {
        **_COMMON, "query": _ALL, "queryType": _V2, "startRecord": _ALL, "maximumRecords": _ALL,
        "recordPacking": _ALL, "recordXMLEscaping": _V2, "recordSchema": _ALL,
        "recordXPath": _V1, "resultSetTTL": _ALL, "sortKeys": _V11_V2,
        "renderedBy": _V2, "responseType": _V2,
        "facetLimit": _V2, "facetStart": _V2, "facetSort": _V2,   # read by sru.facets
    },
    Operation.SCAN: {**_COMMON, "scanClause": _ALL, "responsePosition": _ALL,
                     "maximumTerms": _ALL},
}

_STYLESHEET = re.compile(r"[^\s\"<>\\`{}|^]+")
"""A URI we are willing to write into an xml-stylesheet processing instruction: a query (`?`)
may be in it, since without `>` nothing in it can end the instruction (`?>`)."""


def parse_request(params: Mapping[str, str | Sequence[str]], database: str, *,
                  host: str | None = None, port: int | None = None,
                  soap: str | None = None) -> SruRequest:
    """The SRU request that `params` make for `database` (the URL path's database name).

    Never raises for a client's mistake: the first one is the result's `problem`
    (SRU 4, 5, 6, 7, 8, 11, 71, 72 or 111).
    """
    values, repeated = _single_values(params)
    version, version_problem = _version(values.get("version"))
    operation, operation_problem = _operation(values)
    problem = version_problem or operation_problem
    if problem is None and repeated:
        problem = SruDiagnostic(_D.UNSUPPORTED_PARAMETER_VALUE, f"{repeated} given more than once")
    fields: dict[str, Any] = {"problem": problem}
    if problem is None:
        try:
            fields = _validated(version, operation, values)
        except SruDiagnostic as diagnostic:   # answered in the media type asked for, if we have it (a JSON client reads JSON)
            accept = values.get("httpAccept", "") if version in _V12_UP else ""   # SRU 1.1 has no httpAccept
            fields = {"problem": diagnostic, "content_type": _answer_type(accept)}
    return SruRequest(operation, version, database, host=host, port=port, soap=soap, given=tuple(values.items()),
                      **fields)


def _answer_type(accept: str) -> str:
    """The media type of httpAccept, or the default when there is none we can send."""
    try:
        return _content_type(accept) if accept else CONTENT_TYPES[0]
    except SruDiagnostic:
        return CONTENT_TYPES[0]


def _single_values(params: Mapping[str, str | Sequence[str]]) -> tuple[dict[str, str], str | None]:
    values: dict[str, str] = {}
    repeated = None
    for name, raw in params.items():
        if isinstance(raw, str) or len(raw) == 1:   # the common case, without the lists below
            item = raw if isinstance(raw, str) else raw[0]
            if item != "":
                values[name] = item
            continue
        items = [item for item in raw if item != ""]
        if not items:
            continue
        if len(set(items)) > 1 and repeated is None:
            repeated = name
        values[name] = items[0]
    return values, repeated


_VERSIONS = {version.value: version for version in Version}
_OPERATIONS = {operation.value: operation for operation in Operation}


def _version(text: str | None) -> tuple[Version, SruDiagnostic | None]:
    if text is None:
        return DEFAULT_VERSION, None
    if (version := _VERSIONS.get(text.strip())) is not None:
        return version, None
    fallback = Version.V1_2 if text.strip().startswith("1.") else Version.V2_0
    return fallback, SruDiagnostic(_D.UNSUPPORTED_VERSION, HIGHEST_VERSION.value)


def _operation(values: Mapping[str, str]) -> tuple[Operation, SruDiagnostic | None]:
    name = values.get("operation")
    if name is None:
        if "query" in values:
            return Operation.SEARCH_RETRIEVE, None
        if "scanClause" in values:
            return Operation.SCAN, None
        return Operation.EXPLAIN, None
    if (operation := _OPERATIONS.get(name)) is not None:
        return operation, None
    return Operation.EXPLAIN, SruDiagnostic(_D.UNSUPPORTED_OPERATION, name)


def _validated(version: Version, operation: Operation, values: Mapping[str, str]) -> dict[str, Any]:
    """The request's fields from `values`, checked. Raises SruDiagnostic."""
    defined = _PARAMETERS[operation]
    extensions = []
    for name in values:
        if name.startswith("x-"):
            extensions.append((name, values[name]))
        elif version not in defined.get(name, frozenset()):
            raise SruDiagnostic(_D.UNSUPPORTED_PARAMETER, name)
    changes: dict[str, Any] = {"extensions": tuple(extensions)}

    if "extraRequestData" in values:
        raise SruDiagnostic(_D.UNSUPPORTED_PARAMETER, "extraRequestData")
    if "stylesheet" in values:
        if not _STYLESHEET.fullmatch(values["stylesheet"]):
            raise SruDiagnostic(_D.UNSUPPORTED_STYLESHEET, values["stylesheet"])
        changes["stylesheet"] = values["stylesheet"]
    if "httpAccept" in values:
        changes["content_type"] = _content_type(values["httpAccept"])
    changes["escaping"] = _escaping(version, values)

    if operation is Operation.SEARCH_RETRIEVE:
        if values.get("queryType", "cql").lower() != "cql":
            raise SruDiagnostic(_D.UNSUPPORTED_QUERY_TYPE, values["queryType"])
        if values.get("recordXPath"):
            raise SruDiagnostic(_D.XPATH_RETRIEVAL_UNSUPPORTED, values["recordXPath"])
        if values.get("renderedBy", "server") != "server":
            raise SruDiagnostic(_D.UNSUPPORTED_PARAMETER_VALUE, "renderedBy")
        if "responseType" in values and values["responseType"] not in CONTENT_TYPES:
            raise SruDiagnostic(_D.UNSUPPORTED_PARAMETER_VALUE, "responseType")
        changes["start_record"] = _number(values, "startRecord", minimum=1, default=1)
        changes["maximum_records"] = _number(values, "maximumRecords", minimum=0)
        changes["result_set_ttl"] = _number(values, "resultSetTTL", minimum=0)
        changes["record_schema"] = values.get("recordSchema")
        changes["sort_keys"] = values.get("sortKeys")
        if "query" not in values:
            raise SruDiagnostic(_D.MANDATORY_PARAMETER_NOT_SUPPLIED, "query")
        changes["query"] = values["query"]
    elif operation is Operation.SCAN:
        changes["response_position"] = _number(values, "responsePosition", minimum=0, default=1)
        changes["maximum_terms"] = _number(values, "maximumTerms", minimum=1)
        if "scanClause" not in values:
            raise SruDiagnostic(_D.MANDATORY_PARAMETER_NOT_SUPPLIED, "scanClause")
        changes["scan_clause"] = values["scanClause"]
    return changes


def _number(values: Mapping[str, str], name: str, *, minimum: int,
            default: int | None = None) -> int | None:
    text = values.get(name)
    if text is None:
        return default
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < minimum:
        if text.startswith("-") and text[1:].isdigit() and name == "maximumRecords":
            raise SruDiagnostic(_D.NEGATIVE_NUMBER_OF_RECORDS, name)
        raise SruDiagnostic(_D.UNSUPPORTED_PARAMETER_VALUE, name)
    return int(text)


def _escaping(version: Version, values: Mapping[str, str]) -> Escaping:
    packing = values.get("recordPacking")
    escaping = values.get("recordXMLEscaping")
    if version.is_1x:
        escaping, packing = packing, None
    elif packing is not None and packing.lower() in ("xml", "string") and escaping is None:
        escaping, packing = packing, None     # a 1.x habit; see the module docstring
    if packing is not None and packing.lower() != "packed":
        raise SruDiagnostic(_D.UNSUPPORTED_RECORD_PACKING, packing)
    if escaping is None:
        return Escaping.XML
    for choice in Escaping:
        if choice.value == escaping.lower():
            return choice
    raise SruDiagnostic(_D.UNSUPPORTED_RECORD_PACKING, escaping)


def _content_type(accept: str) -> str:
    """The media type to answer with for an httpAccept value (a list, maybe with q-values)."""
    for item in accept.split(","):
        media = item.split(";")[0].strip().lower()
        if media in CONTENT_TYPES:
            return media
        if media in ("*/*", "text/*", "application/*"):
            return CONTENT_TYPES[0]
    raise SruDiagnostic(_D.UNSUPPORTED_PARAMETER_VALUE, "httpAccept")
