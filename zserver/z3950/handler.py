"""Z39.50 requests -> responses over one open catalog, for one association.

This module owns what each service means for unikat (Z39.50-2003 section 3.2): Init (option
and size negotiation, idPass/open authentication against `[users]`, UTF-8 character-set
negotiation), Search (Type-1 and Type-101 RPN, Type-2 CCL; named result sets; piggy-backed
present), Present, Delete result set, Scan, Sort and Close; Extended Services are refused.
`Handler.handle(name, value)` takes a decoded request PDU and returns the response PDU. The
per-association state (user, charset, sizes, result sets) lives in an `Association`.

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
  login: 236 (access to specified database denied). More than one database: 111, addinfo "1".
- Init with a wrong password or an unknown user: result false, diagnostic 1011 in
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

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, NamedTuple

from index.config import ServerConfig
from index.engines.base import SortKey
from index.errors import CatalogError, UnknownDatabase
from index.query import And, AndNot, Node, Or, Prox, Relation, Term
from index.search import Catalog, Database, ResultSet
from zserver.querylang.ccl import DEFAULT_QUALIFIERS, CclProfile, parse_ccl
from zserver.querylang.errors import QueryError
from zserver.querylang.rpn import BIB1_OID, AttributesPlusTerm, rpn_from_asn1
from zserver.z3950 import present
from zserver.z3950.attributes import Bib1Use, rpn_to_query, term_for
from zserver.z3950.codec import CodecError, bit_string, bit_string_positions, encode_type
from zserver.z3950.diagnostics import (
    Bib1Diagnostic,
    Z3950Diagnostic,
    diagnostic_for,
    diagnostic_for_query_error,
    to_default_diag_format,
)
from zserver.z3950.records import (
    Oid,
    charset_response,
    external_asn1,
    find_charset_negotiation,
    name_plus_record,
    negotiated_charsets,
)
from zserver.z3950.session import CloseReason, close_pdu

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
    NAMED_RESULT_SETS = 14
    NEGOTIATION_MODEL = 17


SUPPORTED_OPTIONS = frozenset({Option.SEARCH, Option.PRESENT, Option.DEL_SET, Option.SCAN,
                               Option.SORT, Option.NAMED_RESULT_SETS})


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


class Response(NamedTuple):
    """A response PDU to send, and one line saying what happened (for the log)."""

    name: str
    value: dict[str, Any]
    summary: str


def _as_diagnostic(error: Exception) -> Z3950Diagnostic:
    """The Bib-1 diagnostic of a peer's mistake (the three families handled as answers)."""
    if isinstance(error, Z3950Diagnostic):
        return error
    if isinstance(error, CatalogError):
        return diagnostic_for(error)
    return diagnostic_for_query_error(error)  # type: ignore[arg-type]


_PEER_ERRORS = (Z3950Diagnostic, CatalogError, QueryError)


