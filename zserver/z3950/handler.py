"""Z39.50 requests -> responses over one open catalog, for one association.

This module owns what each service means for unikat (Z39.50-2003 section 3.2): Init (option
and size negotiation, idPass/open authentication against `[users]`, UTF-8 character-set
negotiation), Search (Type-1 and Type-101 RPN, Type-2 CCL; named result sets; piggy-backed
present), Present, Delete result set, Scan, Sort and Close; of the Extended Services only
ItemOrder, an interlibrary loan order (`itemorder.py`), and Update, a library's own records
(`update.py`; others 221).
`Handler.handle(pdu)` takes a request PDU (`pdus.py`, as the session gives it) and returns the
response PDU. The per-association state (user, charset, sizes, result sets) lives in an `Association`.

It must not know bytes, sockets, Twisted or the state table (`session.py` enforces the order
of PDUs); records are rendered by `present.py`.

Errors: a client's mistake is an answer. `Z3950Diagnostic`, `CatalogError` (mapped by
`diagnostics.diagnostic_for`) and `QueryError` (by `diagnostic_for_query_error`) are turned
into a diagnostic by `_as_diagnostic` and put into the failed response of the PDU in exactly
one place, `Handler.handle`. One exception: a piggy-backed present after a successful search
reports its diagnostic inside the search response (`_piggyback`), since the search result
stands. Anything else that raises is our bug and propagates (`zserver.net` answers it).

Choices where Bib-1 or the standard leave room (YAZ's GFS and Zebra as the model):

- Unknown database: 109 (database unavailable), as Zebra and the GFS answer; the catalog's
  UnknownDatabase is translated here, at the edge. A restricted database without a successful
  login: 236 (access to specified database denied); without a login, records leave out the
  holdings of restricted libraries (`index.search`). More than one database: 111, addinfo "1".
- Init with a wrong password or an unknown user, or while the name or the client address is
  locked out after repeated failures (`zserver.logins`): result false, diagnostic 1011 in
  userInformationField (userinfo-1 OtherInformation holding a diag-1 DiagnosticFormat, as
  YAZ's GFS sends); the association then ends. An `open` string is read as "user/password".
- Result set named while namedResultSets was not agreed: 22; existing name with
  replaceIndicator off: 21; beyond `max_result_sets` sets the least recently used one is dropped.
- A title deleted since the search: surrogate diagnostic 1028 (record deleted), addinfo ISN.
- Init sizes: preferredMessageSize is min(client's, `max_message_size`); exceptionalRecordSize
  is min(client's, `max_record_size`) but never below preferredMessageSize (3.2.1.1.4).
  Options answered: the client's request intersected with search, present, delSet, scan,
  sort, namedResultSets (plus negotiationModel when the charset proposal is answered).
- Message sizes as YAZ's GFS: a record larger than exceptionalRecordSize becomes surrogate 17;
  one larger than preferredMessageSize is sent only when it was the only record asked for
  (else surrogate 16); when the next normal record does not fit, the response stops there
  with presentStatus partial-2.
- Scan: stepSize other than 0 gives 205; more than MAX_SCAN_TERMS terms 1029; a preferred
  position outside 1..number+1 gives 233; fewer terms than asked is scanStatus partial-5.
  Counts are over the whole catalog, also in a library's database.
- Sort: one input set (else 230); keys by sortfield name (title, author, year/date,
  relevance/score/rank) or Bib-1 Use (4 title; 1, 2, 3, 1002-1006 author; 30, 31 year) or
  relation 102 (relevance); ascending/descending; case is always ignored (caseSensitivity is
  accepted either way); missingValueAction abort/missingValueData 213, frequency relations
  214, database-specific keys 210, elementSpec and unknown keys 207, more than 5 keys 211.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any, NamedTuple

from index.config import ServerConfig
from index.engines.base import SortField, SortKey, sort_field
from index.errors import CatalogError, UnknownDatabase, UnknownSearchKey
from index.ill import IllService
from index.query import Node
from index.search import Catalog, Database, ResultSet
from index.store.ill import ill_account_exists
from zserver.cluster_xml import cluster_bytes
from zserver.logins import LoginGuard, LoginPolicy, LoginRefused
from zserver.querylang.ccl import DEFAULT_QUALIFIERS, CclProfile, parse_ccl
from zserver.querylang.errors import QueryError
from zserver.querylang.rpn import BIB1_OID, AttributesPlusTerm, ComplexValue, rpn_from_asn1
from zserver.querytime import QueryTime, QueryTimePolicy
from zserver.z3950 import facets as z_facets
from zserver.z3950 import present
from zserver.z3950.attributes import Bib1Use, rpn_to_query, term_for
from zserver.z3950.codec import CodecError, encode_type
from zserver.z3950.diagnostics import (
    Bib1Diagnostic,
    Z3950Diagnostic,
    diagnostic_for,
    diagnostic_for_query_error,
    to_default_diag_format,
)
from zserver.z3950.itemorder import answer_item_order
from zserver.z3950.pdus import (
    Close,
    CloseReason,
    DeleteResultSetRequest,
    DeleteResultSetResponse,
    ExtendedServicesRequest,
    ExtendedServicesResponse,
    InitRequest,
    InitResponse,
    ListStatus,
    Pdu,
    PresentRequest,
    PresentResponse,
    ScanRequest,
    ScanResponse,
    SearchRequest,
    SearchResponse,
    SortKeySpec,
    SortRequest,
    SortResponse,
    close_pdu,
)
from zserver.z3950.records import (
    Oid,
    charset_negotiation,
    charset_response,
    external_asn1,
    name_plus_record,
    negotiated_charsets,
)
from zserver.z3950.update import UPDATE_PACKAGE_TYPES, answer_update

__all__ = ["Association", "Handler", "Limits", "Response"]

USERINFO_1 = "1.2.840.10003.10.3"
"""userinfo-1: an OtherInformation carried in InitResponse.userInformationField."""

IMPLEMENTATION_ID = "unikat"
IMPLEMENTATION_NAME = "unikat union catalog server"

MAX_SCAN_TERMS = 1000
MAX_SORT_KEYS = 5


class Option:
    """Bit numbers of `Options` (Z39.50-2003 3.2.1.1.6) that unikat negotiates."""

    SEARCH = 0
    PRESENT = 1
    DEL_SET = 2
    SCAN = 7
    SORT = 8
    EXTENDED_SERVICES = 10
    NAMED_RESULT_SETS = 14
    NEGOTIATION_MODEL = 17


SUPPORTED_OPTIONS = frozenset({Option.SEARCH, Option.PRESENT, Option.DEL_SET, Option.SCAN,
                               Option.SORT, Option.NAMED_RESULT_SETS, Option.EXTENDED_SERVICES})


class PresentStatus:
    SUCCESS = 0
    PARTIAL_2 = 2   # not all records fit the preferred message size
    FAILURE = 5


@dataclass(frozen=True)
class Limits:
    """The target's side of the negotiation, from `[server]` in unikat.toml (bytes, counts)."""

    max_message_size: int = ServerConfig.max_message_size
    max_record_size: int = ServerConfig.max_record_size
    max_result_sets: int = ServerConfig.max_result_sets

    @classmethod
    def from_config(cls, server: ServerConfig) -> Limits:
        return cls(server.max_message_size, server.max_record_size, server.max_result_sets)


