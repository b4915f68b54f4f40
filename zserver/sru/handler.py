"""The SRU handler: one `SruRequest` in, one `SruResponse` out, given a catalog.

This module owns running the three SRU operations against `index.search.Catalog` and the
result sets an SRU service keeps (`SruState`: a bounded LRU with time-to-live; the time
comes in as an argument). It is the one place where `SruDiagnostic`, `CatalogError` and
`QueryError` are caught and turned into `<diagnostic>` elements. It must not know HTTP,
Twisted or `zserver.z3950`; CQL is read with `querylang.cql` and mapped with `sru.cqlmap`.

Result set ids. unikat serves from several worker processes, and the next request of a
client may reach another one. So a result set id is not a counter: it carries the search
that made it (database, CQL query, sortKeys; compressed, base64url). The worker that made
the set answers from its cache, a snapshot of the index; any other worker, or the same one
after the set left the cache, runs the search again. The set may then differ if the
catalog changed in between, which SRU permits (resultSetTTL is a hint, not a promise).
"""

from __future__ import annotations

import base64
import functools
import json
import zlib
from collections import OrderedDict
from dataclasses import dataclass

from lxml import etree

from index.engines.base import SortKey, sort_field
from index.errors import CatalogError, UnknownDatabase
from index.query import ResultSetRef
from index.search import Catalog, Database, ResultSet
from zserver.cluster_xml import cluster_renderer
from zserver.querylang.cql import CqlQuery, parse_cql
from zserver.querylang.errors import QueryError
from zserver.sru import facets as sru_facets
from zserver.sru import soap
from zserver.sru.cqlmap import cql_to_query, scan_start, sort_criteria
from zserver.sru.diagnostics import (
    SruDiagnostic,
    SruDiagnosticCode,
    diagnostic_for,
    diagnostic_for_query_error,
)
from zserver.sru.explain import explain_record
from zserver.sru.jsonout import MEDIA_TYPE as JSON_MEDIA_TYPE
from zserver.sru.jsonout import response_json
from zserver.sru.request import Operation, SruRequest, SruSettings, Version
from zserver.sru.response import (
    RecordNotInSchema,
    RecordOut,
    SruResponse,
    TermOut,
    explain_response,
    find_schema,
    hit_count_response,
    packing_fields,
    scan_response,
    search_retrieve_response,
    serialize,
)

_D = SruDiagnosticCode

DATABASE_DOES_NOT_EXIST = 235
"""SRU diagnostic 235 "Database does not exist" (SRU diagnostics list, as YAZ's srw.csv)."""

_MAX_NESTED_SETS = 8


# --- result sets -------------------------------------------------------------------------

@dataclass
class _Kept:
    result_set: ResultSet
    expires: float


class SruState:
    """The result sets of one SRU service (one worker process): an LRU bounded by
    `capacity`, each entry living `ttl` seconds after its last use.

    A set's id names its search, so anyone can work it out: sets made by signed-in clients are
    kept apart from the others, and a client not signed in only finds what such a client made
    (else its search is run again, as that client, and refused where it must be)."""

    def __init__(self, capacity: int = 100) -> None:
        self.capacity = capacity
        self._sets: OrderedDict[tuple[bool, str], _Kept] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sets)

    def get(self, name: str, now: float, ttl: float, *, signed_in: bool = False) -> ResultSet | None:
        key = (signed_in, name)
        kept = self._sets.get(key)
        if kept is None:
            return None
        if kept.expires <= now:
            del self._sets[key]
            return None
        kept.expires = max(kept.expires, now + ttl)
        self._sets.move_to_end(key)
        return kept.result_set

    def put(self, name: str, result_set: ResultSet, now: float, ttl: float, *, signed_in: bool = False) -> None:
        key = (signed_in, name)
        self._sets[key] = _Kept(result_set, now + ttl)
        self._sets.move_to_end(key)
        # least recently used first: expired sets gather there (`get` checks any other itself)
        while self._sets and (len(self._sets) > self.capacity or next(iter(self._sets.values())).expires <= now):
            self._sets.popitem(last=False)

    def names(self) -> list[str]:
        return [name for _signed_in, name in self._sets]


