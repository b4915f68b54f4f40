"""The OAI-PMH 2.0 provider: one request's arguments in, the OAI-PMH response document out.

A sans-I/O core like the SRU handler: `OaiProvider.respond(params, base_url=..., user=...)`
gives status, Content-Type and body; `zserver.net.http` routes `/oai` (GET and POST) to it.

- Items are the catalog's titles (authority records are not harvested), identified as
  `oai:<repositoryIdentifier>:<ISN>`; datestamps are the store's change times, to the second
  (granularity YYYY-MM-DDThh:mm:ssZ; from/until may also be given as days).
- Formats: `zserver.oai.formats` (marc21, oai_dc), rendered by the SRU record schemas.
- Sets: one per library database (holding library), setSpec the library code with any
  character a setSpec may not carry written `~XX` (UTF-8 bytes in hex). A library's set is
  the titles it holds, a virtual library's (LFER) those its rule built holdings for; a title
  whose rule-built holdings change gets a new datestamp. A restricted library's set is neither listed nor harvested by a client
  not signed in, and its holdings are left out of what is shown (`Catalog.shown`); with the
  union database restricted, /oai answers HTTP 401 without a login, as SRU does.
- Deleted titles are kept for ever (`deletedRecord` persistent): `status="deleted"` headers at
  the time of deletion. A set harvest lists every deletion, since what held a deleted title is
  no longer known; a title that merely leaves a library's set is not reported to that set.
- Lists come `[oai] page_size` at a time with resumption tokens that carry their position
  (`zserver.oai.tokens`), valid `[oai] token_lifetime` seconds, in any worker, after a restart.
- Errors are OAI-PMH errors with HTTP 200: badVerb, badArgument (unknown, repeated or missing
  arguments, bad dates, an unknown set), cannotDisseminateFormat, idDoesNotExist,
  noRecordsMatch, badResumptionToken, noSetHierarchy (a catalog without libraries).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from lxml import etree

from index.config import OaiConfig
from index.search import Catalog, Database
from index.store import changes as store_changes
from index.store.changes import START, Change
from zserver.oai import tokens
from zserver.oai.formats import FORMATS, MetadataFormat, find_format
from zserver.sru.response import xml_text

__all__ = ["OAI_NS", "OaiAnswer", "OaiProvider", "set_spec"]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA_LOCATION = f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
_IDENTIFIER_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
_IDENTIFIER_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
_Q = f"{{{OAI_NS}}}"
CONTENT_TYPE = "text/xml; charset=utf-8"

_LIST_ARGUMENTS = frozenset({"metadataPrefix", "from", "until", "set"})
_ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {   # verb -> (required, optional)
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset()),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), _LIST_ARGUMENTS - {"metadataPrefix"}),
    "ListRecords": (frozenset({"metadataPrefix"}), _LIST_ARGUMENTS - {"metadataPrefix"}),
}
_RESUMABLE = frozenset({"ListSets", "ListIdentifiers", "ListRecords"})
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z")
_SET_SAFE = re.compile(r"[A-Za-z0-9\-_.!*'()]")
_PREFIX_SYNTAX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_SET_SYNTAX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")   # what XML 1.0 cannot carry


@dataclass(frozen=True)
class OaiAnswer:
    status: int
    content_type: str
    body: bytes


class OaiError(Exception):
    """An OAI-PMH error condition: `code` as the protocol names it, and why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def set_spec(library: str) -> str:
    """The setSpec of a library's set: its code, with characters a setSpec cannot carry as ~XX."""
    return "".join(char if _SET_SAFE.fullmatch(char) else "".join(f"~{byte:02X}" for byte in char.encode())
                   for char in library)


def oai_time(store_time: str) -> str:
    """A store time (`YYYY-MM-DD HH:MM:SS`) as an OAI-PMH UTC datestamp."""
    return store_time.replace(" ", "T") + "Z"


