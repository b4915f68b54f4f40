"""Wiring of HttpProtocol: bytes in and out through StringTransport, time through task.Clock.

A recording core stands in for HttpCore here (it answers with what it was given), so these
tests see exactly what the protocol hands over and what it writes; routing and SRU are
test_web_http.py's. One test at the end runs the real core over the sample catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import httptools
import pytest
from lxml import etree
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from index.config import ConfigError, parse_config
from index.search import Catalog
from zserver.net.http import (
    IDLE_TIMEOUT,
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_TARGET_BYTES,
    REQUEST_TIMEOUT,
    HttpAnswer,
    HttpFactory,
    http_site,
)

PEER = IPv4Address("TCP", "127.0.0.1", 40000)
HOST = IPv4Address("TCP", "127.0.0.1", 2100)


@dataclass
class Call:
    method: str
    uri: bytes
    body: bytes
    content_type: str
    host: str | None
    port: int | None
    body_too_large: bool
    address: str | None = None


class RecordingCore:
    """Answers 200 with the request target as body (and `X-Body` with the body it got);
    `/fail` raises, as a bug of ours would."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.clock = lambda: 1_700_000_000.0

    def respond(self, method: str, uri: bytes, body: bytes = b"", *, content_type: str = "",
                host: str | None = None, port: int | None = None, body_too_large: bool = False,
                authorization: str = "", address: str | None = None) -> HttpAnswer:
        self.calls.append(Call(method, uri, body, content_type, host, port, body_too_large, address))
        if uri == b"/fail":
            raise RuntimeError("a bug")
        status = 413 if body_too_large else 200
        return HttpAnswer(status, (("Content-Type", "text/plain"), ("X-Body", body.decode("latin-1"))), uri)

    def internal_error(self, uri: bytes) -> HttpAnswer:
        return HttpAnswer(500, (("Content-Type", "text/plain"),), b"internal error")


class Connection:
    """One protocol on a StringTransport (or `transport`); `send` feeds bytes in pieces of `chunk`."""

    def __init__(self, core=None, chunk: int | None = None, transport=StringTransport) -> None:
        self.core = core or RecordingCore()
        self.lines: list[str] = []
        self.clock = Clock()
        self.factory = HttpFactory(self.core, log=self.lines.append, timer=self.clock)
        self.protocol = self.factory.buildProtocol(PEER)
        self.transport = transport(hostAddress=HOST, peerAddress=PEER)
        self.protocol.makeConnection(self.transport)
        self.chunk = chunk

    def send(self, data: bytes) -> None:
        step = self.chunk or len(data) or 1
        for start in range(0, len(data), step):
            self.protocol.dataReceived(data[start:start + step])

    def answers(self) -> list[Answer]:
        """Every answer written so far (parsed with httptools), the transport emptied."""
        data = self.transport.value()
        self.transport.clear()
        return parse_answers(data)

    @property
    def closed(self) -> bool:
        return self.transport.disconnecting


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def parse_answers(data: bytes) -> list[Answer]:
    found: list[Answer] = []

    class Collector:
        def on_message_begin(self) -> None:
            found.append(Answer(0, {}, b""))

        def on_header(self, name: bytes, value: bytes) -> None:
            found[-1].headers[name.decode().lower()] = value.decode("latin-1")

        def on_body(self, body: bytes) -> None:
            found[-1].body += body

        def on_message_complete(self) -> None:
            found[-1].status = parser.get_status_code()

    parser = httptools.HttpResponseParser(Collector())
    parser.feed_data(data)
    return found


def get(target: str, *headers: str, version: str = "1.1") -> bytes:
    lines = [f"GET {target} HTTP/{version}", "Host: example.org:8080", *headers, "", ""]
    return "\r\n".join(lines).encode()


def post(target: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: x", "Content-Type: application/x-www-form-urlencoded",
             *headers, "", ""]
    return "\r\n".join(lines).encode() + body


CHUNKS = [None, 1, 7, 100]


# --- keep-alive and pipelining -------------------------------------------------------------