# Clients repeat their searches, and making an id costs a few µs; queries are at most
# `maximum_query_length` characters, so the cache stays a few MB.
@functools.lru_cache(maxsize=1024)
def result_set_id(database: str, query: str, sort_keys: str | None) -> str:
    """The id of the result set of `query` (CQL) on `database`, sorted by `sort_keys`: the
    search itself, so any worker can run it again. "r" and the search as it is when short
    (deflate makes short texts longer), "u" and the search deflated otherwise."""
    packed = json.dumps([database, query, sort_keys], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(packed) <= _PLAIN_ID:
        return "r" + base64.urlsafe_b64encode(packed).decode().rstrip("=")
    # A 512-byte window and the smallest state: `zlib.compress` sets up ~260 KB of deflate state
    # (fresh pages from the kernel each time), which cost more than the rest of a hit-count request.
    # Any zlib decompressor reads the result, so `_search_of` takes ids made either way.
    deflate = zlib.compressobj(9, zlib.DEFLATED, 9, 1)
    data = deflate.compress(packed) + deflate.flush()
    return "u" + base64.urlsafe_b64encode(data).decode().rstrip("=")


_PLAIN_ID = 120   # bytes of a search written as it is in its id; longer ones are deflated


def _search_of(name: str) -> tuple[str, str, str | None] | None:
    if name[:1] not in ("r", "u") or len(name) > 8000:
        return None
    try:
        data = base64.urlsafe_b64decode(name[1:] + "=" * (-(len(name) - 1) % 4))
        if name[0] == "u":
            data = zlib.decompressobj().decompress(data, 64 * 1024)
        packed = json.loads(data.decode("utf-8"))
    except (ValueError, zlib.error, UnicodeDecodeError, RecursionError):   # [[[[… nests past Python's stack
        return None
    if (isinstance(packed, list) and len(packed) == 3 and isinstance(packed[0], str)
            and isinstance(packed[1], str) and (packed[2] is None or isinstance(packed[2], str))):
        return packed[0], packed[1], packed[2]
    return None


@dataclass
class _Run:
    catalog: Catalog
    state: SruState
    settings: SruSettings
    now: float
    ttl: float
    version: Version
    signed_in: bool = False

    def search(self, database: Database, query: str, sort_keys: str | None,
               depth: int = 0) -> ResultSet:
        """Parse, map, search and sort. Raises SruDiagnostic, CatalogError or QueryError."""
        return self.search_named(database, query, sort_keys, depth)[0]

    def search_named(self, database: Database, query: str, sort_keys: str | None,
                     depth: int = 0) -> tuple[ResultSet, str | None]:
        """Like `search`; also the id of the earlier set when the query only names one."""
        if len(query) > self.settings.maximum_query_length:
            raise SruDiagnostic(_D.TOO_MANY_CHARACTERS_IN_QUERY,
                                str(self.settings.maximum_query_length))
        cql = parse_cql(query)
        node = cql_to_query(cql)
        keys = _sort_keys(cql, sort_keys)
        result_set = self.catalog.search(node, database, sort=keys, signed_in=self.signed_in,
                                         result_sets=lambda name: self.result_set(name, depth))
        earlier = node.name if isinstance(node, ResultSetRef) and not keys else None
        return result_set, earlier

    def result_set(self, name: str, depth: int) -> ResultSet | None:
        """The set a query at nesting `depth` names: the cache first, else the search the id
        carries (at most _MAX_NESTED_SETS deep); None when there is none."""
        found = self.state.get(name, self.now, self.ttl, signed_in=self.signed_in)
        if found is not None:
            return found
        search = _search_of(name)
        if search is None or depth >= _MAX_NESTED_SETS:
            return None
        database_name, query, sort_keys = search
        try:
            database = self.catalog.database(database_name)
            if database.restricted and not self.signed_in:
                return None
            found = self.search(database, query, sort_keys, depth + 1)
        except (SruDiagnostic, CatalogError, QueryError):
            return None
        self.state.put(name, found, self.now, self.ttl, signed_in=self.signed_in)
        return found


def _sort_keys(cql: CqlQuery, sort_keys: str | None) -> list[SortKey]:
    """The catalog's sort keys from CQL sortBy or the sortKeys parameter."""
    if cql.sort_keys and sort_keys:
        raise SruDiagnostic(_D.UNSUPPORTED_PARAMETER_VALUE, "sortKeys together with sortBy")
    keys: list[SortKey] = []
    if sort_keys:
        for item in sort_keys.split():
            keys.append(_sort_key_parameter(item))
    else:
        for criterion in sort_criteria(cql):
            field = sort_field(criterion.index)
            if field is None:
                raise SruDiagnostic(_D.UNSUPPORTED_PATH_FOR_SORT, criterion.index)
            keys.append(SortKey(field, criterion.descending))
    if len({key.field for key in keys}) != len(keys):
        raise SruDiagnostic(_D.DUPLICATE_SORT_KEYS, " ".join(key.field.value for key in keys))
    return keys


def _sort_key_parameter(item: str) -> SortKey:
    """One SRU 1.1 sortKeys item: `path,schema,ascending,caseSensitive,missingValue`."""
    parts = item.split(",")
    path = parts[0]
    field = sort_field(path.rpartition(".")[2])   # the path's index, without its context set
    if field is None:
        raise SruDiagnostic(_D.UNSUPPORTED_PATH_FOR_SORT, path)
    ascending = parts[2] if len(parts) > 2 and parts[2] else "1"
    if ascending not in ("0", "1"):
        raise SruDiagnostic(_D.UNSUPPORTED_DIRECTION, ascending)
    if len(parts) > 3 and parts[3] not in ("", "0"):
        raise SruDiagnostic(_D.UNSUPPORTED_CASE, parts[3])
    if len(parts) > 4 and parts[4] not in ("", "highValue", "lowValue", "omit"):
        raise SruDiagnostic(_D.UNSUPPORTED_MISSING_VALUE_ACTION, parts[4])
    return SortKey(field, ascending == "0")


# --- the operations ----------------------------------------------------------------------

def handle(request: SruRequest, catalog: Catalog, state: SruState | None = None, *,
           now: float = 0.0, settings: SruSettings | None = None, user: str | None = None) -> SruResponse:
    """Answer `request` from `catalog`. `now` is the current time in seconds (any epoch the
    caller keeps using); `state` holds result sets between requests (None: none kept);
    `settings` are the catalog's `[sru]` settings (read from its configuration when None);
    `user` is the signed-in user (HTTP Basic, checked by the caller), None for anonymous.

    Client mistakes become SRU diagnostics in a 200 response; an unknown database gives
    diagnostic 235 with HTTP status 404; searching or scanning a restricted database without
    `user` gives diagnostic 3 with HTTP status 401 (`index.search` says what restricted means).
    Our own bugs raise.
    """
    settings = settings or catalog.config.sru
    state = state if state is not None else SruState(settings.result_sets)
    status = 200
    if request.problem is not None:
        root = _failure(request, request.problem)
    else:
        try:
            database = catalog.database(request.database)
        except UnknownDatabase:
            database = None
        if database is None:
            status = 404
            root = _failure(request, SruDiagnostic(DATABASE_DOES_NOT_EXIST, request.database))
        elif database.restricted and user is None and request.operation is not Operation.EXPLAIN:
            status = 401
            root = _failure(request, SruDiagnostic(_D.AUTHENTICATION_ERROR,
                                                   f"{database.name} is for authenticated users only"))
        elif request.operation is Operation.EXPLAIN:
            root = _explain(request, catalog, database, settings, ())
        elif request.operation is Operation.SCAN:
            root = _scan(request, catalog, database, settings, signed_in=user is not None)
        else:
            ttl = min(request.result_set_ttl if request.result_set_ttl is not None
                      else settings.result_set_ttl, settings.maximum_result_set_ttl)
            run = _Run(catalog, state, settings, now, ttl, request.version, user is not None)
            root = _search_retrieve(request, run, database)
    return _response(request, root, status)


def _response(request: SruRequest, root: etree._Element | bytes, status: int) -> SruResponse:
    """The serialized response (`root` may be so already); in a SOAP envelope when the request
    came in one, as JSON when httpAccept asked for it (`sru.jsonout`)."""
    if isinstance(root, bytes):
        body = root
    elif request.soap is None and request.content_type == JSON_MEDIA_TYPE:
        return SruResponse(status, f"{JSON_MEDIA_TYPE}; charset=utf-8", response_json(root))
    else:
        body = serialize(root, stylesheet=request.stylesheet)
    if request.soap is not None:
        return SruResponse(status, soap.content_type(request.soap), soap.envelope(request.soap, body))
    return SruResponse(status, f"{request.content_type}; charset=utf-8", body, hit_count_only=isinstance(root, bytes))


def failure(request: SruRequest, diagnostic: SruDiagnostic, status: int) -> SruResponse:
    """A response to `request` carrying only `diagnostic`, with HTTP status `status`; for
    requests refused before they reach the catalog (bad encoding, too large, wrong path)."""
    return _response(request, _failure(request, diagnostic), status)


def _failure(request: SruRequest, diagnostic: SruDiagnostic) -> etree._Element:
    """The response of `request`'s operation carrying only `diagnostic`."""
    if request.operation is Operation.SCAN:
        return scan_response(request.version, terms=(), echo=_scan_echo(request),
                             diagnostics=(diagnostic,))
    if request.operation is Operation.SEARCH_RETRIEVE:
        return search_retrieve_response(
            request.version, number_of_records=0, records=(), escaping=request.escaping,
            result_set_id=None, result_set_ttl=None, next_position=None,
            echo=_search_echo(request), diagnostics=(diagnostic,))
    return explain_response(request.version, record=None, escaping=request.escaping,
                            echo=_explain_echo(request), diagnostics=(diagnostic,))


def _explain(request: SruRequest, catalog: Catalog, database: Database, settings: SruSettings,
             diagnostics: tuple[SruDiagnostic, ...]) -> etree._Element:
    server = catalog.config.server
    host = request.host or server.host
    port = request.port or server.port
    record = explain_record(catalog.config, database, settings, host=host, port=port,
                            version=request.version)
    return explain_response(request.version, record=record, escaping=request.escaping,
                            echo=_explain_echo(request), diagnostics=diagnostics)


def _explain_echo(request: SruRequest) -> list[tuple[str, object | None]]:
    return [*packing_fields(request.version, request.escaping), ("stylesheet", request.stylesheet)]


def _search_echo(request: SruRequest) -> list[tuple[str, object | None]]:
    packing = packing_fields(request.version, request.escaping)
    if request.version.is_1x:
        return [("query", request.query), ("startRecord", request.start_record),
                ("maximumRecords", request.maximum_records), *packing,
                ("recordSchema", request.record_schema), ("resultSetTTL", request.result_set_ttl),
                ("sortKeys", request.sort_keys), ("stylesheet", request.stylesheet)]
    return [("queryType", "cql" if request.query is not None else None), ("query", request.query),
            ("startRecord", request.start_record), ("maximumRecords", request.maximum_records),
            *packing, ("recordSchema", request.record_schema),
            ("facetParameters", sru_facets.echo(dict(request.given))),
            ("resultSetTTL", request.result_set_ttl), ("sortKeys", request.sort_keys),
            ("stylesheet", request.stylesheet)]


def _scan_echo(request: SruRequest) -> list[tuple[str, object | None]]:
    return [("scanClause", request.scan_clause), ("responsePosition", request.response_position),
            ("maximumTerms", request.maximum_terms), ("stylesheet", request.stylesheet)]


def _search_retrieve(request: SruRequest, run: _Run, database: Database) -> etree._Element | bytes:
    """The response's tree, or for a hit count alone its serialized bytes (`hit_count_response`)."""
    settings = run.settings
    query = request.query or ""
    diagnostics: list[SruDiagnostic] = []
    schema = find_schema(request.record_schema or settings.default_schema)
    try:
        if schema is None:
            raise SruDiagnostic(_D.UNKNOWN_SCHEMA, request.record_schema or "")
        facets = sru_facets.parse(dict(request.given))
        result_set, earlier = run.search_named(database, query, request.sort_keys)
    except SruDiagnostic as diagnostic:
        return _failure(request, diagnostic)
    except CatalogError as error:
        return _failure(request, diagnostic_for(error))
    except QueryError as error:
        return _failure(request, diagnostic_for_query_error(error))

    set_id = earlier
    if set_id is None and request.result_set_ttl != 0:
        set_id = result_set_id(database.name, query, request.sort_keys)
        run.state.put(set_id, result_set, run.now, run.ttl, signed_in=run.signed_in)

    size = result_set.size
    wanted = settings.default_records if request.maximum_records is None else request.maximum_records
    count = min(wanted, settings.maximum_records)
    start = request.start_record
    records: list[RecordOut] = []
    next_position = None
    if count > 0 and start > size and (size > 0 or start > 1):
        diagnostics.append(SruDiagnostic(_D.FIRST_RECORD_POSITION_OUT_OF_RANGE, str(start)))
    elif count > 0:
        isns = result_set.isns(start - 1, count)
        titles = run.catalog.shown(run.catalog.records(isns, with_holdings=schema.holdings), signed_in=run.signed_in)
        names = run.catalog.library_names
        isils = {code: library.isil for code, library in run.catalog.config.libraries.items() if library.isil}
        render = cluster_renderer(run.catalog, run.signed_in) if schema.name == "cluster" else schema.render
        for offset, (isn, title) in enumerate(zip(isns, titles, strict=True)):
            position = start + offset
            if title is None:
                records.append(RecordOut(position, schema.identifier,
                                         diagnostic=SruDiagnostic(_D.RECORD_DOES_NOT_EXIST, str(isn))))
            else:
                try:
                    records.append(RecordOut(position, schema.identifier, render(title, names, isils)))
                except RecordNotInSchema as refusal:
                    records.append(RecordOut(position, schema.identifier, diagnostic=SruDiagnostic(
                        _D.RECORD_NOT_AVAILABLE_IN_SCHEMA, f"{isn}: {refusal}")))
        if start - 1 + len(isns) < size:
            next_position = start + len(isns)
    ttl = int(run.ttl) if set_id else None
    if not records and not diagnostics and not facets and request.content_type != JSON_MEDIA_TYPE:
        return hit_count_response(request.version, number_of_records=size, result_set_id=set_id,
                                  result_set_ttl=ttl, echo=_search_echo(request), stylesheet=request.stylesheet)
    root = search_retrieve_response(
        request.version, number_of_records=size, records=records, escaping=request.escaping,
        result_set_id=set_id, result_set_ttl=ttl,
        next_position=next_position, echo=_search_echo(request), diagnostics=diagnostics)
    sru_facets.add_to(root, facets, run.catalog, result_set, query, signed_in=run.signed_in)
    return root


def _scan(request: SruRequest, catalog: Catalog, database: Database, settings: SruSettings, *,
          signed_in: bool) -> etree._Element:
    try:
        index, term = scan_start(parse_cql(request.scan_clause or ""))
        count = min(request.maximum_terms or settings.default_terms, settings.maximum_terms)
        position = request.response_position
        if position > count + 1:
            raise SruDiagnostic(_D.RESPONSE_POSITION_OUT_OF_RANGE, str(position))
        # One term more on each side tells whether the list starts or ends in the window.
        entries, found_at = catalog.scan(index, term, count=count + 2, preferred_position=position + 1,
                                         signed_in=signed_in, database=database)
    except SruDiagnostic as diagnostic:
        return _failure(request, diagnostic)
    except CatalogError as error:
        return _failure(request, diagnostic_for(error))
    except QueryError as error:
        return _failure(request, diagnostic_for_query_error(error))
    offset = 1 if found_at >= position + 1 else 0
    window = entries[offset:offset + count]
    at_start = offset == 0
    at_end = len(entries) - offset <= count
    terms = []
    for i, entry in enumerate(window):
        first = at_start and i == 0
        last = at_end and i == len(window) - 1
        where = "only" if first and last else "first" if first else "last" if last else "inner"
        terms.append(TermOut(entry.term, entry.count, where, entry.display if entry.display != entry.term else None))
    return scan_response(request.version, terms=terms, echo=_scan_echo(request), diagnostics=())
