"""HTTP on the shared port: SRU at `/<database>`, the web page at `/`, records, static files.

This module owns the HTTP side of the server: `http_site(catalog)` builds the Twisted factory
that `zserver.net.app` hands connections to once their first bytes look like HTTP. The routing
and the limits live in `HttpCore`, a plain object (method, raw URI, body -> status, headers,
body) tested without a reactor. `HttpProtocol` moves bytes: it feeds them to an `httptools`
request parser, hands each complete request to the core and writes the answer itself.
Searching, SRU and HTML are the cores' (`zserver.sru.handler`, `zserver.web.page`).

Why httptools: twisted.web's Site and Request cost about 0.3 ms a request (measured), as
much as a hit-count SRU search itself, for machinery we do not use (resources, sessions,
producers). Parsing HTTP/1.1 safely is the hard part, and not ours to own: httptools wraps
llhttp, the parser of Node.js, which is maintained, fuzzed and strict where request smuggling
hides (Content-Length beside Transfer-Encoding, bad chunk sizes, obsolete line folding, bare
LF line ends). A parser of our own would have to learn those lessons again. What is written
here is only our part: limits, keep-alive, the answer bytes and the access log.

Paths:
    /                      the search page (GET; `?q=...` searches)
    /record/<isn>          a full record
    /static/<name>         CSS and other files of zserver/web/static
    /robots.txt            zserver/web/static/robots.txt: crawlers may read records, not search
    /iso18626              ISO 18626 interlibrary loan messages (POST; zserver.iso18626)
    /order/<isn>, /status  interlibrary loan order form and order status (zserver.web.ill)
    /?q=...&format=json    the web search as brief JSON (zserver.web.briefjson)
    /unapi                 unAPI: formats of a record and the record in each (zserver.web.unapi)
    /opensearch.xml        the OpenSearch description document (zserver.web.opensearch)
    /oai                   OAI-PMH 2.0 (GET, or POST form-encoded): zserver.oai, when [oai] enabled
    /metrics               Prometheus metrics (zserver.metrics), when [metrics] enabled, to its allow list
    /<database>            SRU (GET, or POST form-encoded); no parameters: explain; SRW (SRU
                           in a SOAP 1.1 or 1.2 envelope, POSTed as text/xml or
                           application/soap+xml: yaz-client's default) through zserver.sru.soap

Hostile or broken requests get a 4xx answer with a body saying why, never a traceback:
an address over MAX_URI_BYTES (414), a body over MAX_BODY_BYTES (413, the body is read and
dropped, never kept), parameters that are not UTF-8 or too many (400), a POST that is not
form-encoded nor a SOAP envelope (415; an envelope we cannot serve gets a SOAP Fault), other
methods (405), an unknown database (404, SRU diagnostic 235). SRU
answers are SRU responses with diagnostics; web answers are HTML pages. What cannot be parsed
at all gets a short text answer and the connection is closed: a request target over
MAX_TARGET_BYTES (414), headers over MAX_HEAD_BYTES or MAX_HEADERS (431), anything llhttp
refuses (400). Our own failures are logged with their traceback and answered with status 500
(SRU diagnostic 1). This is the only place in the HTTP path that catches `Exception`.

Logins: HTTP Basic (`Authorization: Basic`) over the `[users]` of unikat.toml, checked by the
worker's `LoginGuard` (so failures count with those of Z39.50 and lock out alike). Wrong or
unreadable credentials are answered 401 at once; a restricted resource asked for without
credentials is answered 401 too (SRU: diagnostic 3; web: a page saying to sign in): with the
union database restricted that is all but explain, static files and robots.txt. Every 401
carries `WWW-Authenticate: Basic realm="<catalog name>"`. Accepted credentials are kept (a
digest of the header, at most MAX_SIGNED_IN) so that a signed-in reader does not pay the
password hash on every request. What a restricted database means: `index.search`.

HTTP/1.1 connections stay open unless the client says `Connection: close`, HTTP/1.0 ones only
with `Connection: keep-alive`; pipelined requests are answered in order, each as soon as it is
complete; `Expect: 100-continue` gets `100 Continue`, or the 413 at once when the declared body
is too large (and then the connection closes: the client may or may not send the body). An
upgrade (`Upgrade:`, CONNECT) is answered as a plain request, then the connection closes.
A connection without a byte for `[server] http_idle_timeout` seconds (IDLE_TIMEOUT by default)
is closed. A request must arrive whole, head and body, within `[server] http_request_timeout`
seconds (REQUEST_TIMEOUT) of its first byte, however steadily its bytes trickle in (slowloris):
else it is answered 408 and the connection closes (closed at once if answers are still waiting
for the client to read them).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

import httptools
from twisted.internet.interfaces import IAddress, IDelayedCall, IPushProducer, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from index.engines.missing import REBUILDING
from index.errors import RecordNotFound, ResourcesExhausted
from index.ill import IllService
from index.kept import KeptAnswers
from index.search import Catalog
from zserver.iso18626 import ISO18626_PATH, Iso18626Core
from zserver.logins import LoginGuard, LoginRefused
from zserver.metrics import Metrics
from zserver.metrics.catalog import CatalogCollector
from zserver.net.log import stderr_log
from zserver.net.sending import send
from zserver.oai import OaiProvider
from zserver.querytime import QueryTimePolicy, QueryTimes
from zserver.sru import soap
from zserver.sru.diagnostics import SruDiagnostic, SruDiagnosticCode
from zserver.sru.handler import SruState, failure, handle
from zserver.sru.request import FormError, decode_form, parse_request, shaping_params
from zserver.web import STATIC_DIR, error_page, record_page, search_page
from zserver.web.answer import WebAnswer
from zserver.web.briefjson import brief_json
from zserver.web.briefjson import error_answer as brief_json_error
from zserver.web.ill import ILL_ROOTS, IllPages
from zserver.web.opensearch import description as opensearch_description
from zserver.web.unapi import unapi

__all__ = ["IDLE_TIMEOUT", "MAX_BODY_BYTES", "MAX_URI_BYTES", "REQUEST_TIMEOUT", "HttpAnswer", "HttpCore",
           "HttpFactory", "HttpProtocol", "http_site"]

_ABSOLUTE_FORM = re.compile(rb"(?i)https?://([^/?#]*)")   # a request target `http://host/unikat?...`

MAX_URI_BYTES = 8192
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 100
MAX_TARGET_BYTES = 16384    # a longer request target is not read on (414, close); HttpCore refuses past MAX_URI_BYTES
MAX_HEAD_BYTES = 16384      # header names and values of one request together (431, close)
MAX_HEADERS = 100
IDLE_TIMEOUT = 120.0        # seconds without a byte from the client (default of http_idle_timeout)
REQUEST_TIMEOUT = 30.0      # seconds from a request's first byte to its last (default of http_request_timeout)
MAX_SIGNED_IN = 256         # accepted Authorization headers remembered, most recent first
_MAX_HEAD_READ = MAX_TARGET_BYTES + MAX_HEAD_BYTES + 1024   # all before the body, with line ends

_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(css|png|svg|ico|txt)")
_STATIC_TYPES = {"css": "text/css; charset=utf-8", "png": "image/png", "svg": "image/svg+xml",
                 "ico": "image/x-icon", "txt": "text/plain; charset=utf-8"}
# first path segments that are no SRU database
_WEB_ROOTS = ("record", "static", "favicon.ico", "robots.txt", "oai", "metrics", "unapi", "opensearch.xml")
_SOAP_TYPES = ("text/xml", "application/soap+xml", "application/xml")   # SRW: SRU in SOAP
_HTML = "text/html; charset=utf-8"
_HTML_HEADERS = (
    ("Content-Type", _HTML),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    ("Referrer-Policy", "same-origin"),
)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class HttpCore:
    """Routing, limits and decoding for every HTTP request; no Twisted in here.

    `clock()` gives the time in seconds for result-set lifetimes. One core (and so one
    set of SRU result sets) serves all connections of one worker process. It also carries
    the `[server]` HTTP timeouts, for the factory that the worker builds over it.
    `login_guard` checks HTTP Basic logins (the worker's, shared with Z39.50; its own if None).
    """

    def __init__(self, catalog: Catalog, *, clock: Callable[[], float] = time.time,
                 login_guard: LoginGuard | None = None) -> None:
        self.catalog = catalog
        self.clock = clock
        self.login_guard = login_guard or LoginGuard()
        self._signed_in: OrderedDict[bytes, str] = OrderedDict()   # digest of an accepted header -> user
        self.sru_settings = catalog.config.sru
        self.sru_state = SruState(self.sru_settings.result_sets)
        # SRU answers that carry a hit count only, by request (GET): such an answer depends on the
        # request and the catalog alone (its result-set id names the search, zserver.sru.handler),
        # and portals ask every target the same "how many?" again and again.
        self.hit_counts: KeptAnswers[HttpAnswer] = KeptAnswers(self.sru_settings.hit_count_answers)
        self.request_timeout = catalog.config.server.http_request_timeout
        self.idle_timeout = catalog.config.server.http_idle_timeout
        self.oai = OaiProvider(catalog, catalog.config.oai, clock=clock)
        self.metrics: Metrics | None = None   # set by the worker when [metrics] is enabled
        self.iso18626 = Iso18626Core(partial(IllService, catalog.store, catalog.config), guard=self.login_guard,
                                     user_libraries=catalog.config.user_libraries)
        self.ill_pages = IllPages(catalog.config.name, self.iso18626.service, self.login_guard)
        self.query_times = QueryTimes(QueryTimePolicy.from_config(catalog.config.server))   # per address

    def respond(self, method: str, uri: bytes, body: bytes = b"", *, address: str | None = None,
                **options) -> HttpAnswer:
        """The answer to one request (`_respond`), its search work charged to `address`."""
        spent, before = self.query_times.of(address), self.catalog.work_seconds
        try:
            return self._respond(method, uri, body, address=address, **options)
        finally:
            spent.charge(self.catalog.work_seconds - before)

    def _respond(self, method: str, uri: bytes, body: bytes = b"", *, content_type: str = "",
                 host: str | None = None, port: int | None = None,
                 body_too_large: bool = False, authorization: str = "", address: str | None = None) -> HttpAnswer:
        """The answer to one request. `uri` is the raw request target (path and query);
        `authorization` the Authorization header, if any; `address` the client's (lockouts). A target
        in absolute form (RFC 9112 3.2.2, as clients of a proxy send it) is taken, its host in
        place of the Host header's."""
        if absolute := _ABSOLUTE_FORM.match(uri):
            named, named_port = _host(absolute[1].decode("latin-1"), None)
            host, port = (named, named_port) if named else (host, port)
            uri = b"/" + uri[absolute.end():].lstrip(b"/")
        raw_path, _, raw_query = uri.partition(b"?")
        raw_path = raw_path.split(b"#")[0]
        try:
            path = unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            path = None
        segments = [s for s in (path or "").split("/") if s]
        sru = path is not None and bool(segments) and segments[0] not in _WEB_ROOTS
        database = "/".join(segments)
        if segments == [ISO18626_PATH]:   # interlibrary loan messages: zserver.iso18626
            return self._iso18626(method, body, body_too_large, authorization, address)
        if segments and segments[0] in ILL_ROOTS:   # order form and order status: zserver.web.ill
            if body_too_large:   # the body was dropped: a form without it would be a wrong login or a lost note
                return HttpAnswer(413, _HTML_HEADERS, error_page(413, f"The form is larger than {MAX_BODY_BYTES}"
                                                                 " bytes: shorten the note.", self.catalog.config.name))
            page = self.ill_pages.respond(method, segments, raw_query, body, content_type, address)
            return HttpAnswer(page.status, _HTML_HEADERS + _allow(page.allow), page.body)

        def refuse(status: int, code: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> HttpAnswer:
            if not segments and path is not None and b"format=json" in raw_query.split(b"&"):   # brief JSON
                return _web(brief_json_error(status, message), headers)
            if sru or path is None:
                form = raw_query + (b"&" + body if content_type.startswith("application/x-www-form") else b"")
                request = parse_request(shaping_params(form), database or self.catalog.config.database)
                answer = failure(request, SruDiagnostic(code, message), status)
                return HttpAnswer(status, (("Content-Type", answer.content_type), *headers), answer.body)
            return HttpAnswer(status, _HTML_HEADERS + headers, error_page(status, message, self.catalog.config.name))

        D = SruDiagnosticCode
        if len(uri) > MAX_URI_BYTES:
            return refuse(414, D.TOO_MANY_CHARACTERS_IN_QUERY, f"the address is longer than {MAX_URI_BYTES} bytes")
        if path is None:
            return refuse(400, D.UNSUPPORTED_PARAMETER_VALUE, "the path is not UTF-8")
        allowed = "GET, HEAD, POST" if sru or segments == ["oai"] else "GET, HEAD"   # OAI-PMH takes POST too
        if method not in allowed.split(", "):
            return refuse(405, D.UNSUPPORTED_OPERATION, f"method {method} not allowed",
                          (("Allow", allowed),))
        if body_too_large:
            return refuse(413, D.TOO_MANY_CHARACTERS_IN_QUERY, f"the body is larger than {MAX_BODY_BYTES} bytes")
        envelope = None
        try:
            params = decode_form(raw_query, max_fields=MAX_FIELDS)
            if method == "POST":
                media = content_type.split(";")[0].strip().lower()
                if sru and media in _SOAP_TYPES:
                    srw = soap.read_envelope(body, max_fields=MAX_FIELDS)
                    envelope, posted = srw.namespace, srw.params
                elif media == "application/x-www-form-urlencoded":
                    posted = decode_form(body, max_fields=MAX_FIELDS)
                else:
                    raise soap.NotSoap(f"the body is {media or 'untyped'}")
                for name, values in posted.items():
                    params.setdefault(name, []).extend(values)
        except FormError as error:
            return refuse(400, D.UNSUPPORTED_PARAMETER_VALUE, str(error))
        except soap.NotSoap as error:
            return refuse(415, D.UNSUPPORTED_PARAMETER_VALUE, "a POST body must be "
                          f"application/x-www-form-urlencoded or a SOAP envelope (SRW): {error}")
        except soap.SoapFault as error:
            status, fault = soap.fault(error.namespace, str(error))
            return HttpAnswer(status, (("Content-Type", soap.content_type(error.namespace)),), fault)

        challenge = (("WWW-Authenticate", f'Basic realm="{_quoted(self.catalog.config.name)}"'),)
        user = None
        if authorization:
            try:
                user = self._user(authorization, address)
            except LoginRefused as refused:
                return refuse(401, D.AUTHENTICATION_ERROR, f"Login refused: {refused.reason}.", challenge)
        self.catalog.refresh()
        searching = params.get("query") or params.get("scanClause") if sru else not segments and params.get("q")
        if self.catalog.index_missing and searching:
            # the index is being built (zserver.net.rebuild): searches wait, the rest is served
            return refuse(503, D.SYSTEM_TEMPORARILY_UNAVAILABLE, f"Temporarily unavailable: {REBUILDING}.",
                          (("Retry-After", "30"),))
        if searching:   # this address's search time (zserver.querytime)
            try:
                self.query_times.of(address).check()
            except ResourcesExhausted as spent:
                wait = math.ceil(max(self.query_times.of(address).retry_after(), 1))
                return refuse(429, D.CANNOT_PROCESS_QUERY, spent.detail, (("Retry-After", str(wait)),))
        if sru:
            kept_as = (uri, user is not None) if method == "GET" else None   # what a hit count depends on
            if kept_as is not None and (kept := self.hit_counts.get(kept_as, self.catalog.generation)) is not None:
                return kept
            request = parse_request(params, database, host=host, port=port, soap=envelope)
            answer = handle(request, self.catalog, self.sru_state, now=self.clock(), settings=self.sru_settings,
                            user=user)
            headers = (("Content-Type", answer.content_type),) + (challenge if answer.status == 401 else ())
            http_answer = HttpAnswer(answer.status, headers, answer.body)
            if kept_as is not None and answer.hit_count_only:
                self.hit_counts.put(kept_as, self.catalog.generation, http_answer)
            return http_answer
        if segments == ["metrics"] and self.metrics is not None:   # Prometheus (zserver.metrics)
            if not self.metrics.allows(address):
                return HttpAnswer(403, (("Content-Type", "text/plain; charset=utf-8"),),
                                  b"Metrics are served only to the addresses in [metrics] allow of unikat.toml.\n")
            content_type, text = self.metrics.exposition([CatalogCollector(self.catalog)])
            return HttpAnswer(200, (("Content-Type", content_type), ("Cache-Control", "no-store")), text)
        if segments == ["oai"] and self.oai.settings.enabled:   # OAI-PMH (zserver.oai)
            base = f"http://{host or 'localhost'}{'' if port in (80, None) else f':{port}'}/oai"
            oai = self.oai.respond(params, base_url=base, user=user)
            return HttpAnswer(oai.status, (("Content-Type", oai.content_type),) + (challenge if oai.status == 401 else ()),
                              oai.body)
        if segments == ["opensearch.xml"]:   # open like explain: it only says how to search
            return _web(opensearch_description(self.catalog.config, host, port))
        if (not segments or segments[0] in ("record", "unapi")) and user is None \
                and self.catalog.database(self.catalog.config.database).restricted:
            return refuse(401, D.AUTHENTICATION_ERROR, "This catalog is open to signed-in users only: "
                          "sign in with your user name and password.", challenge)
        if not segments and params.get("format") == ["json"]:
            return _web(brief_json(params, self.catalog, signed_in=user is not None))
        if segments == ["unapi"]:
            return _web(unapi(params, self.catalog, signed_in=user is not None))
        if not segments:
            return HttpAnswer(200, _HTML_HEADERS, search_page(params, self.catalog, signed_in=user is not None))
        if segments[0] == "record" and len(segments) == 2:
            if not segments[1].isascii() or not segments[1].isdigit() or len(segments[1]) > 12:
                return refuse(404, 0, f"no record {segments[1]!r}")
            try:
                return HttpAnswer(200, _HTML_HEADERS, record_page(int(segments[1]), params, self.catalog,
                                                                  signed_in=user is not None))
            except RecordNotFound:
                return refuse(404, 0, f"There is no record {segments[1]} (it may have been deleted).")
        if segments == ["robots.txt"]:   # crawlers: records yes, searches and SRU no
            return HttpAnswer(200, (("Content-Type", _STATIC_TYPES["txt"]), ("Cache-Control", "public, max-age=86400")),
                              (STATIC_DIR / "robots.txt").read_bytes())
        if segments[0] == "static" and len(segments) == 2:
            match = _STATIC_NAME.fullmatch(segments[1])
            file = STATIC_DIR / segments[1]
            if match and file.is_file():
                return HttpAnswer(200, (("Content-Type", _STATIC_TYPES[match.group(1)]),
                                        ("Cache-Control", "public, max-age=3600")), file.read_bytes())
        return refuse(404, 0, f"nothing at {path}")

    def _user(self, authorization: str, address: str | None) -> str:
        """The user an `Authorization: Basic` header names, its password checked (or kept from
        an earlier check); raises LoginRefused."""
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise LoginRefused(f"{scheme[:20]!r} authentication is not supported, only Basic")
        digest = hashlib.sha256(authorization.strip().encode("utf-8", "surrogateescape")).digest()
        known = self._signed_in.get(digest)
        if known is not None:
            self._signed_in.move_to_end(digest)
            return known
        try:
            user, colon, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise LoginRefused("the Basic credentials are not base64 of UTF-8 user:password") from None
        if not colon:
            raise LoginRefused("the Basic credentials have no password")
        self.login_guard.login(self.catalog.config.users, user, password, address)
        self._signed_in[digest] = user
        if len(self._signed_in) > MAX_SIGNED_IN:
            self._signed_in.popitem(last=False)
        return user

    def _iso18626(self, method: str, body: bytes, body_too_large: bool, authorization: str,
                  address: str | None) -> HttpAnswer:
        challenge = ("WWW-Authenticate", f'Basic realm="{_quoted(self.catalog.config.name)}"')
        try:
            user = self._user(authorization, address) if authorization else None
        except LoginRefused as refused:   # said as the SRU side says it (the reason may be just the name)
            return HttpAnswer(401, (("Content-Type", "text/plain; charset=utf-8"), challenge),
                              f"Login refused: {refused.reason}.\n".encode())
        answer = self.iso18626.http(method, body, body_too_large=body_too_large, staff_user=user, address=address)
        challenged = (challenge,) if answer.status == 401 else ()   # RFC 9110: a 401 says how to log in (staff: Basic)
        return HttpAnswer(answer.status, (("Content-Type", answer.content_type), *challenged, *_allow(answer.allow)),
                          answer.body)

    def internal_error(self, uri: bytes) -> HttpAnswer:
        """The answer when the request failed on our side (the caller logs the traceback)."""
        path = uri.partition(b"?")[0]
        if path.strip(b"/") and not path.startswith((b"/record", b"/static")):
            request = parse_request({}, self.catalog.config.database)
            answer = failure(request, SruDiagnostic(SruDiagnosticCode.GENERAL_SYSTEM_ERROR,
                                                    "internal error; see the server log"), 500)
            return HttpAnswer(500, (("Content-Type", answer.content_type),), answer.body)
        return HttpAnswer(500, _HTML_HEADERS, error_page(500, "Something went wrong on our side.",
                                                         self.catalog.config.name))


# -- the wire --------------------------------------------------------------------------------

@dataclass(slots=True)
class _Message:
    """What the parser has told us so far about one request."""

    method: str = "-"
    version: str = "1.1"
    url: list[bytes] = field(default_factory=list)
    url_size: int = 0
    head_size: int = 0
    headers: int = 0
    head_done: bool = False
    host: str = ""
    content_type: str = ""
    authorization: str = ""
    content_length: int = 0
    expect_continue: bool = False
    body: list[bytes] = field(default_factory=list)
    body_size: int = 0
    body_too_large: bool = False

    def uri(self) -> bytes:
        return b"".join(self.url)


class _Stop(Exception):
    """Raised in a parser callback after the connection's last request: parse no further."""


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}


@implementer(IPushProducer)
class HttpProtocol(Protocol, TimeoutMixin):
    """One HTTP/1.x connection. httptools calls the `on_*` methods while `dataReceived` feeds
    it; each complete request is answered from `on_message_complete`, so pipelined requests
    are answered in order.

    Everything written goes through `_queue`, which writes at once unless the transport's
    buffer is full (it calls `pauseProducing`, as it did for twisted.web's channel): then the
    writes wait, in order, and no more is read until the client has read and the transport
    calls `resumeProducing`. So a client that sends requests without reading the answers makes
    us hold at most one read's worth of requests, never their answers. After the last answer
    (Connection: close, or a refusal) nothing more is read."""

    factory: HttpFactory

    def connectionMade(self) -> None:
        factory = self.factory
        if factory.timer is not None:
            self.callLater = factory.timer.callLater
            self._now = factory.timer.seconds
        else:
            from twisted.internet import reactor
            self._now = reactor.seconds
        self.peer = _peer(self.transport.getPeer())
        self._local = self.transport.getHost()   # once: each call asks the kernel (getsockname)
        self._parser = httptools.HttpRequestParser(self)
        self._message = _Message()
        self._messages = 0
        self._spill = 0
        self._pending: deque[Callable[[], None]] = deque()
        self._paused = False
        self._reading_done = False
        self._closing = False
        self._deadline: IDelayedCall | None = None
        self._request_started: float | None = None
        self.transport.registerProducer(self, True)
        self._metrics = factory.metrics
        if self._metrics is not None:
            self._metrics.opened("http")
        self.setTimeout(factory.idle_timeout)

    def dataReceived(self, data: bytes) -> None:
        if self._reading_done:
            return
        self.resetTimeout()
        self._start_deadline()   # bytes before a request line (blank lines) count as its start
        messages, in_head = self._messages, not self._message.head_done
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if not self._reading_done:   # not our _Stop: a bug in a callback
                self._queue(partial(self._internal_error, self._message, error.__context__ or error), last=True)
        except httptools.HttpParserError as error:
            self._queue(partial(self._refuse, self._message, 400, f"Malformed HTTP request: {error}."), last=True)
        else:
            # httptools gathers a header line itself before on_header: bound a head that
            # keeps growing over several reads here (within one read it is bounded by the read)
            if in_head and messages == self._messages and not self._message.head_done:
                self._spill += len(data)
                if self._spill > _MAX_HEAD_READ:
                    self._queue(partial(self._refuse_head, self._message), last=True)
        if self._pending and not self._closing:
            self.transport.pauseProducing()   # read on when the client has read what waits

    # httptools callbacks, in the order it calls them

    def on_message_begin(self) -> None:
        self._start_deadline()
        self._messages += 1
        self._spill = 0
        self._message = _Message()

    def on_url(self, piece: bytes) -> None:
        message = self._message
        if not message.url:
            message.method = self._parser.get_method().decode("ascii")
        message.url.append(piece)
        message.url_size += len(piece)
        if message.url_size > MAX_TARGET_BYTES:
            self._queue(partial(self._refuse_head, message), last=True)
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        message = self._message
        message.head_size += len(name) + len(value) + 4
        message.headers += 1
        if message.head_size > MAX_HEAD_BYTES or message.headers > MAX_HEADERS:
            self._queue(partial(self._refuse_head, message), last=True)
            raise _Stop
        if message.head_done:   # a trailer after a chunked body: counted, not used
            return
        name = name.lower()
        if name == b"host":
            message.host = value.decode("latin-1")
        elif name == b"content-type":
            message.content_type = value.decode("latin-1")
        elif name == b"authorization":
            message.authorization = value.decode("latin-1")
        elif name == b"content-length":   # llhttp has checked it is digits
            message.content_length = int(value)
        elif name == b"expect":
            message.expect_continue = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        message = self._message
        message.head_done = True
        message.version = self._parser.get_http_version()
        message.body_too_large = message.content_length > MAX_BODY_BYTES
        if message.expect_continue and message.version == "1.1":
            if message.body_too_large:   # refuse before the client sends it (RFC 9110, 10.1.1)
                self._queue(partial(self._answer, message, keep_alive=False), last=True)
                raise _Stop
            self._queue(partial(self.transport.write, _CONTINUE))

    def on_body(self, piece: bytes) -> None:
        message = self._message
        message.body_size += len(piece)
        if message.body_too_large or message.body_size > MAX_BODY_BYTES:
            message.body_too_large = True   # read on and drop, to answer 413 in turn
            message.body.clear()
            return
        message.body.append(piece)

    def on_message_complete(self) -> None:
        self._request_started = None   # the deadline timer, if set, finds no request and lapses
        parser = self._parser
        # an upgrade (h2c, websocket, CONNECT) is answered as a plain request; then we close
        keep_alive = parser.should_keep_alive() and not parser.should_upgrade()
        self._queue(partial(self._answer, self._message, keep_alive=keep_alive), last=not keep_alive)
        if not keep_alive:
            raise _Stop

    # flow control (IPushProducer): the transport calls these as its write buffer fills and drains

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._drain()
        if not self._pending and not self._reading_done:
            self.transport.resumeProducing()

    def stopProducing(self) -> None:
        self._pending.clear()

    def _queue(self, write: Callable[[], None], *, last: bool = False) -> None:
        """Run `write` after what waits before it; `last`: read no more after this request."""
        if last:
            self._reading_done = True
        self._pending.append(write)
        self._drain()

    def _drain(self) -> None:
        while self._pending and not self._paused and not self._closing:
            self._pending.popleft()()

    # answers

    def _answer(self, message: _Message, *, keep_alive: bool) -> None:
        """Answer one complete request through the core (and close unless `keep_alive`)."""
        started = time.perf_counter()
        method, uri = message.method, message.uri()
        try:
            host, port = _host(message.host, self._local)
            # the address on every request: each client's search time is its own, and logins sent
            # in a body (ISO 18626, the order form) are locked out by address as headers are
            answer = self.factory.core.respond(
                "GET" if method == "HEAD" else method, uri,
                b"".join(message.body) if method == "POST" else b"",
                content_type=message.content_type, host=host, port=port,
                body_too_large=message.body_too_large, authorization=message.authorization,
                address=getattr(self.transport.getPeer(), "host", None))
        except Exception:
            self.factory.log(f"{self.peer} internal error in {method} {uri[:500].decode('latin-1')}:\n"
                             f"{traceback.format_exc().rstrip()}")
            answer = self.factory.core.internal_error(uri)
        self._send(message, answer, keep_alive=keep_alive, started=started)

    def _send(self, message: _Message, answer: HttpAnswer, *, keep_alive: bool, started: float) -> None:
        head_only = message.method == "HEAD"
        if not keep_alive:
            connection = b"Connection: close\r\n"
        elif message.version == "1.0":
            connection = b"Connection: keep-alive\r\n"
        else:
            connection = b""
        head = [b"HTTP/1.1 %d %s\r\n" % (answer.status, _REASONS.get(answer.status, b"Unknown")),
                self.factory.date_line(), b"Server: unikat\r\nX-Content-Type-Options: nosniff\r\n"]
        head.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in answer.headers)
        head.append(b"Content-Length: %d\r\n%s\r\n" % (len(answer.body), connection))
        sent = 0 if head_only else len(answer.body)
        elapsed = time.perf_counter() - started
        if self._metrics is not None:
            self._metrics.http(message.uri(), answer.status, answer.body, elapsed)
        # logged before the answer goes out, as Z39.50's: the client woken by the send may run on
        # this core before the send returns, and then nothing of ours is left to wait behind it
        self.factory.log(f"{self.peer} {message.method} {message.uri()[:500].decode('latin-1')} "
                         f"{answer.status} {sent}B {elapsed * 1000:.1f}ms")
        send(self.transport, b"".join(head) if head_only else b"".join(head) + answer.body)
        if not keep_alive:
            self._close()

    def _refuse_head(self, message: _Message) -> None:
        """The request target or the headers are too long: 414 or 431, then close."""
        if message.url_size > MAX_TARGET_BYTES:
            self._refuse(message, 414, f"The request target is longer than {MAX_TARGET_BYTES} bytes.")
        else:
            self._refuse(message, 431, f"The request headers are larger than {MAX_HEAD_BYTES} bytes "
                                       f"or more than {MAX_HEADERS}.")

    def _refuse(self, message: _Message, status: int, text: str) -> None:
        """A request we cannot read: a short text answer, then close."""
        body = (text + "\n").encode("utf-8")
        answer = HttpAnswer(status, (("Content-Type", "text/plain; charset=utf-8"),), body)
        self._send(message, answer, keep_alive=False, started=time.perf_counter())

    def _internal_error(self, message: _Message, error: BaseException) -> None:
        trace = "".join(traceback.format_exception(error)).rstrip()
        self.factory.log(f"{self.peer} internal error reading HTTP:\n{trace}")
        self._send(message, self.factory.core.internal_error(message.uri()), keep_alive=False,
                   started=time.perf_counter())

    # the request deadline: from a request's first byte to its last, whatever the pace between.
    # One lazy timer per connection, not one per request: a request only notes when it started,
    # and the timer, when it fires, lapses (no request), waits on (a later one) or drops it.

    def _start_deadline(self) -> None:
        if self._request_started is None and not self._reading_done:
            self._request_started = self._now()
            if self._deadline is None:
                self._deadline = self.callLater(self.factory.request_timeout, self._request_timed_out)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            if self._deadline.active():
                self._deadline.cancel()
            self._deadline = None

    def _request_timed_out(self) -> None:
        self._deadline = None
        seconds = self.factory.request_timeout
        if self._request_started is None:
            return
        left = self._request_started + seconds - self._now()
        if left > 0:
            self._deadline = self.callLater(left, self._request_timed_out)
            return
        message = self._message
        part = "body" if message.head_done else "headers"
        self.factory.log(f"{self.peer} request {part} not complete within {seconds:g}s: dropped")
        if self._pending or self._paused:   # answers wait for a client that does not read: no 408
            self._close()
            return
        self._queue(partial(self._refuse, message, 408,
                            f"The request did not arrive whole within {seconds:g} seconds."), last=True)

    def _close(self) -> None:
        self._reading_done = self._closing = True
        self._pending.clear()
        self.setTimeout(None)
        self._stop_deadline()
        # We produce nothing more. Still registered, we would keep the connection open for good
        # when our last answer filled the buffer: the transport paused us then, and once that
        # buffer is written it calls a paused producer's resumeProducing instead of closing
        # (twisted.internet.abstract.FileDescriptor.doWrite, and loseConnection's docstring).
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def timeoutConnection(self) -> None:
        self._close()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._reading_done = self._closing = True
        self._pending.clear()
        self.setTimeout(None)
        self._stop_deadline()
        if self._metrics is not None:
            self._metrics.closed("http")