@pytest.mark.parametrize("chunk", CHUNKS)
def test_keep_alive_and_pipelining(chunk) -> None:
    connection = Connection(chunk=chunk)
    connection.send(get("/a") + get("/b?x=1") + get("/c"))
    answers = connection.answers()
    assert [(a.status, a.body) for a in answers] == [(200, b"/a"), (200, b"/b?x=1"), (200, b"/c")]
    assert not connection.closed
    assert all("connection" not in a.headers for a in answers)
    connection.send(get("/d"))
    assert [a.body for a in connection.answers()] == [b"/d"]
    assert [c.host for c in connection.core.calls] == ["example.org"] * 4
    assert {c.port for c in connection.core.calls} == {8080}


def test_every_answer_has_our_headers() -> None:
    connection = Connection()
    connection.send(get("/a"))
    (answer,) = connection.answers()
    assert answer.headers["content-length"] == "2"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["server"] == "unikat"
    assert answer.headers["date"] == "Tue, 14 Nov 2023 22:13:20 GMT"


def test_connection_close_ends_after_the_answer() -> None:
    connection = Connection()
    connection.send(get("/a", "Connection: close") + get("/b"))
    (answer,) = connection.answers()
    assert answer.body == b"/a" and answer.headers["connection"] == "close"
    assert connection.closed and len(connection.core.calls) == 1
    connection.send(get("/c"))
    assert connection.answers() == [] and len(connection.core.calls) == 1


def test_http_1_0() -> None:
    connection = Connection()
    connection.send(get("/a", version="1.0"))
    (answer,) = connection.answers()
    assert answer.headers["connection"] == "close" and connection.closed

    connection = Connection()
    connection.send(get("/a", "Connection: keep-alive", version="1.0") + get("/b", "Connection: keep-alive", version="1.0"))
    answers = connection.answers()
    assert [a.body for a in answers] == [b"/a", b"/b"]
    assert all(a.headers["connection"] == "keep-alive" for a in answers) and not connection.closed


def test_every_request_names_its_client_address() -> None:
    # without credentials too: all anonymous clients had shared one search-time account, and a
    # login in a body (ISO 18626, the order form) had escaped the lockout by address
    connection = Connection()
    connection.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    assert connection.core.calls[0].address == "127.0.0.1"


def test_no_host_header_gives_the_socket_address() -> None:
    connection = Connection()
    connection.send(b"GET /a HTTP/1.0\r\n\r\n")
    assert (connection.core.calls[0].host, connection.core.calls[0].port) == ("127.0.0.1", 2100)


# --- HEAD and bodies -----------------------------------------------------------------------

def test_head_sends_the_length_but_no_body() -> None:
    connection = Connection()
    connection.send(b"HEAD /abc HTTP/1.1\r\nHost: x\r\n\r\n" + get("/d"))
    data = connection.transport.value()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\nContent-Length: 4")
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"\r\n\r\n/d")
    assert connection.core.calls[0].method == "GET"
    assert connection.lines[0].startswith("127.0.0.1:40000 HEAD /abc 200 0B ")


@pytest.mark.parametrize("chunk", CHUNKS)
def test_post_body(chunk) -> None:
    connection = Connection(chunk=chunk)
    connection.send(post("/unikat", b"query=water", "Content-Length: 11") + get("/next"))
    first, second = connection.answers()
    assert first.headers["x-body"] == "query=water" and second.body == b"/next"
    call = connection.core.calls[0]
    assert (call.method, call.content_type, call.body_too_large) == (
        "POST", "application/x-www-form-urlencoded", False)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_chunked_body_with_trailer(chunk) -> None:
    encoded = b"6\r\nquery=\r\n5\r\nwater\r\n0\r\nX-Trailer: 1\r\n\r\n"
    connection = Connection(chunk=chunk)
    connection.send(post("/unikat", encoded, "Transfer-Encoding: chunked") + get("/next"))
    first, second = connection.answers()
    assert first.headers["x-body"] == "query=water" and second.body == b"/next"


