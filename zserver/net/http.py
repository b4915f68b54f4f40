"""HTTP on the shared port: SRU at `/<database>`, the web page at `/`, records, static files.

This module owns the HTTP side of the server: `http_site(catalog)` builds the twisted.web
`Site` that `zserver.net.app` hands connections to once their first bytes look like HTTP.
The routing and the limits live in `HttpCore`, a plain object (method, raw URI, body ->
status, headers, body) tested without a reactor; the Twisted `Resource` only converts a
request, calls the core and writes its answer. Searching, SRU and HTML are the cores'
(`zserver.sru.handler`, `zserver.web.page`).

Paths:
    /                      the search page (GET; `?q=...` searches)
    /record/<isn>          a full record
    /static/<name>         CSS and other files of zserver/web/static
    /<database>            SRU (GET, or POST form-encoded); no parameters: explain

Hostile or broken requests get a 4xx answer with a body saying why, never a traceback:
an address over MAX_URI_BYTES (414), a body over MAX_BODY_BYTES (413), parameters that are
not UTF-8 or too many (400), a POST that is not form-encoded (415), other methods (405), an
unknown database (404, SRU diagnostic 235). SRU answers are SRU responses with diagnostics;
web answers are HTML pages. Our own failures are logged and answered with status 500
(SRU diagnostic 1). This is the only place in the HTTP path that catches `Exception`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from twisted.logger import Logger
from twisted.web import http, resource, server

from index.errors import RecordNotFound
from index.search import Catalog
from zserver.net.log import stderr_log
from zserver.sru.diagnostics import SruDiagnostic, SruDiagnosticCode
from zserver.sru.handler import SruState, failure, handle
from zserver.sru.request import FormError, decode_form, parse_request
from zserver.web import STATIC_DIR, error_page, record_page, search_page

MAX_URI_BYTES = 8192
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 100

_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(css|png|svg|ico|txt)")
_STATIC_TYPES = {"css": "text/css; charset=utf-8", "png": "image/png", "svg": "image/svg+xml",
                 "ico": "image/x-icon", "txt": "text/plain; charset=utf-8"}
_WEB_ROOTS = ("record", "static", "favicon.ico", "robots.txt")
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
    set of SRU result sets) serves all connections of one worker process.
    """

    def __init__(self, catalog: Catalog, *, clock: Callable[[], float] = time.time) -> None:
        self.catalog = catalog
        self.clock = clock
        self.sru_settings = catalog.config.sru
        self.sru_state = SruState(self.sru_settings.result_sets)

    def respond(self, method: str, uri: bytes, body: bytes = b"", *, content_type: str = "",
                host: str | None = None, port: int | None = None,
                body_too_large: bool = False) -> HttpAnswer:
        """The answer to one request. `uri` is the raw request target (path and query)."""
        raw_path, _, raw_query = uri.partition(b"?")
        raw_path = raw_path.split(b"#")[0]
        try:
            path = unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            path = None
        segments = [s for s in (path or "").split("/") if s]
        sru = path is not None and bool(segments) and segments[0] not in _WEB_ROOTS
        database = "/".join(segments)

        def refuse(status: int, code: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> HttpAnswer:
            if sru or path is None:
                request = parse_request({}, database or self.catalog.config.database)
                answer = failure(request, SruDiagnostic(code, message), status)
                return HttpAnswer(status, (("Content-Type", answer.content_type), *headers), answer.body)
            return HttpAnswer(status, _HTML_HEADERS + headers, error_page(status, message, self.catalog.config.name))

        D = SruDiagnosticCode
        if len(uri) > MAX_URI_BYTES:
            return refuse(414, D.TOO_MANY_CHARACTERS_IN_QUERY, f"the address is longer than {MAX_URI_BYTES} bytes")
        if path is None:
            return refuse(400, D.UNSUPPORTED_PARAMETER_VALUE, "the path is not UTF-8")
        allowed = "GET, HEAD, POST" if sru else "GET, HEAD"
        if method not in allowed.split(", "):
            return refuse(405, D.UNSUPPORTED_OPERATION, f"method {method} not allowed",
                          (("Allow", allowed),))
        if body_too_large:
            return refuse(413, D.TOO_MANY_CHARACTERS_IN_QUERY, f"the body is larger than {MAX_BODY_BYTES} bytes")
        try:
            params = decode_form(raw_query, max_fields=MAX_FIELDS)
            if method == "POST":
                if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
                    return refuse(415, D.UNSUPPORTED_PARAMETER_VALUE,
                                  "a POST body must be application/x-www-form-urlencoded")
                for name, values in decode_form(body, max_fields=MAX_FIELDS).items():
                    params.setdefault(name, []).extend(values)
        except FormError as error:
            return refuse(400, D.UNSUPPORTED_PARAMETER_VALUE, str(error))

        self.catalog.refresh()
        if sru:
            request = parse_request(params, database, host=host, port=port)
            answer = handle(request, self.catalog, self.sru_state, now=self.clock(), settings=self.sru_settings)
            return HttpAnswer(answer.status, (("Content-Type", answer.content_type),), answer.body)
        if not segments:
            return HttpAnswer(200, _HTML_HEADERS, search_page(params, self.catalog))
        if segments[0] == "record" and len(segments) == 2:
            if not segments[1].isascii() or not segments[1].isdigit() or len(segments[1]) > 12:
                return refuse(404, 0, f"no record {segments[1]!r}")
            try:
                return HttpAnswer(200, _HTML_HEADERS, record_page(int(segments[1]), params, self.catalog))
            except RecordNotFound:
                return refuse(404, 0, f"There is no record {segments[1]} (it may have been deleted).")
        if segments[0] == "static" and len(segments) == 2:
            match = _STATIC_NAME.fullmatch(segments[1])
            file = STATIC_DIR / segments[1]
            if match and file.is_file():
                return HttpAnswer(200, (("Content-Type", _STATIC_TYPES[match.group(1)]),
                                        ("Cache-Control", "public, max-age=3600")), file.read_bytes())
        return refuse(404, 0, f"nothing at {path}")

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


class _Request(server.Request):
    """A request that stops buffering a body beyond MAX_BODY_BYTES (and notes it), and
    notes when it was complete (for the access log)."""

    body_too_large = False
    _body_size = 0
    started = 0.0

    def process(self) -> None:
        self.started = time.perf_counter()
        super().process()

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > MAX_BODY_BYTES:
            self.body_too_large = True
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        self._body_size += len(data)
        if self.body_too_large or self._body_size > MAX_BODY_BYTES:
            self.body_too_large = True
            return
        super().handleContentChunk(data)


class _Channel(http.HTTPChannel):
    """HTTPChannel answering an over-long request line (414) or header line (431) before it
    closes, where Twisted would close silently."""

    def lineLengthExceeded(self, line: bytes) -> None:
        status = b"414 URI Too Long" if not self._receivedHeaderSize else b"431 Request Header Fields Too Large"
        body = b"The request line or a header line is longer than %d bytes.\n" % self.MAX_LENGTH
        self.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        self.loseConnection()


class HttpResource(resource.Resource):
    """The whole URL space; hands every request to the `HttpCore`."""

    isLeaf = True
    _log = Logger()

    def __init__(self, core: HttpCore) -> None:
        super().__init__()
        self.core = core

    def render(self, request: server.Request) -> bytes:
        try:
            method = request.method.decode("latin-1")
            body = b""
            if request.content is not None and method == "POST":
                request.content.seek(0)
                body = request.content.read(MAX_BODY_BYTES + 1)
            host, port = _host(request)
            answer = self.core.respond(
                "GET" if method == "HEAD" else method, request.uri, body,
                content_type=(request.getHeader(b"content-type") or b"").decode("latin-1"),
                host=host, port=port, body_too_large=getattr(request, "body_too_large", False))
        except Exception:
            self._log.failure("HTTP request {uri!r} failed", uri=request.uri)
            answer = self.core.internal_error(request.uri)
        request.setResponseCode(answer.status)
        for name, value in answer.headers:
            request.setHeader(name, value)
        request.setHeader("X-Content-Type-Options", "nosniff")
        return answer.body


def _host(request: server.Request) -> tuple[str | None, int | None]:
    """Host and port the client addressed (Host header), else the socket's."""
    header = (request.getHeader(b"host") or b"").decode("latin-1").strip()
    match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?", header)
    if match:
        return match.group(1), int(match.group(2)) if match.group(2) else 80
    address = request.getHost()
    return getattr(address, "host", None), getattr(address, "port", None)


class _Site(server.Site):
    """twisted.web's Site, with one access-log line per request in our log format."""

    def __init__(self, root: resource.Resource, log: Callable[[str], None]) -> None:
        super().__init__(root)
        self.access_log = log

    def log(self, request: _Request) -> None:   # twisted.web calls this when a request ends
        address = request.getClientAddress()
        peer = f"{getattr(address, 'host', address)}:{getattr(address, 'port', '')}"
        elapsed = (time.perf_counter() - request.started) * 1000 if request.started else 0.0
        uri = request.uri.decode("latin-1")
        self.access_log(f"{peer} {request.method.decode('latin-1')} {uri[:500]} {request.code} "
                        f"{request.sentLength}B {elapsed:.1f}ms")


def http_site(catalog: Catalog, *, clock: Callable[[], float] = time.time,
              log: Callable[[str], None] = stderr_log) -> server.Site:
    """The twisted.web Site serving SRU, the web page and static files from `catalog`."""
    site = _Site(HttpResource(HttpCore(catalog, clock=clock)), log)
    site.requestFactory = _Request
    site.protocol = _Channel
    site.displayTracebacks = False
    site.timeOut = 120
    return site