def _store_time(value: str, *, end: bool) -> tuple[str, str]:
    """(store time, granularity) of a from/until argument; the end of a day for `until`."""
    match = _SECOND.fullmatch(value)
    day, clock, granularity = ((match.group(1), match.group(2), "second") if match else
                               (value, "23:59:59" if end else "00:00:00", "day"))
    if match is None and not _DAY.fullmatch(value):
        raise OaiError("badArgument", f"{value!r} is not a UTC datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
    try:
        datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise OaiError("badArgument", f"{value!r} is not a date that exists") from None
    return f"{day} {clock}", granularity


class OaiProvider:
    """OAI-PMH over one open catalog; `clock` gives Unix seconds (responseDate, token ages)."""

    def __init__(self, catalog: Catalog, settings: OaiConfig, *, clock=time.time) -> None:
        self.catalog = catalog
        self.settings = settings
        self.clock = clock
        self._indexed = False

    def respond(self, params: Mapping[str, Sequence[str]], *, base_url: str, user: str | None = None) -> OaiAnswer:
        """The answer to one request; `params` are its arguments (query string and form body),
        `user` the signed-in user or None."""
        if self.catalog.database(self.catalog.config.database).restricted and user is None:
            return OaiAnswer(401, "text/plain; charset=utf-8",
                             b"This catalog is open to signed-in users only: sign in with your user name and password.\n")
        self._ensure_indexes()
        base_url = self.settings.base_url or base_url
        root = etree.Element(_Q + "OAI-PMH", nsmap={None: OAI_NS, "xsi": _XSI_NS})
        root.set(f"{{{_XSI_NS}}}schemaLocation", _SCHEMA_LOCATION)
        etree.SubElement(root, _Q + "responseDate").text = _now(self.clock())
        request = etree.SubElement(root, _Q + "request")
        request.text = base_url
        try:
            verb, arguments = _arguments(params)
            for name, value in sorted(arguments.items()):   # echoed only when they are good ones
                request.set(name, value)
            request.set("verb", verb)
            root.append(getattr(self, "_" + verb)(arguments, base_url, self.catalog.hidden_libraries(user is not None)))
        except OaiError as error:
            if error.code in ("badVerb", "badArgument"):
                request.attrib.clear()
            etree.SubElement(root, _Q + "error", code=error.code).text = str(error)
        return OaiAnswer(200, CONTENT_TYPE, b'<?xml version="1.0" encoding="UTF-8"?>\n'
                         + etree.tostring(root, encoding="utf-8"))

    def _ensure_indexes(self) -> None:
        if not self._indexed:
            try:
                store_changes.ensure_indexes(self.catalog.store)
                self._indexed = True
            except sqlite3.OperationalError:   # a load holds the store: lists sort instead, try again later
                pass

    # -- the verbs ---------------------------------------------------------------------------

    def _Identify(self, arguments: dict[str, str], base_url: str, hidden: frozenset[str]) -> etree._Element:
        settings = self.settings
        element = etree.Element(_Q + "Identify")
        earliest = store_changes.earliest_change(self.catalog.store)
        for name, value in (("repositoryName", self.catalog.config.name), ("baseURL", base_url),
                            ("protocolVersion", "2.0"), ("adminEmail", settings.admin_email),
                            ("earliestDatestamp", oai_time(earliest) if earliest else _now(self.clock())),
                            ("deletedRecord", "persistent"), ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
            etree.SubElement(element, _Q + name).text = value
        description = etree.SubElement(element, _Q + "description")
        q = f"{{{_IDENTIFIER_NS}}}"
        identifier = etree.SubElement(description, q + "oai-identifier", nsmap={None: _IDENTIFIER_NS})
        identifier.set(f"{{{_XSI_NS}}}schemaLocation", f"{_IDENTIFIER_NS} {_IDENTIFIER_SCHEMA}")
        for name, value in (("scheme", "oai"), ("repositoryIdentifier", settings.repository_identifier),
                            ("delimiter", ":"), ("sampleIdentifier", self._identifier(1))):
            etree.SubElement(identifier, q + name).text = value
        return element

    def _ListMetadataFormats(self, arguments: dict[str, str], base_url: str, hidden: frozenset[str]) -> etree._Element:
        if "identifier" in arguments:
            self._change(arguments["identifier"])   # idDoesNotExist; every title is in every format
        element = etree.Element(_Q + "ListMetadataFormats")
        for candidate in FORMATS:
            item = etree.SubElement(element, _Q + "metadataFormat")
            for name, value in (("metadataPrefix", candidate.prefix), ("schema", candidate.schema),
                                ("metadataNamespace", candidate.namespace)):
                etree.SubElement(item, _Q + name).text = value
        return element

    def _ListSets(self, arguments: dict[str, str], base_url: str, hidden: frozenset[str]) -> etree._Element:
        if "resumptionToken" in arguments:
            raise OaiError("badResumptionToken", "ListSets is answered in one piece: there are no tokens to resume")
        databases = self._sets(hidden)
        if not databases:
            raise OaiError("noSetHierarchy", "this catalog has no libraries, so no sets")
        names = self.catalog.library_names
        element = etree.Element(_Q + "ListSets")
        for database in databases:
            item = etree.SubElement(element, _Q + "set")
            etree.SubElement(item, _Q + "setSpec").text = set_spec(database.library)
            etree.SubElement(item, _Q + "setName").text = xml_text(names.get(database.library, database.library))
        return element

    def _GetRecord(self, arguments: dict[str, str], base_url: str, hidden: frozenset[str]) -> etree._Element:
        metadata_format = self._format(arguments["metadataPrefix"])
        change = self._change(arguments["identifier"])
        element = etree.Element(_Q + "GetRecord")
        element.extend(self._records([change], metadata_format, hidden))
        if not len(element):   # deleted between the two look-ups
            element.append(self._record(replace(change, deleted=True), None, metadata_format, ()))
        return element

    def _ListIdentifiers(self, arguments: dict[str, str], base_url: str, hidden: frozenset[str]) -> etree._Element:
        return self._list("ListIdentifiers", arguments, hidden)

    def _ListRecords(self, arguments: dict[str, str], base_url: str, hidden: frozenset[str]) -> etree._Element:
        return self._list("ListRecords", arguments, hidden)

    # -- lists -------------------------------------------------------------------------------

    def _list(self, verb: str, arguments: dict[str, str], hidden: frozenset[str]) -> etree._Element:
        now = self.clock()
        settings = self.settings
        key = settings.repository_identifier
        if "resumptionToken" in arguments:
            try:
                state = tokens.decode(arguments["resumptionToken"], key, now=now, lifetime=settings.token_lifetime)
            except tokens.BadToken as error:
                raise OaiError("badResumptionToken", str(error)) from None
            if state.verb != verb:
                raise OaiError("badResumptionToken", f"the resumptionToken continues a {state.verb}, not a {verb}")
        else:
            since, since_granularity = _store_time(arguments["from"], end=False) if "from" in arguments else ("", "")
            until, until_granularity = _store_time(arguments["until"], end=True) if "until" in arguments else ("", "")
            if since and until and since_granularity != until_granularity:
                raise OaiError("badArgument", "from and until must have the same granularity")
            if since and until and since > until:
                raise OaiError("badArgument", "from is later than until")
            state = tokens.ListState(verb, arguments["metadataPrefix"], arguments.get("set", ""), since, until,
                                     START, 0, int(now))
        metadata_format = self._format(state.prefix)
        library = self._library(state.set_spec, hidden) if state.set_spec else None
        page = store_changes.changes(self.catalog.store, after=state.after, since=state.since, until=state.until,
                                     library=library, limit=settings.page_size + 1)
        more = len(page) > settings.page_size
        page = page[:settings.page_size]
        if not page:
            raise OaiError("noRecordsMatch", "no titles changed in that time" + (" in that set" if library else ""))
        element = etree.Element(_Q + verb)
        if verb == "ListRecords":
            element.extend(self._records(page, metadata_format, hidden))
        else:
            held = store_changes.libraries_of(self.catalog.store, [c.isn for c in page if not c.deleted])
            element.extend(self._header(change, held.get(change.isn, ()), hidden) for change in page)
        if more or state.cursor:
            token = etree.SubElement(element, _Q + "resumptionToken", cursor=str(state.cursor))
            if more:
                following = replace(state, after=page[-1].position, cursor=state.cursor + len(page), issued=int(now))
                token.text = tokens.encode(following, key)
                token.set("expirationDate", _now(now + settings.token_lifetime))
        return element

    # -- records -----------------------------------------------------------------------------

    def _records(self, page: Sequence[Change], metadata_format: MetadataFormat,
                 hidden: frozenset[str]) -> list[etree._Element]:
        """`<record>`s of `page`; a title deleted since it was listed is left out (its deletion
        comes later in the list)."""
        live = [change.isn for change in page if not change.deleted]
        titles = self.catalog.shown(self.catalog.records(live, with_holdings=True), signed_in=not hidden)
        by_isn = {title.isn: title for title in titles if title is not None}
        records = []
        for change in page:
            title = by_isn.get(change.isn)
            if change.deleted:
                records.append(self._record(change, None, metadata_format, ()))
            elif title is not None:
                libraries = sorted({holding.library for holding in title.holdings})
                records.append(self._record(change, title, metadata_format, libraries))
        return records

    def _record(self, change: Change, title, metadata_format: MetadataFormat, libraries) -> etree._Element:
        record = etree.Element(_Q + "record")
        record.append(self._header(change, libraries, frozenset()))
        if title is not None:
            metadata = etree.SubElement(record, _Q + "metadata")
            metadata.append(metadata_format.render(title, self.catalog.library_names))
        return record

    def _header(self, change: Change, libraries, hidden: frozenset[str]) -> etree._Element:
        header = etree.Element(_Q + "header")
        if change.deleted:
            header.set("status", "deleted")
        etree.SubElement(header, _Q + "identifier").text = self._identifier(change.isn)
        etree.SubElement(header, _Q + "datestamp").text = oai_time(change.time)
        for library in libraries:
            if library not in hidden:
                etree.SubElement(header, _Q + "setSpec").text = set_spec(library)
        return header

    # -- arguments -----------------------------------------------------------------------------

    def _identifier(self, isn: int) -> str:
        return f"oai:{self.settings.repository_identifier}:{isn}"

    def _change(self, identifier: str) -> Change:
        """The last change of the title `identifier` names; idDoesNotExist otherwise."""
        prefix = f"oai:{self.settings.repository_identifier}:"
        number = identifier[len(prefix):] if identifier.startswith(prefix) else ""
        change = (store_changes.change_of(self.catalog.store, int(number))
                  if number.isascii() and number.isdigit() and len(number) <= 12 else None)
        if change is None:
            raise OaiError("idDoesNotExist", f"{identifier!r} is not an identifier of this repository"
                           if not number else f"there is no item {identifier!r}")
        return change

    def _format(self, prefix: str) -> MetadataFormat:
        found = find_format(prefix)
        if found is None:
            raise OaiError("cannotDisseminateFormat", f"no metadata format {prefix!r} (there are "
                           + ", ".join(candidate.prefix for candidate in FORMATS) + ")")
        return found

    def _sets(self, hidden: frozenset[str]) -> list[Database]:
        return [database for database in self.catalog.databases()
                if database.library is not None and database.library not in hidden]

    def _library(self, spec: str, hidden: frozenset[str]) -> str:
        for database in self.catalog.databases():
            if database.library is not None and set_spec(database.library) == spec:
                if database.library in hidden:
                    raise OaiError("badArgument", f"set {spec!r} is open to signed-in users only")
                return database.library
        raise OaiError("badArgument", f"there is no set {spec!r} (ListSets lists them)")


def _arguments(params: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, str]]:
    """(verb, the other arguments) of a request that names a verb and only its arguments, each
    once; badVerb or badArgument otherwise."""
    verbs = params.get("verb", ())
    if len(verbs) != 1:
        raise OaiError("badVerb", "the verb is missing" if not verbs else "the verb is given more than once")
    verb = verbs[0]
    if verb not in _ARGUMENTS:
        raise OaiError("badVerb", f"{verb!r} is not an OAI-PMH verb (" + ", ".join(_ARGUMENTS) + ")")
    required, optional = _ARGUMENTS[verb]
    allowed = required | optional | ({"resumptionToken"} if verb in _RESUMABLE else set())
    arguments: dict[str, str] = {}
    for name, values in params.items():
        if name == "verb":
            continue
        if name not in allowed:
            raise OaiError("badArgument", f"{verb} takes no argument {name!r}")
        if len(values) != 1:
            raise OaiError("badArgument", f"{name} is given more than once")
        if _NOT_XML.search(values[0]):   # arguments are echoed in the response: a control character cannot be
            raise OaiError("badArgument", f"{name} has a character XML cannot carry: {values[0]!r}")
        arguments[name] = values[0]
    for name, syntax in (("metadataPrefix", _PREFIX_SYNTAX), ("set", _SET_SYNTAX)):
        if name in arguments and not syntax.fullmatch(arguments[name]):
            raise OaiError("badArgument", f"{arguments[name]!r} is not a {name} (see OAI-PMH 2.0, section 3.4)")
    if "resumptionToken" in arguments:
        if len(arguments) > 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument: send it alone with the verb")
        return verb, arguments
    missing = sorted(required - arguments.keys())
    if missing:
        raise OaiError("badArgument", f"{verb} needs " + " and ".join(missing))
    return verb, arguments


def _now(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