def test_get_bodies_are_not_handed_on() -> None:
    connection = Connection()
    connection.send(b"GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + get("/b"))
    assert [c.body for c in connection.core.calls] == [b"", b""]
    assert [a.body for a in connection.answers()] == [b"/a", b"/b"]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_large_body_is_dropped_and_refused_in_turn(chunked: bool) -> None:
    body = b"query=" + b"a" * (MAX_BODY_BYTES + 10)
    if chunked:
        request = post("/unikat", b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 5000]), body[i:i + 5000])
                                           for i in range(0, len(body), 5000)) + b"0\r\n\r\n",
                       "Transfer-Encoding: chunked")
    else:
        request = post("/unikat", body, f"Content-Length: {len(body)}")
    connection = Connection(chunk=4096)
    connection.send(request + get("/next"))
    first, second = connection.answers()
    assert first.status == 413 and second.body == b"/next" and not connection.closed
    call = connection.core.calls[0]
    assert call.body_too_large and call.body == b""
    assert connection.protocol._message.body == []


def test_expect_100_continue() -> None:
    connection = Connection()
    connection.send(post("/unikat", b"", "Content-Length: 11", "Expect: 100-continue"))
    assert connection.transport.value() == b"HTTP/1.1 100 Continue\r\n\r\n"
    connection.transport.clear()
    connection.send(b"query=water")
    (answer,) = connection.answers()
    assert answer.status == 200 and answer.headers["x-body"] == "query=water"


def test_expect_100_continue_with_a_body_too_large_is_refused_at_once() -> None:
    connection = Connection()
    connection.send(post("/unikat", b"", f"Content-Length: {MAX_BODY_BYTES + 1}", "Expect: 100-continue"))
    (answer,) = connection.answers()
    assert answer.status == 413 and answer.headers["connection"] == "close" and connection.closed
    assert b"100 Continue" not in answer.body and connection.core.calls[0].body_too_large


# --- limits and malformed requests ---------------------------------------------------------

@pytest.mark.parametrize("chunk", [None, 1000])
def test_an_over_long_target_is_414_and_close(chunk) -> None:
    connection = Connection(chunk=chunk)
    connection.send(b"GET /" + b"a" * MAX_TARGET_BYTES + b" HTTP/1.1\r\nHost: x\r\n\r\n" + get("/b"))
    (answer,) = connection.answers()
    assert answer.status == 414 and answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["connection"] == "close" and connection.closed and connection.core.calls == []
    assert re.fullmatch(r"127\.0\.0\.1:40000 GET /a{499} 414 \d+B \d+\.\dms", connection.lines[0])


def test_a_target_the_core_refuses_keeps_the_connection() -> None:
    connection = Connection()
    connection.send(get("/" + "a" * (MAX_TARGET_BYTES - 100)) + get("/b"))
    assert len(connection.answers()) == 2 and not connection.closed


@pytest.mark.parametrize("headers", [
    [f"X-Long: {'b' * MAX_HEAD_BYTES}"],
    [f"X-{n}: {'c' * 200}" for n in range(MAX_HEAD_BYTES // 200)],
    [f"X-{n}: 1" for n in range(MAX_HEADERS + 1)],
])
def test_too_much_header_is_431_and_close(headers: list[str]) -> None:
    connection = Connection(chunk=1000)
    connection.send(get("/a", *headers))
    (answer,) = connection.answers()
    assert answer.status == 431 and connection.closed and connection.core.calls == []


def test_a_header_that_never_ends_is_cut_short() -> None:
    connection = Connection()
    connection.send(b"GET /a HTTP/1.1\r\nX-Endless: ")
    for _ in range(200):
        connection.send(b"d" * 1000)
        if connection.closed:
            break
    (answer,) = connection.answers()
    assert answer.status == 431 and connection.closed


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n",
    b"GET /a HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /a b HTTP/1.1\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
    b"GET /a HTTP/1.1\nHost: a\n\n",
    b"BREW /pot HTTP/1.1\r\n\r\n",
])
def test_malformed_requests_are_400_and_close(data: bytes) -> None:
    connection = Connection()
    connection.send(get("/first") + data)
    first, second = connection.answers()
    assert first.body == b"/first"
    assert second.status == 400 and second.headers["connection"] == "close" and connection.closed
    assert second.body.startswith(b"Malformed HTTP request: ") and len(second.body) < 200
    assert [c.uri for c in connection.core.calls] == [b"/first"]