@dataclass
class Association:
    """What one association has agreed and built (Z39.50's "Z-association")."""

    user: str | None = None
    charset: str | None = None
    version: int = 3
    preferred_message_size: int = 0
    exceptional_record_size: int = 0
    named_result_sets: bool = True
    result_sets: dict[str, ResultSet] = field(default_factory=dict)
    dropped_result_sets: dict[str, None] = field(default_factory=dict)   # names the set limit dropped, oldest first
    ill_login: tuple[str, str] | None = field(default=None, repr=False)   # an ILL user's Init, for ItemOrder


class Response(NamedTuple):
    """A response PDU to send, and one line saying what happened (for the log)."""

    pdu: Pdu
    summary: str


def _as_diagnostic(error: Exception) -> Z3950Diagnostic:
    """The Bib-1 diagnostic of a peer's mistake (the three families handled as answers)."""
    if isinstance(error, Z3950Diagnostic):
        return error
    if isinstance(error, CatalogError):
        return diagnostic_for(error)
    return diagnostic_for_query_error(error)  # type: ignore[arg-type]


_PEER_ERRORS = (Z3950Diagnostic, CatalogError, QueryError)


def _with_reference(request: Pdu, response: Response) -> Response:
    """The response with the request's referenceId echoed (3.4: reference-id)."""
    if request.reference_id is None:
        return response
    return Response(replace(response.pdu, reference_id=request.reference_id), response.summary)


def _package_version() -> str:
    try:
        return metadata.version("unikat")
    except metadata.PackageNotFoundError:
        return "0"


_SORT_USES: dict[int, SortField] = {
    Bib1Use.TITLE: SortField.TITLE, Bib1Use.TITLE_UNIFORM: SortField.TITLE, Bib1Use.TITLE_KEY: SortField.TITLE,
    **dict.fromkeys((Bib1Use.PERSONAL_NAME, Bib1Use.CORPORATE_NAME, Bib1Use.CONFERENCE_NAME, Bib1Use.NAME,
                     Bib1Use.AUTHOR, Bib1Use.AUTHOR_NAME_PERSONAL, Bib1Use.AUTHOR_NAME_CORPORATE,
                     Bib1Use.AUTHOR_NAME_CONFERENCE), SortField.AUTHOR),
    Bib1Use.DATE: SortField.YEAR, Bib1Use.DATE_OF_PUBLICATION: SortField.YEAR,
}
"""Bib-1 Use attributes of a sort key -> the field sorted by (names go through `sort_field`)."""