def _with_reference(request: Mapping[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """The response value with the request's referenceId echoed first (3.4: reference-id)."""
    if "referenceId" in request:
        return {"referenceId": request["referenceId"], **value}
    return value


def _package_version() -> str:
    try:
        return metadata.version("unikat")
    except metadata.PackageNotFoundError:
        return "0"


def _uses_relevance(node: Node) -> bool:
    if isinstance(node, Term):
        return node.relation is Relation.RELEVANCE
    if isinstance(node, And | Or | AndNot | Prox):
        return _uses_relevance(node.left) or _uses_relevance(node.right)
    return False


_SORT_FIELDS = {"title": "title", "author": "author", "year": "year", "date": "year",
                "relevance": "relevance", "score": "relevance", "rank": "relevance"}
_SORT_USES = {Bib1Use.TITLE: "title", Bib1Use.TITLE_UNIFORM: "title", Bib1Use.TITLE_KEY: "title",
              Bib1Use.PERSONAL_NAME: "author", Bib1Use.CORPORATE_NAME: "author",
              Bib1Use.CONFERENCE_NAME: "author", Bib1Use.NAME: "author", Bib1Use.AUTHOR: "author",
              Bib1Use.AUTHOR_NAME_PERSONAL: "author", Bib1Use.AUTHOR_NAME_CORPORATE: "author",
              Bib1Use.AUTHOR_NAME_CONFERENCE: "author", Bib1Use.DATE: "year",
              Bib1Use.DATE_OF_PUBLICATION: "year"}


class Handler:
    """Answers the requests of one association over `catalog`."""

    def __init__(self, catalog: Catalog, limits: Limits | None = None,
                 ccl_profile: CclProfile | None = None) -> None:
        self.catalog = catalog
        self.limits = limits or Limits.from_config(catalog.config.server)
        self.ccl_profile = ccl_profile or CclProfile(catalog.config.ccl or DEFAULT_QUALIFIERS)
        self.association = Association(preferred_message_size=self.limits.max_message_size,
                                       exceptional_record_size=self.limits.max_record_size)
        self._library_names = {code: library.name for code, library in catalog.config.libraries.items()}
        self._services = {
            "initRequest": (self._init, self._init_failure),
            "searchRequest": (self._search, self._search_failure),
            "presentRequest": (self._present, self._present_failure),
            "deleteResultSetRequest": (self._delete, self._delete_failure),
            "scanRequest": (self._scan, self._scan_failure),
            "sortRequest": (self._sort, self._sort_failure),
            "extendedServicesRequest": (self._extended_services, self._extended_services_failure),
            "close": (self._close, None),
        }

    # -- the one place where a peer's mistake becomes an answer --------------------------------
    def handle(self, name: str, value: Mapping[str, Any]) -> Response:
        """The response to one request PDU (`name` as `codec.decode_pdu` gives it)."""
        service, failure = self._services[name]
        try:
            response = service(value)
        except _PEER_ERRORS as error:
            if failure is None:
                raise
            response = failure(value, _as_diagnostic(error))
        return response._replace(value=_with_reference(value, response.value))

    def failure(self, name: str, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        """The failed response to a request, carrying `diagnostic` (used by `zserver.net` for
        an unexpected error: diagnostic 1, permanent system error)."""
        _, failure = self._services[name]
        if failure is None:
            return Response("close", close_pdu(CloseReason.SYSTEM_PROBLEM, diagnostic.addinfo), "close system problem")
        response = failure(value, diagnostic)
        return response._replace(value=_with_reference(value, response.value))

    def _diag(self, diagnostic: Z3950Diagnostic) -> dict[str, Any]:
        return to_default_diag_format(diagnostic, self.association.version)

    def _diag_summary(self, what: str, diagnostic: Z3950Diagnostic) -> str:
        return f"{what} diag={diagnostic.code}" + (f" ({diagnostic.addinfo})" if diagnostic.addinfo else "")

    # -- Init (3.2.1) ------------------------------------------------------------------------
    def _init(self, value: Mapping[str, Any]) -> Response:
        association = self.association
        versions = bit_string_positions(value["protocolVersion"]) & {0, 1, 2}
        association.version = max(versions, default=2) + 1
        association.preferred_message_size = max(1, min(value["preferredMessageSize"],
                                                         self.limits.max_message_size))
        association.exceptional_record_size = max(association.preferred_message_size,
                                                  min(value["exceptionalRecordSize"], self.limits.max_record_size))
        proposed = bit_string_positions(value["options"])
        options = proposed & SUPPORTED_OPTIONS
        association.named_result_sets = Option.NAMED_RESULT_SETS in options
        response = self._init_response(value, options, result=True)
        if Option.NEGOTIATION_MODEL in proposed and self._negotiate_charset(value):
            response["options"] = bit_string(options | {Option.NEGOTIATION_MODEL}, 24)
            response["otherInfo"] = [charset_response("UTF-8", records_in_selected_charsets=True)]
        association.user = self._authenticate(value.get("idAuthentication"))
        summary = f"init user={association.user or '-'} charset={association.charset or '-'}"
        return Response("initResponse", response, summary)

    def _init_response(self, value: Mapping[str, Any], options: set[int] | frozenset[int],
                       result: bool) -> dict[str, Any]:
        versions = bit_string_positions(value["protocolVersion"]) & {0, 1, 2}
        return {
            "protocolVersion": bit_string(versions or {2}, 8),
            "options": bit_string(options, 24),
            "preferredMessageSize": self.association.preferred_message_size,
            "exceptionalRecordSize": self.association.exceptional_record_size,
            "result": result,
            "implementationId": IMPLEMENTATION_ID,
            "implementationName": IMPLEMENTATION_NAME,
            "implementationVersion": _package_version(),
        }

    def _negotiate_charset(self, value: Mapping[str, Any]) -> bool:
        """Accept UTF-8 when the client proposes it (Negotiation-3); True when answered."""
        try:
            negotiation = find_charset_negotiation(value)
        except CodecError:
            return False            # a malformed proposal is ignored, as no proposal
        if negotiation is None or negotiation[0] != "proposal":
            return False
        if "UTF-8" not in (name.upper() for name in negotiated_charsets(negotiation)):
            return False
        self.association.charset = "UTF-8"
        return True

    def _authenticate(self, credentials: tuple[str, Any] | None) -> str | None:
        """The user name of valid credentials, None for anonymous; raises 1011 for wrong ones."""
        if credentials is None:
            return None
        kind, body = credentials
        if kind == "open":
            user, _, password = body.partition("/")
        elif kind == "idPass":
            user, password = body.get("userId", ""), body.get("password", "")
        else:
            return None             # anonymous, or an "other" scheme we do not check
        if not user:
            return None
        users = self.catalog.config.users
        if user not in users or users[user] != password:
            raise Z3950Diagnostic(Bib1Diagnostic.INIT_AC_BAD_USERID_OR_PASSWORD, user)
        return user

    def _init_failure(self, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        response = self._init_response(value, bit_string_positions(value["options"]) & SUPPORTED_OPTIONS, False)
        response["userInformationField"] = self._init_diagnostics(diagnostic)
        return Response("initResponse", response, self._diag_summary("init rejected", diagnostic))

    def _init_diagnostics(self, diagnostic: Z3950Diagnostic) -> dict[str, Any]:
        """userinfo-1 holding a diag-1 DiagnosticFormat, as YAZ's zget_init_diagnostics."""
        diag_1 = [{"diagnostic": ("defaultDiagRec", self._diag(diagnostic))}]
        inner = {"direct-reference": Oid.DIAG1_FORMAT,
                 "encoding": ("single-ASN1-type", encode_type("DiagnosticFormat", diag_1))}
        return external_asn1(USERINFO_1, "OtherInformation",
                             [{"information": ("externallyDefinedInfo", inner)}])

    # -- shared steps ------------------------------------------------------------------------
    def _database(self, names: list[str]) -> Database:
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
        """Raise unless a result set called `name` may be (re)created now."""
        sets = self.association.result_sets
        if not self.association.named_result_sets and name != "default":
            raise Z3950Diagnostic(Bib1Diagnostic.RESULT_SET_NAMING_NOT_SUPPORTED, name)
        if not name:
            raise Z3950Diagnostic(Bib1Diagnostic.ILLEGAL_RESULT_SET_NAME, name)
        if name in sets:
            if not replace:
                raise Z3950Diagnostic(Bib1Diagnostic.RESULT_SET_EXISTS_AND_REPLACE_OFF, name)
        elif len(sets) >= self.limits.max_result_sets:
            # As Zebra does: the least recently used set makes room, so a long yaz-client session
            # (which names every search's set anew) goes on while memory stays bounded.
            del sets[next(iter(sets))]

    def _result_set(self, name: str) -> ResultSet:
        sets = self.association.result_sets
        found = sets.pop(name, None)
        if found is None:
            raise Z3950Diagnostic(Bib1Diagnostic.RESULT_SET_DOES_NOT_EXIST, name)
        sets[name] = found   # now the most recently used
        return found

    def _query(self, query: tuple[str, Any]) -> Node:
        kind, body = query
        if kind in ("type-1", "type-101"):
            return rpn_to_query(rpn_from_asn1(body))
        if kind == "type-2":
            text = body.decode("utf-8") if _is_utf8(body) else body.decode("iso-8859-1")
            return rpn_to_query(parse_ccl(text, self.ccl_profile))
        raise Z3950Diagnostic(Bib1Diagnostic.QUERY_TYPE_NOT_SUPPORTED, kind.removeprefix("type-"))

    def _records(self, result: ResultSet, start: int, count: int,
                 how: present.Composition) -> tuple[list[dict[str, Any]], int]:
        """NamePlusRecords for positions start..start+count-1 (1-based, in range) that fit the
        negotiated sizes, and the presentStatus."""
        association = self.association
        database = result.database
        isns = result.isns(start - 1, count)
        titles = self.catalog.records(isns, with_holdings=how.needs_holdings)
        records: list[dict[str, Any]] = []
        total = 0
        for isn, title in zip(isns, titles, strict=True):
            if title is None:
                records.append(self._surrogate(Bib1Diagnostic.RECORD_DELETED, str(isn), database))
                continue
            external = present.render(title, how, self._library_names, database.library)
            size = present.record_size(external)
            if total + size > association.preferred_message_size:
                if size <= association.preferred_message_size and records:
                    return records, PresentStatus.PARTIAL_2
                if size > association.exceptional_record_size:
                    records.append(self._surrogate(Bib1Diagnostic.RECORD_EXCEEDS_MAXIMUM_RECORD_SIZE,
                                                   str(size), database))
                    continue
                if count > 1:
                    records.append(self._surrogate(Bib1Diagnostic.RECORD_EXCEEDS_PREFERRED_MESSAGE_SIZE,
                                                   str(size), database))
                    continue
            records.append(name_plus_record(external, database.name))
            total += size
        return records, PresentStatus.SUCCESS

    def _surrogate(self, code: int, addinfo: str, database: Database) -> dict[str, Any]:
        diagnostic = self._diag(Z3950Diagnostic(code, addinfo))
        return {"name": database.name, "record": ("surrogateDiagnostic", ("defaultFormat", diagnostic))}

    # -- Search (3.2.2) ----------------------------------------------------------------------
    def _search(self, value: Mapping[str, Any]) -> Response:
        name = value["resultSetName"]
        self._may_create(name, value["replaceIndicator"])
        database = self._database(value["databaseNames"])
        node = self._query(value["query"])
        self.catalog.refresh()
        result = self.catalog.search(node, database, self.association.result_sets,
                                     ranked=_uses_relevance(node))
        self.association.result_sets[name] = result
        response: dict[str, Any] = {"resultCount": result.size, "numberOfRecordsReturned": 0,
                                    "nextResultSetPosition": 1, "searchStatus": True}
        response.update(self._piggyback(value, result))
        summary = f"search db={database.name} set={name} hits={result.size}"
        if response["numberOfRecordsReturned"]:
            summary += f" records={response['numberOfRecordsReturned']}"
        return Response("searchResponse", response, summary)

    def _piggyback(self, value: Mapping[str, Any], result: ResultSet) -> dict[str, Any]:
        """Records for the search response per small/medium/large set bounds (3.2.2.1.4)."""
        if result.size <= value["smallSetUpperBound"]:
            count, names = result.size, value.get("smallSetElementSetNames")
        elif result.size >= value["largeSetLowerBound"]:
            count, names = 0, None
        else:
            count, names = min(value["mediumSetPresentNumber"], result.size), value.get("mediumSetElementSetNames")
        if count <= 0:
            return {}
        try:
            how = present.composition(value.get("preferredRecordSyntax"), names)
            records, status = self._records(result, 1, count, how)
        except _PEER_ERRORS as error:
            return {"presentStatus": PresentStatus.FAILURE,
                    "records": ("nonSurrogateDiagnostic", self._diag(_as_diagnostic(error)))}
        return {"numberOfRecordsReturned": len(records), "nextResultSetPosition": 1 + len(records),
                "presentStatus": status, "records": ("responseRecords", records)}

    def _search_failure(self, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        response = {"resultCount": 0, "numberOfRecordsReturned": 0, "nextResultSetPosition": 0,
                    "searchStatus": False, "resultSetStatus": 3,   # none
                    "records": ("nonSurrogateDiagnostic", self._diag(diagnostic))}
        return Response("searchResponse", response, self._diag_summary("search", diagnostic))

    # -- Present (3.2.3) ---------------------------------------------------------------------
    def _present(self, value: Mapping[str, Any]) -> Response:
        name = value["resultSetId"]
        result = self._result_set(name)
        if value.get("additionalRanges"):
            raise Z3950Diagnostic(Bib1Diagnostic.PRESENT_ADDITIONAL_RANGES_NOT_SUPPORTED)
        how = self._composition(value)
        start, count = value["resultSetStartPoint"], value["numberOfRecordsRequested"]
        if start < 1 or count < 0 or (count > 0 and start > result.size):
            raise Z3950Diagnostic(Bib1Diagnostic.PRESENT_REQUEST_OUT_OF_RANGE, str(start))
        count = max(0, min(count, result.size - start + 1))
        records, status = self._records(result, start, count, how) if count > 0 else ([], PresentStatus.SUCCESS)
        response = {"numberOfRecordsReturned": len(records), "nextResultSetPosition": start + len(records),
                    "presentStatus": status, "records": ("responseRecords", records)}
        summary = (f"present set={name} {start}+{count} {how.syntax.value}/{how.element_set.value}"
                   f" returned={len(records)}")
        return Response("presentResponse", response, summary)

    def _composition(self, value: Mapping[str, Any]) -> present.Composition:
        composition = value.get("recordComposition")
        if composition is None:
            return present.composition(value.get("preferredRecordSyntax"), None)
        kind, body = composition
        if kind != "simple":
            raise Z3950Diagnostic(Bib1Diagnostic.PRESENT_COMP_SPEC_NOT_SUPPORTED)
        return present.composition(value.get("preferredRecordSyntax"), body)

    def _present_failure(self, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        response = {"numberOfRecordsReturned": 0, "nextResultSetPosition": value["resultSetStartPoint"],
                    "presentStatus": PresentStatus.FAILURE,
                    "records": ("nonSurrogateDiagnostic", self._diag(diagnostic))}
        return Response("presentResponse", response, self._diag_summary("present", diagnostic))

    # -- Delete (3.2.4) ----------------------------------------------------------------------
    def _delete(self, value: Mapping[str, Any]) -> Response:
        sets = self.association.result_sets
        if value["deleteFunction"] == 1:    # all
            deleted = len(sets)
            sets.clear()
            return Response("deleteResultSetResponse", {"deleteOperationStatus": 0}, f"delete all ({deleted})")
        statuses = []
        for name in value.get("resultSetList", []):
            statuses.append({"id": name, "status": 0 if sets.pop(name, None) is not None else 1})
        failed = [status["status"] for status in statuses if status["status"] != 0]
        overall = 0 if not failed else (failed[0] if len(statuses) == 1 else 9)  # 9: notAllRequested...
        response = {"deleteOperationStatus": overall, "deleteListStatuses": statuses}
        names = ",".join(status["id"] for status in statuses)
        return Response("deleteResultSetResponse", response, f"delete {names} status={overall}")

    def _delete_failure(self, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        response = {"deleteOperationStatus": 3, "deleteMessage": f"{diagnostic.code} {diagnostic.addinfo}".strip()}
        return Response("deleteResultSetResponse", response, self._diag_summary("delete", diagnostic))

    # -- Scan (3.2.8.1) ----------------------------------------------------------------------
    def _scan(self, value: Mapping[str, Any]) -> Response:
        database = self._database(value["databaseNames"])
        if value.get("stepSize", 0) != 0:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_ONLY_ZERO_STEP_SIZE, str(value["stepSize"]))
        count = value["numberOfTermsRequested"]
        if count < 0:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_MALFORMED, "numberOfTermsRequested")
        if count > MAX_SCAN_TERMS:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_TOO_MANY_TERMS_REQUESTED, str(MAX_SCAN_TERMS))
        position = value.get("preferredPositionInResponse", 1)
        if not 1 <= position <= count + 1:
            raise Z3950Diagnostic(Bib1Diagnostic.SCAN_POSITION_IN_RESPONSE_UNSUPPORTED, str(position))
        query = rpn_from_asn1({"attributeSet": value.get("attributeSet", BIB1_OID),
                               "rpn": ("op", ("attrTerm", value["termListAndStartPoint"]))})
        root = query.root
        assert isinstance(root, AttributesPlusTerm)
        term = term_for(root, query.attribute_set)
        entries: list = []
        found_at = position
        if count > 0:
            self.catalog.refresh()
            entries, found_at = self.catalog.scan(term.index, term.text, count=count, preferred_position=position)
        response: dict[str, Any] = {"stepSize": 0, "scanStatus": 0 if len(entries) == count else 5,
                                    "numberOfEntriesReturned": len(entries), "positionOfTerm": found_at}
        if entries:
            response["entries"] = {"entries": [
                ("termInfo", {"term": ("general", entry.term.encode("utf-8")), "displayTerm": entry.display,
                              "globalOccurrences": entry.count}) for entry in entries]}
        summary = f"scan db={database.name} {term.index}={term.text!r} entries={len(entries)}"
        return Response("scanResponse", response, summary)

    def _scan_failure(self, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        response = {"stepSize": 0, "scanStatus": 6, "numberOfEntriesReturned": 0,
                    "entries": {"nonsurrogateDiagnostics": [("defaultFormat", self._diag(diagnostic))]}}
        return Response("scanResponse", response, self._diag_summary("scan", diagnostic))

    # -- Sort (3.2.7) ------------------------------------------------------------------------
    def _sort(self, value: Mapping[str, Any]) -> Response:
        inputs = value["inputResultSetNames"]
        if not inputs:
            raise Z3950Diagnostic(Bib1Diagnostic.SORT_NO_RESULT_SET_NAME)
        if len(inputs) > 1:
            raise Z3950Diagnostic(Bib1Diagnostic.SORT_TOO_MANY_INPUT_RESULTS, "1")
        source = self._result_set(inputs[0])
        target = value["sortedResultSetName"]
        self._may_create(target)
        keys = [self._sort_key(spec) for spec in value["sortSequence"]]
        if not keys:
            raise Z3950Diagnostic(Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE, "no sort keys")
        if len(keys) > MAX_SORT_KEYS:
            raise Z3950Diagnostic(Bib1Diagnostic.TOO_MANY_SORT_KEYS, str(MAX_SORT_KEYS))
        result = self.catalog.sort(source, keys)
        self.association.result_sets[target] = result
        shown = ",".join(("-" if key.descending else "") + key.field.value for key in keys)
        return Response("sortResponse", {"sortStatus": 0, "resultCount": result.size},
                        f"sort {inputs[0]}->{target} by {shown}")

    def _sort_key(self, spec: Mapping[str, Any]) -> SortKey:
        relation = spec["sortRelation"]
        if relation not in (0, 1):
            raise Z3950Diagnostic(Bib1Diagnostic.ILLEGAL_SORT_RELATION, str(relation))
        missing = spec.get("missingValueAction")
        if missing is not None and missing[0] != "null":
            raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_MISSING_DATA_ACTION, missing[0])
        kind, element = spec["sortElement"]
        if kind != "generic":
            raise Z3950Diagnostic(Bib1Diagnostic.DATABASE_SPECIFIC_SORT_NOT_SUPPORTED)
        return SortKey.named(_sort_field(element), relation == 1)

    def _sort_failure(self, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        exists = value["sortedResultSetName"] in self.association.result_sets
        response = {"sortStatus": 2, "resultSetStatus": 3 if exists else 4,   # unchanged / none
                    "diagnostics": [("defaultFormat", self._diag(diagnostic))]}
        return Response("sortResponse", response, self._diag_summary("sort", diagnostic))

    # -- Extended Services (3.2.9): not offered ------------------------------------------------
    def _extended_services(self, value: Mapping[str, Any]) -> Response:
        raise Z3950Diagnostic(Bib1Diagnostic.ES_SERVICE_NOT_SUPPORTED, value["packageType"])

    def _extended_services_failure(self, value: Mapping[str, Any], diagnostic: Z3950Diagnostic) -> Response:
        response = {"operationStatus": 3, "diagnostics": [("defaultFormat", self._diag(diagnostic))]}
        return Response("extendedServicesResponse", response, self._diag_summary("es", diagnostic))

    # -- Close (3.2.11) ----------------------------------------------------------------------
    def _close(self, value: Mapping[str, Any]) -> Response:
        reason = value["closeReason"]
        self.association.result_sets.clear()
        try:
            shown = CloseReason(reason).name.lower()
        except ValueError:
            shown = str(reason)
        return Response("close", close_pdu(CloseReason.FINISHED, "Association terminated by client"),
                        f"close by client ({shown})")


def _sort_field(element: tuple[str, Any]) -> str:
    """The catalog's sort key for one `SortKey` CHOICE."""
    kind, body = element
    if kind == "sortfield":
        key = _SORT_FIELDS.get(body.strip().lower())
        if key is None:
            raise Z3950Diagnostic(Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE, body)
        return key
    if kind != "sortAttributes":
        raise Z3950Diagnostic(Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE, kind)
    if body["id"] != BIB1_OID:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_SET, body["id"])
    shown = []
    for attribute in body["list"]:
        form, item = attribute["attributeValue"]
        values = [item] if form == "numeric" else [v for _, v in item.get("list", [])]
        for candidate in values:
            shown.append(f"{attribute['attributeType']}={candidate}")
            if attribute["attributeType"] == 2 and candidate == 102:
                return "relevance"
            if attribute["attributeType"] != 1:
                continue
            if isinstance(candidate, str):
                key = _SORT_FIELDS.get(candidate.strip().lower())
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