def _web(answer: WebAnswer, headers: tuple[tuple[str, str], ...] = ()) -> HttpAnswer:
    """A non-HTML answer of the web side (JSON, unAPI, OpenSearch) as it goes out."""
    return HttpAnswer(answer.status, (("Content-Type", answer.content_type), *headers), answer.body)


def _quoted(text: str) -> str:
    """`text` inside an HTTP quoted-string (RFC 9110, 5.6.4), latin-1 safe."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.encode("latin-1", "replace").decode("latin-1")


def _allow(methods: str) -> tuple[tuple[str, str], ...]:
    """The Allow header a 405 must carry (RFC 9110 15.5.6), when the answer names the methods."""
    return (("Allow", methods),) if methods else ()


def _peer(address: IAddress) -> str:
    host, port = getattr(address, "host", None), getattr(address, "port", None)
    return f"{host}:{port}" if host is not None else str(address)


def _host(header: str, address: IAddress) -> tuple[str | None, int | None]:
    """Host and port the client addressed (Host header), else the socket's."""
    match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?", header.strip())
    if match:
        return match.group(1), int(match.group(2)) if match.group(2) else 80
    return getattr(address, "host", None), getattr(address, "port", None)


class HttpFactory(Factory):
    """What the HTTP connections of one worker process share: the core (and so the SRU result
    sets), the access log, the timeouts and the `Date` header of the current second.

    The timeouts not given come from the core (`[server] http_idle_timeout` and
    `http_request_timeout`), else IDLE_TIMEOUT and REQUEST_TIMEOUT."""

    protocol = HttpProtocol

    def __init__(self, core: HttpCore, *, log: Callable[[str], None] = stderr_log,
                 timer: IReactorTime | None = None, idle_timeout: float | None = None,
                 request_timeout: float | None = None) -> None:
        self.core = core
        self.log = log
        self.timer = timer
        self.idle_timeout = idle_timeout or getattr(core, "idle_timeout", IDLE_TIMEOUT)
        self.request_timeout = request_timeout or getattr(core, "request_timeout", REQUEST_TIMEOUT)
        self.metrics: Metrics | None = getattr(core, "metrics", None)
        self._date_second = -1
        self._date_line = b""

    def date_line(self) -> bytes:
        """The `Date:` header line (RFC 9110, 6.6.1), formatted once a second."""
        second = int(self.core.clock())
        if second != self._date_second:
            self._date_second = second
            self._date_line = b"Date: %s\r\n" % formatdate(second, usegmt=True).encode("ascii")
        return self._date_line


def http_site(catalog: Catalog, *, clock: Callable[[], float] = time.time,
              log: Callable[[str], None] = stderr_log, timer: IReactorTime | None = None) -> HttpFactory:
    """The factory serving SRU, the web page and static files from `catalog` over HTTP/1.x.
    `clock` gives wall-clock seconds (result-set lifetimes, `Date`); `timer` schedules the idle
    timeout (the global reactor when None); `log` takes the access log and tracebacks."""
    return HttpFactory(HttpCore(catalog, clock=clock), log=log, timer=timer)