_DROPPED_NAMES_KEPT = 1000   # names of result sets the set limit dropped, remembered for Bib-1 27

# What a presentResponse holds beside the records themselves, counted against the negotiated
# sizes (records alone let 10,000 JSON records make a 4.5 MB answer past a 4 MB limit).
_PDU_BYTES = 256         # the response's own fields
_ENTRY_BYTES = 40        # tags and lengths of a NamePlusRecord, its EXTERNAL and syntax, beside the name
_SURROGATE_BYTES = 64    # a diagnostic in a record's place


class Handler:
    """Answers the requests of one association over `catalog`."""

    def __init__(self, catalog: Catalog, limits: Limits | None = None,
                 ccl_profile: CclProfile | None = None, *, login_guard: LoginGuard | None = None,
                 client_address: str | None = None) -> None:
        """`login_guard` counts failed logins; pass the worker's one, shared by all its
        connections (a handler's own guard only counts this association). `client_address` is
        the client's host, without port, for the per-address count."""
        self.catalog = catalog
        self.login_guard = login_guard or LoginGuard(LoginPolicy.from_config(catalog.config.server))
        self.client_address = client_address
        self.limits = limits or Limits.from_config(catalog.config.server)
        self.ccl_profile = ccl_profile or CclProfile(catalog.config.ccl or DEFAULT_QUALIFIERS)
        self.association = Association(preferred_message_size=self.limits.max_message_size,
                                       exceptional_record_size=self.limits.max_record_size)
        self._ill: IllService | None = None   # opened by the first ItemOrder
        # this connection's search time in a sliding window (zserver.querytime)
        self.query_time = QueryTime(QueryTimePolicy.from_config(catalog.config.server))
        self._services: dict[type[Pdu], tuple[Callable[[Any], Response],
                                              Callable[[Any, Z3950Diagnostic], Response] | None]] = {
            InitRequest: (self._init, self._init_failure),
            SearchRequest: (self._search, self._search_failure),
            PresentRequest: (self._present, self._present_failure),
            DeleteResultSetRequest: (self._delete, self._delete_failure),
            ScanRequest: (self._scan, self._scan_failure),
            SortRequest: (self._sort, self._sort_failure),
            ExtendedServicesRequest: (self._extended_services, self._extended_services_failure),
            Close: (self._close, None),
        }

    # -- the one place where a peer's mistake becomes an answer --------------------------------
    def handle(self, request: Pdu) -> Response:
        """The response to one request PDU (as `Session.next_event` gives it)."""
        service, failure = self._services[type(request)]
        try:
            if isinstance(request, SearchRequest | ScanRequest | SortRequest):   # they cost search time
                with self.query_time.metered(lambda: self.catalog.work_seconds):
                    response = service(request)
            else:
                response = service(request)
        except _PEER_ERRORS as error:
            if failure is None:
                raise
            response = failure(request, _as_diagnostic(error))
        return _with_reference(request, response)

    def failure(self, request: Pdu, diagnostic: Z3950Diagnostic) -> Response:
        """The failed response to a request, carrying `diagnostic` (used by `zserver.net` for
        an unexpected error: diagnostic 1, permanent system error)."""
        _, failure = self._services[type(request)]
        if failure is None:
            return Response(close_pdu(CloseReason.SYSTEM_PROBLEM, diagnostic.addinfo), "close system problem")
        return _with_reference(request, failure(request, diagnostic))

    def _diag(self, diagnostic: Z3950Diagnostic) -> dict[str, Any]:
        return to_default_diag_format(diagnostic, self.association.version)

    def _diag_summary(self, what: str, diagnostic: Z3950Diagnostic) -> str:
        return f"{what} diag={diagnostic.code}" + (f" ({diagnostic.addinfo})" if diagnostic.addinfo else "")

    # -- Init (3.2.1) ------------------------------------------------------------------------
    def _init(self, request: InitRequest) -> Response:
        association = self.association
        versions = request.protocol_version & {0, 1, 2}
        association.version = max(versions, default=2) + 1
        association.preferred_message_size = max(1, min(request.preferred_message_size,
                                                         self.limits.max_message_size))
        association.exceptional_record_size = max(association.preferred_message_size,
                                                  min(request.exceptional_record_size, self.limits.max_record_size))
        options = request.options & SUPPORTED_OPTIONS
        association.named_result_sets = Option.NAMED_RESULT_SETS in options
        other_info = None
        if Option.NEGOTIATION_MODEL in request.options and self._negotiate_charset(request):
            options |= {Option.NEGOTIATION_MODEL}
            other_info = (charset_response("UTF-8", records_in_selected_charsets=True),)
        association.user = self._authenticate(request.id_authentication)
        summary = f"init user={association.user or '-'} charset={association.charset or '-'}"
        return Response(self._init_response(request, options, True, other_info=other_info), summary)

    def _init_response(self, request: InitRequest, options: frozenset[int], result: bool, *,
                       other_info: tuple[Mapping[str, Any], ...] | None = None,
                       user_information_field: Mapping[str, Any] | None = None) -> InitResponse:
        return InitResponse(
            protocol_version=(request.protocol_version & {0, 1, 2}) or frozenset({2}),
            options=options,
            preferred_message_size=self.association.preferred_message_size,
            exceptional_record_size=self.association.exceptional_record_size,
            result=result,
            implementation_id=IMPLEMENTATION_ID,
            implementation_name=IMPLEMENTATION_NAME,
            implementation_version=_package_version(),
            user_information_field=user_information_field,
            other_info=other_info,
        )

    def _negotiate_charset(self, request: InitRequest) -> bool:
        """Accept UTF-8 when the client proposes it (Negotiation-3); True when answered."""
        try:
            negotiation = charset_negotiation(request.other_info, request.user_information_field)
        except CodecError:
            return False            # a malformed proposal is ignored, as no proposal
        if negotiation is None or negotiation[0] != "proposal":
            return False
        if "UTF-8" not in (name.upper() for name in negotiated_charsets(negotiation)):
            return False
        self.association.charset = "UTF-8"
        return True

    def _authenticate(self, credentials: tuple[str, Any] | None) -> str | None:
        """The user name of valid credentials, None for anonymous; raises 1011 for wrong ones
        and while the name or the client address is locked out after failed logins (`zserver.logins`)."""
        if credentials is None:
            return None
        kind, body = credentials
        if kind == "open":
            user, _, password = body.partition("/")
        elif kind == "idPass":
            user, password = body.user_id or "", body.password or ""
        else:
            return None             # anonymous, or an "other" scheme we do not check
        if not user:
            return None
        if user not in self.catalog.config.users and ill_account_exists(self.catalog.store.db, user):
            self.association.ill_login = (user, password)   # not signed in: ItemOrder checks it
            return None
        try:
            self.login_guard.login(self.catalog.config.users, user, password, self.client_address)
        except LoginRefused as refused:
            code = Bib1Diagnostic.INIT_AC_BLOCKED_NETWORK_ADDRESS if refused.address_blocked \
                else Bib1Diagnostic.INIT_AC_BAD_USERID_OR_PASSWORD
            raise Z3950Diagnostic(code, refused.reason) from None
        return user

    def _init_failure(self, request: InitRequest, diagnostic: Z3950Diagnostic) -> Response:
        response = self._init_response(request, request.options & SUPPORTED_OPTIONS, False,
                                       user_information_field=self._init_diagnostics(diagnostic))
        return Response(response, self._diag_summary("init rejected", diagnostic))

    def _init_diagnostics(self, diagnostic: Z3950Diagnostic) -> dict[str, Any]:
        """userinfo-1 holding a diag-1 DiagnosticFormat, as YAZ's zget_init_diagnostics."""
        diag_1 = [{"diagnostic": ("defaultDiagRec", self._diag(diagnostic))}]
        inner = {"direct-reference": Oid.DIAG1_FORMAT,
                 "encoding": ("single-ASN1-type", encode_type("DiagnosticFormat", diag_1))}
        return external_asn1(USERINFO_1, "OtherInformation",
                             [{"information": ("externallyDefinedInfo", inner)}])

    # -- shared steps ------------------------------------------------------------------------
    def _database(self, names: tuple[str, ...]) -> Database:
        if not names:
            raise Z3950Diagnostic(Bib1Diagnostic.DATABASE_UNAVAILABLE, "no database named")
        if len(names) > 1:
            raise Z3950Diagnostic(Bib1Diagnostic.TOO_MANY_DATABASES, "1")
        try:
            database = self.catalog.database(names[0])
        except UnknownDatabase:
            raise Z3950Diagnostic(Bib1Diagnostic.DATABASE_UNAVAILABLE, names[0]) from None
        if database.restricted and self.association.user is None:
            raise Z3950Diagnostic(Bib1Diagnostic.ACCESS_TO_DATABASE_DENIED, names[0])
        return database

    def _may_create(self, name: str, replace: bool = True) -> None:
        """Raise unless a result set called `name` may be (re)created now (`_keep` keeps it)."""
        sets = self.association.result_sets
        if not self.association.named_result_sets and name != "default":
            raise Z3950Diagnostic(Bib1Diagnostic.RESULT_SET_NAMING_NOT_SUPPORTED, name)
        if not name:
            raise Z3950Diagnostic(Bib1Diagnostic.ILLEGAL_RESULT_SET_NAME, name)
        if name in sets and not replace:
            raise Z3950Diagnostic(Bib1Diagnostic.RESULT_SET_EXISTS_AND_REPLACE_OFF, name)

    def _keep(self, name: str, result: ResultSet) -> None:
        """Keep `result` as set `name`, the most recently used, once it was made: a failed search
        costs no set. As Zebra does, beyond `max_result_sets` the least recently used set makes
        room, so a long yaz-client session (which names every search's set anew) goes on while
        memory stays bounded; its name is kept a while, so using it gets 27 (deleted by the
        target), not 30."""
        sets, dropped = self.association.result_sets, self.association.dropped_result_sets
        sets.pop(name, None)
        dropped.pop(name, None)
        if len(sets) >= self.limits.max_result_sets:
            oldest = next(iter(sets))
            del sets[oldest]
            dropped[oldest] = None
            if len(dropped) > _DROPPED_NAMES_KEPT:
                del dropped[next(iter(dropped))]
        sets[name] = result

    def _named_set(self, name: str) -> ResultSet | None:
        """The result set a query names; None when there is none, Bib-1 27 for one the limit dropped."""
        found = self.association.result_sets.get(name)
        if found is None and name in self.association.dropped_result_sets:
            raise self._missing(name)
        return found

    def _result_set(self, name: str) -> ResultSet:
        sets = self.association.result_sets
        found = sets.pop(name, None)
        if found is None:
            raise self._missing(name)
        sets[name] = found   # now the most recently used
        return found

    def _missing(self, name: str) -> Z3950Diagnostic:
        """Why there is no result set `name`: the limit dropped it (27), or there never was one (30)."""
        if name in self.association.dropped_result_sets:
            return Z3950Diagnostic(Bib1Diagnostic.RESULT_SET_DELETED_BY_TARGET, name)
        return Z3950Diagnostic(Bib1Diagnostic.RESULT_SET_DOES_NOT_EXIST, name)

    def _query(self, query: tuple[str, Any]) -> Node:
        kind, body = query
        if kind in ("type-1", "type-101"):
            return rpn_to_query(rpn_from_asn1(body))
        if kind == "type-2":
            text = body.decode("utf-8") if _is_utf8(body) else body.decode("iso-8859-1")
            # as long as an SRU query may be: a 4 MB one held the parser 25 s and took 1.7 GB
            if len(text) > (longest := self.catalog.config.sru.maximum_query_length):
                raise Z3950Diagnostic(Bib1Diagnostic.TOO_MANY_CHARACTERS_IN_SEARCH, str(longest))
            return rpn_to_query(parse_ccl(text, self.ccl_profile))
        raise Z3950Diagnostic(Bib1Diagnostic.QUERY_TYPE_NOT_SUPPORTED, kind.removeprefix("type-"))

    def _records(self, result: ResultSet, start: int, count: int,
                 how: present.Composition) -> tuple[list[dict[str, Any]], int]:
        """NamePlusRecords for positions start..start+count-1 (1-based, in range) that fit the
        negotiated sizes, and the presentStatus."""
        association = self.association
        database = result.database
        isns = result.isns(start - 1, count)
        # Not signed in: restricted libraries' holdings are left out (index.search)
        titles = self.catalog.shown(self.catalog.records(isns, with_holdings=how.needs_holdings),
                                    signed_in=association.user is not None)
        records: list[dict[str, Any]] = []
        total = _PDU_BYTES
        entry = _ENTRY_BYTES + len(database.name.encode("utf-8"))   # a NamePlusRecord around each record

        def in_place(code: int, addinfo: str) -> None:
            nonlocal total
            records.append(self._surrogate(code, addinfo, database))
            total += entry + _SURROGATE_BYTES

        for isn, title in zip(isns, titles, strict=True):
            if title is None:
                in_place(Bib1Diagnostic.RECORD_DELETED, str(isn))
                continue
            if how.element_set is present.ElementSet.CLUSTER:   # members and why: zserver/cluster_xml.py
                external = present.xml_external(cluster_bytes(self.catalog, title, association.user is not None))
            else:
                external = present.render(title, how, self.catalog.library_names,
                                          self.catalog.view_libraries(database))
            size = present.record_size(external) + entry
            if total + size > association.preferred_message_size:
                if size <= association.preferred_message_size and records:
                    return records, PresentStatus.PARTIAL_2
                if records and total + entry + _SURROGATE_BYTES > association.preferred_message_size:
                    return records, PresentStatus.PARTIAL_2   # not even room for a diagnostic in its place
                if size > association.exceptional_record_size:
                    in_place(Bib1Diagnostic.RECORD_EXCEEDS_MAXIMUM_RECORD_SIZE, str(size))
                    continue
                if count > 1:
                    in_place(Bib1Diagnostic.RECORD_EXCEEDS_PREFERRED_MESSAGE_SIZE, str(size))
                    continue
            records.append(name_plus_record(external, database.name))
            total += size
        return records, PresentStatus.SUCCESS

    def _surrogate(self, code: int, addinfo: str, database: Database) -> dict[str, Any]:
        diagnostic = self._diag(Z3950Diagnostic(code, addinfo))
        return {"name": database.name, "record": ("surrogateDiagnostic", ("defaultFormat", diagnostic))}

    # -- Search (3.2.2) ----------------------------------------------------------------------
    def _search(self, request: SearchRequest) -> Response:
        name = request.result_set_name
        self._may_create(name, request.replace_indicator)
        database = self._database(request.database_names)
        node = self._query(request.query)
        facets = z_facets.requested(request.additional_search_info)
        self.catalog.refresh()
        result = self.catalog.search(node, database, result_sets=self._named_set,
                                     signed_in=self.association.user is not None)
        self._keep(name, result)
        response = z_facets.with_facets(self._piggyback(request, result), facets, self.catalog, result,
                                        signed_in=self.association.user is not None)
        summary = f"search db={database.name} set={name} hits={response.result_count}"
        if response.number_of_records_returned:
            summary += f" records={response.number_of_records_returned}"
        return Response(response, summary)

    def _piggyback(self, request: SearchRequest, result: ResultSet) -> SearchResponse:
        """The search response, with records per small/medium/large set bounds (3.2.2.1.4)."""
        size = result.size
        if size <= request.small_set_upper_bound:
            count, names = size, request.small_set_element_set_names
        elif size >= request.large_set_lower_bound:
            count, names = 0, None
        else:
            count, names = min(request.medium_set_present_number, size), request.medium_set_element_set_names
        if count <= 0:
            return SearchResponse(result_count=size, number_of_records_returned=0,
                                  next_result_set_position=1, search_status=True)
        try:
            how = present.composition(request.preferred_record_syntax, names)
            records, status = self._records(result, 1, count, how)
        except _PEER_ERRORS as error:
            return SearchResponse(result_count=size, number_of_records_returned=0,
                                  next_result_set_position=1, search_status=True,
                                  present_status=PresentStatus.FAILURE,
                                  records=("nonSurrogateDiagnostic", self._diag(_as_diagnostic(error))))
        return SearchResponse(result_count=size, number_of_records_returned=len(records),
                              next_result_set_position=1 + len(records), search_status=True,
                              present_status=status, records=("responseRecords", records))

    def _search_failure(self, request: SearchRequest, diagnostic: Z3950Diagnostic) -> Response:
        response = SearchResponse(result_count=0, number_of_records_returned=0, next_result_set_position=0,
                                  search_status=False, result_set_status=3,   # none
                                  records=("nonSurrogateDiagnostic", self._diag(diagnostic)))
        return Response(response, self._diag_summary("search", diagnostic))

    # -- Present (3.2.3) ---------------------------------------------------------------------
    def _present(self, request: PresentRequest) -> Response:
        name = request.result_set_id
        result = self._result_set(name)
        if request.additional_ranges:
            raise Z3950Diagnostic(Bib1Diagnostic.PRESENT_ADDITIONAL_RANGES_NOT_SUPPORTED)
        how = self._composition(request)
        start, count = request.result_set_start_point, request.number_of_records_requested
        if start < 1 or count < 0 or (count > 0 and start > result.size):
            raise Z3950Diagnostic(Bib1Diagnostic.PRESENT_REQUEST_OUT_OF_RANGE, str(start))
        count = max(0, min(count, result.size - start + 1))
        records, status = self._records(result, start, count, how) if count > 0 else ([], PresentStatus.SUCCESS)
        response = PresentResponse(number_of_records_returned=len(records),
                                   next_result_set_position=start + len(records),
                                   present_status=status, records=("responseRecords", records))
        summary = (f"present set={name} {start}+{count} {how.syntax.value}/{how.element_set.value}"
                   f" returned={len(records)}")
        return Response(response, summary)

    def _composition(self, request: PresentRequest) -> present.Composition:
        composition = request.record_composition
        if composition is None:
            return present.composition(request.preferred_record_syntax, None)
        kind, body = composition
        if kind != "simple":
            raise Z3950Diagnostic(Bib1Diagnostic.PRESENT_COMP_SPEC_NOT_SUPPORTED)
        return present.composition(request.preferred_record_syntax, body)

    def _present_failure(self, request: PresentRequest, diagnostic: Z3950Diagnostic) -> Response:
        response = PresentResponse(number_of_records_returned=0,
                                   next_result_set_position=request.result_set_start_point,
                                   present_status=PresentStatus.FAILURE,
                                   records=("nonSurrogateDiagnostic", self._diag(diagnostic)))
        return Response(response, self._diag_summary("present", diagnostic))

    # -- Delete (3.2.4) ----------------------------------------------------------------------
    def _delete(self, request: DeleteResultSetRequest) -> Response:
        sets, dropped = self.association.result_sets, self.association.dropped_result_sets
        if request.delete_function == 1:    # all
            deleted = len(sets)
            sets.clear()
            dropped.clear()
            return Response(DeleteResultSetResponse(delete_operation_status=0), f"delete all ({deleted})")

        def status(name: str) -> int:   # 0 success, 1 resultSetDidNotExist, 2 previouslyDeletedByTarget
            if sets.pop(name, None) is not None:
                return 0
            if name in dropped:
                del dropped[name]
                return 2
            return 1

        statuses = tuple(ListStatus(name, status(name)) for name in request.result_set_list or ())
        failed = [status.status for status in statuses if status.status != 0]
        overall = 0 if not failed else (failed[0] if len(statuses) == 1 else 9)  # 9: notAllRequested...
        response = DeleteResultSetResponse(delete_operation_status=overall, delete_list_statuses=statuses)
        names = ",".join(status.id for status in statuses)
        return Response(response, f"delete {names} status={overall}")

    def _delete_failure(self, request: DeleteResultSetRequest, diagnostic: Z3950Diagnostic) -> Response:
        response = DeleteResultSetResponse(delete_operation_status=3,
                                           delete_message=f"{diagnostic.code} {diagnostic.addinfo}".strip())
        return Response(response, self._diag_summary("delete", diagnostic))

    # -- Scan (3.2.8.1) ----------------------------------------------------------------------
    def _scan(self, request: ScanRequest) -> Response:
        database = self._database(request.database_names)
        step_size = request.step_size or 0
        if step_size != 0:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_ONLY_ZERO_STEP_SIZE, str(step_size))
        count = request.number_of_terms_requested
        if count < 0:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_MALFORMED, "numberOfTermsRequested")
        if count > MAX_SCAN_TERMS:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_TOO_MANY_TERMS_REQUESTED, str(MAX_SCAN_TERMS))
        position = request.preferred_position_in_response
        if position is None:
            position = 1
        if not 1 <= position <= count + 1:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_POSITION_IN_RESPONSE_UNSUPPORTED, str(position))
        attribute_set = request.attribute_set if request.attribute_set is not None else BIB1_OID
        query = rpn_from_asn1({"attributeSet": attribute_set,
                               "rpn": ("op", ("attrTerm", request.term_list_and_start_point))})
        root = query.root
        assert isinstance(root, AttributesPlusTerm)
        term = term_for(root, query.attribute_set)
        entries: list = []
        found_at = position
        if count > 0:
            self.catalog.refresh()
            try:
                entries, found_at = self.catalog.scan(term.index, term.text, count=count, preferred_position=position,
                                                      signed_in=self.association.user is not None, database=database)
            except UnknownSearchKey:   # searched but not scanned (1=1032, the title number): named as asked
                use = next((a.value for a in root.attributes if a.type == 1 and isinstance(a.value, int | str)),
                           term.index)
                raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE, str(use)) from None
        response = ScanResponse(
            step_size=0, scan_status=0 if len(entries) == count else 5, number_of_entries_returned=len(entries),
            position_of_term=found_at,
            entries={"entries": [
                ("termInfo", {"term": ("general", entry.term.encode("utf-8")), "displayTerm": entry.display,
                              "globalOccurrences": entry.count}) for entry in entries]} if entries else None)
        summary = f"scan db={database.name} {term.index}={term.text!r} entries={len(entries)}"
        return Response(response, summary)

    def _scan_failure(self, request: ScanRequest, diagnostic: Z3950Diagnostic) -> Response:
        response = ScanResponse(step_size=0, scan_status=6, number_of_entries_returned=0,
                                entries={"nonsurrogateDiagnostics": [("defaultFormat", self._diag(diagnostic))]})
        return Response(response, self._diag_summary("scan", diagnostic))

    # -- Sort (3.2.7) ------------------------------------------------------------------------
    def _sort(self, request: SortRequest) -> Response:
        inputs = request.input_result_set_names
        if not inputs:
            raise Z3950Diagnostic(Bib1Diagnostic.SORT_NO_RESULT_SET_NAME)
        if len(inputs) > 1:
            raise Z3950Diagnostic(Bib1Diagnostic.SORT_TOO_MANY_INPUT_RESULTS, "1")
        source = self._result_set(inputs[0])
        target = request.sorted_result_set_name
        self._may_create(target)
        keys = [self._sort_key(spec) for spec in request.sort_sequence]
        if not keys:
            raise Z3950Diagnostic(Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE, "no sort keys")
        if len(keys) > MAX_SORT_KEYS:
            raise Z3950Diagnostic(Bib1Diagnostic.TOO_MANY_SORT_KEYS, str(MAX_SORT_KEYS))
        result = self.catalog.sort(source, keys)
        self._keep(target, result)
        shown = ",".join(("-" if key.descending else "") + key.field.value for key in keys)
        return Response(SortResponse(sort_status=0, result_count=result.size),
                        f"sort {inputs[0]}->{target} by {shown}")

    def _sort_key(self, spec: SortKeySpec) -> SortKey:
        relation = spec.sort_relation
        if relation not in (0, 1):
            raise Z3950Diagnostic(Bib1Diagnostic.ILLEGAL_SORT_RELATION, str(relation))
        missing = spec.missing_value_action
        if missing is not None and missing[0] != "null":
            raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_MISSING_DATA_ACTION, missing[0])
        kind, element = spec.sort_element
        if kind != "generic":
            raise Z3950Diagnostic(Bib1Diagnostic.DATABASE_SPECIFIC_SORT_NOT_SUPPORTED)
        return SortKey(_sort_field(element), relation == 1)

    def _sort_failure(self, request: SortRequest, diagnostic: Z3950Diagnostic) -> Response:
        exists = request.sorted_result_set_name in self.association.result_sets
        response = SortResponse(sort_status=2, result_set_status=3 if exists else 4,   # unchanged / none
                                diagnostics=(("defaultFormat", self._diag(diagnostic)),))
        return Response(response, self._diag_summary("sort", diagnostic))

    # -- Extended Services (3.2.9): not offered ------------------------------------------------
    def _extended_services(self, request: ExtendedServicesRequest) -> Response:
        if request.package_type in UPDATE_PACKAGE_TYPES:   # a library maintains its records (update.py)
            return Response(*answer_update(request, catalog=self.catalog, user=self.association.user))
        if request.package_type != Oid.ES_ITEM_ORDER:
            raise Z3950Diagnostic(Bib1Diagnostic.ES_SERVICE_NOT_SUPPORTED, request.package_type)
        return Response(*answer_item_order(request, service=self._ill_service, credentials=self.association.ill_login,
                                           isn_of=self._isn_of, guard=self.login_guard, address=self.client_address))

    def _ill_service(self) -> IllService:
        if self._ill is None:
            self._ill = IllService(self.catalog.store, self.catalog.config)
        return self._ill

    def _isn_of(self, name: str, item: int) -> int:
        result = self._result_set(name)
        if not 1 <= item <= result.size:
            raise Z3950Diagnostic(Bib1Diagnostic.PRESENT_REQUEST_OUT_OF_RANGE, f"item {item} of {result.size}")
        return result.isns(item - 1, 1)[0]

    def _extended_services_failure(self, request: ExtendedServicesRequest,
                                   diagnostic: Z3950Diagnostic) -> Response:
        response = ExtendedServicesResponse(operation_status=3,
                                            diagnostics=(("defaultFormat", self._diag(diagnostic)),))
        return Response(response, self._diag_summary("es", diagnostic))

    # -- Close (3.2.11) ----------------------------------------------------------------------
    def _close(self, request: Close) -> Response:
        reason = request.close_reason
        self.association.result_sets.clear()
        self.association.dropped_result_sets.clear()
        try:
            shown = CloseReason(reason).name.lower()
        except ValueError:
            shown = str(reason)
        return Response(close_pdu(CloseReason.FINISHED, "Association terminated by client"),
                        f"close by client ({shown})")


def _sort_field(element: tuple[str, Any]) -> SortField:
    """The field sorted by for one `SortKey` CHOICE."""
    kind, body = element
    if kind == "sortfield":
        key = sort_field(body)
        if key is None:
            raise Z3950Diagnostic(Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE, body)
        return key
    if kind != "sortAttributes":
        raise Z3950Diagnostic(Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE, kind)
    if body.id != BIB1_OID:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_SET, body.id)
    shown = []
    for attribute in body.attributes:
        value = attribute.value
        values = value.items if isinstance(value, ComplexValue) else (value,)
        for candidate in values:
            shown.append(f"{attribute.type}={candidate}")
            if attribute.type == 2 and candidate == 102:
                return SortField.RELEVANCE
            if attribute.type != 1:
                continue
            if isinstance(candidate, str):
                key = sort_field(candidate)
            else:
                key = _SORT_USES.get(candidate)
            if key is not None:
                return key
    raise Z3950Diagnostic(Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE, " ".join(shown))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