def test_an_upgrade_is_answered_plainly_then_closed() -> None:
    connection = Connection()
    connection.send(get("/a", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA")
                    + get("/b"))
    (answer,) = connection.answers()
    assert answer.status == 200 and answer.headers["connection"] == "close" and connection.closed


# --- flow control --------------------------------------------------------------------------

class FillingTransport(StringTransport):
    """A transport whose write buffer is full after every write, as a client that reads slowly."""

    def write(self, data: bytes) -> None:
        super().write(data)
        self.producer.pauseProducing()

    def writeSequence(self, data) -> None:
        super().writeSequence(data)
        self.producer.pauseProducing()


def test_answers_wait_while_the_client_does_not_read() -> None:
    connection = Connection()
    connection.protocol.pauseProducing()
    connection.send(get("/a") + get("/b") + post("/c", b"", "Content-Length: 1", "Expect: 100-continue"))
    assert connection.transport.value() == b"" and connection.core.calls == []
    assert connection.transport.producerState == "paused"   # no more is read meanwhile
    connection.protocol.resumeProducing()
    data = connection.transport.value()
    assert data.endswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert [a.body for a in parse_answers(data.rpartition(b"HTTP/1.1 100")[0])] == [b"/a", b"/b"]
    assert connection.transport.producerState == "producing"
    connection.transport.clear()
    connection.send(b"x")
    assert [a.body for a in connection.answers()] == [b"/c"]


def test_one_answer_per_drained_buffer_in_order() -> None:
    connection = Connection(transport=FillingTransport)
    connection.send(get("/a") + get("/b") + get("/c", "Connection: close") + get("/d"))
    assert [a.body for a in connection.answers()] == [b"/a"]
    assert connection.transport.producerState == "paused"
    connection.send(get("/late"))   # a read that was under way: nothing more is parsed after the close
    connection.protocol.resumeProducing()
    assert [a.body for a in connection.answers()] == [b"/b"]
    connection.protocol.resumeProducing()
    (last,) = connection.answers()
    assert last.body == b"/c" and last.headers["connection"] == "close" and connection.closed
    assert [c.uri for c in connection.core.calls] == [b"/a", b"/b", b"/c"]


# --- errors of ours, time, the log -------------------------------------------------------

def test_our_exception_is_500_with_the_traceback_logged() -> None:
    connection = Connection()
    connection.send(get("/fail") + get("/b"))
    first, second = connection.answers()
    assert (first.status, first.body, second.body) == (500, b"internal error", b"/b")
    assert "Traceback" in connection.lines[0] and "RuntimeError: a bug" in connection.lines[0]
    assert connection.lines[1].startswith("127.0.0.1:40000 GET /fail 500 14B ")


def test_idle_timeout_between_requests() -> None:
    connection = Connection()
    connection.clock.advance(IDLE_TIMEOUT - 1)
    connection.send(get("/a"))
    connection.clock.advance(IDLE_TIMEOUT - 1)
    assert not connection.closed
    connection.clock.advance(1)
    assert connection.closed and len(connection.answers()) == 1


def test_connection_lost_stops_the_timer() -> None:
    connection = Connection()
    connection.protocol.connectionLost(None)
    assert connection.clock.getDelayedCalls() == []


def test_access_log_line() -> None:
    connection = Connection()
    connection.send(get("/unikat?query=a%20b"))
    assert re.fullmatch(r"127\.0\.0\.1:40000 GET /unikat\?query=a%20b 200 19B \d+\.\dms", connection.lines[0])


# --- the real core -------------------------------------------------------------------------

def test_the_real_core_pipelined(sample_home) -> None:
    catalog = Catalog(sample_home)
    try:
        factory = http_site(catalog, log=lambda line: None, timer=Clock())
        protocol = factory.buildProtocol(PEER)
        transport = StringTransport(hostAddress=HOST, peerAddress=PEER)
        protocol.makeConnection(transport)
        protocol.dataReceived(get("/unikat?query=water&maximumRecords=0") + get("/static/unikat.css")
                              + b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = transport.value()
    finally:
        catalog.close()
    sru, css = parse_answers(data.rpartition(b"HTTP/1.1 200 OK")[0])
    assert sru.headers["content-type"] == "text/xml; charset=utf-8"
    hits = etree.fromstring(sru.body).xpath("string(//*[local-name()='numberOfRecords'])")
    assert int(hits) > 0 and css.headers["content-type"] == "text/css; charset=utf-8"
    head = data.rpartition(b"HTTP/1.1 200 OK")[2]
    assert head.endswith(b"\r\n\r\n") and b"Content-Length: " in head and transport.disconnecting


# --- the request deadline (slowloris) ------------------------------------------------------

def trickle(connection: Connection, data: bytes, every: float) -> None:
    """One byte every `every` seconds: never idle, never done."""
    for byte in data:
        connection.protocol.dataReceived(bytes([byte]))
        connection.clock.advance(every)


@pytest.mark.parametrize("data", [
    get("/a", "X-Pad: " + "p" * 60)[:-2],                      # the headers never end
    post("/a", b"query=" + b"x" * 100, "Content-Length: 500"),  # the body never ends
])
def test_a_trickled_request_is_408_and_closed_at_the_deadline(data: bytes) -> None:
    connection = Connection()
    connection.factory.request_timeout = 30.0
    steps = int(30.0 / 0.5)
    trickle(connection, data[:steps - 1], 0.5)   # 29.5 s: not yet
    assert not connection.closed and connection.answers() == []
    trickle(connection, data[steps - 1:steps + 5], 0.5)
    assert connection.closed
    (answer,) = connection.answers()
    assert answer.status == 408 and answer.headers["connection"] == "close"
    assert "not complete within 30s" in connection.lines[0]
    assert connection.core.calls == []
    assert connection.clock.getDelayedCalls() == []


def test_blank_lines_do_not_keep_a_connection_open() -> None:
    connection = Connection()
    connection.factory.request_timeout = 10.0
    trickle(connection, b"\r\n" * 20, 1.0)
    assert connection.closed and connection.answers()[0].status == 408


def test_the_deadline_is_per_request_not_per_connection() -> None:
    connection = Connection()
    connection.factory.request_timeout = 5.0
    for _ in range(4):   # each request takes 4 s to arrive, the connection lives 16 s
        data = get("/a")
        trickle(connection, data, 4.0 / len(data))
    assert not connection.closed
    assert [answer.status for answer in connection.answers()] == [200] * 4
    connection.clock.advance(IDLE_TIMEOUT - 1)   # between requests only the idle timeout counts
    assert not connection.closed
    connection.clock.advance(1)
    assert connection.closed


def test_a_deadline_with_answers_unread_closes_at_once() -> None:
    connection = Connection()
    connection.protocol.pauseProducing()   # the client does not read
    connection.send(get("/a") + get("/b")[:10])
    connection.clock.advance(REQUEST_TIMEOUT)
    assert connection.closed
    assert connection.answers() == []


def test_timeouts_come_from_the_configuration(sample_home) -> None:
    catalog = Catalog(sample_home)
    try:
        server = replace(catalog.config.server, http_request_timeout=7.0, http_idle_timeout=11.0)
        catalog.config = replace(catalog.config, server=server)
        factory = http_site(catalog, log=lambda line: None, timer=Clock())
        assert (factory.request_timeout, factory.idle_timeout) == (7.0, 11.0)
    finally:
        catalog.close()
    text = "[server]\nhttp_request_timeout = 12.5\nhttp_idle_timeout = 60\n"
    parsed = parse_config(text, "unikat.toml").server
    assert (parsed.http_request_timeout, parsed.http_idle_timeout) == (12.5, 60.0)
    with pytest.raises(ConfigError, match="http_request_timeout"):
        parse_config("[server]\nhttp_request_timeout = 0\n", "unikat.toml")


def test_each_request_gets_its_full_time() -> None:
    connection = Connection()
    connection.factory.request_timeout = 30.0
    connection.send(get("/a")[:5])
    connection.clock.advance(20)
    connection.send(get("/a")[5:])          # the first request, whole after 20 s
    connection.clock.advance(5)
    connection.send(get("/b")[:5])          # the second starts at 25 s: its deadline is 55 s
    connection.clock.advance(29.5)
    assert not connection.closed
    assert [answer.status for answer in connection.answers()] == [200]
    connection.clock.advance(0.5)
    assert connection.closed and [answer.status for answer in connection.answers()] == [408]
