"""HTTP routing and limits (HttpCore, no reactor), and a few Twisted wiring tests (StringTransport)."""

from __future__ import annotations

import pytest
from lxml import etree, html
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from index.search import Catalog
from zserver.net.http import MAX_BODY_BYTES, MAX_URI_BYTES, HttpCore, http_site

SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRW = "http://www.loc.gov/zing/srw/"


@pytest.fixture(scope="module")
def catalog(sample_home):
    catalog = Catalog(sample_home)
    yield catalog
    catalog.close()


@pytest.fixture()
def core(catalog) -> HttpCore:
    return HttpCore(catalog, clock=lambda: 1000.0)


def header(answer, name: str) -> str | None:
    return dict(answer.headers).get(name)


def sru_codes(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [uri.rpartition("/")[2] for uri in root.xpath("//*[local-name()='diagnostic']/*[local-name()='uri']/text()")]


def test_web_page(core) -> None:
    answer = core.respond("GET", b"/?q=water")
    assert answer.status == 200 and header(answer, "Content-Type") == "text/html; charset=utf-8"
    assert "default-src 'self'" in header(answer, "Content-Security-Policy")
    assert html.fromstring(answer.body).xpath("//ol[@class='briefs']/li")


def test_record_page_and_missing_records(core) -> None:
    assert core.respond("GET", b"/record/1").status == 200
    for uri in (b"/record/999999", b"/record/abc", b"/record/1/2", b"/record", b"/record/%31%32x"):
        answer = core.respond("GET", uri)
        assert answer.status == 404, uri
        assert header(answer, "Content-Type").startswith("text/html")


def test_static_files(core) -> None:
    answer = core.respond("GET", b"/static/unikat.css")
    assert answer.status == 200 and header(answer, "Content-Type") == "text/css; charset=utf-8"
    assert b"body" in answer.body
    for uri in (b"/static/../page.py", b"/static/%2e%2e/page.py", b"/static/nosuch.css", b"/static/page.py",
                b"/static/", b"/static/.hidden.css"):
        assert core.respond("GET", uri).status == 404, uri


def test_sru_get_and_post(core) -> None:
    answer = core.respond("GET", b"/unikat?version=1.2&operation=searchRetrieve&query=water&maximumRecords=1")
    assert answer.status == 200 and header(answer, "Content-Type") == "text/xml; charset=utf-8"
    root = etree.fromstring(answer.body)
    assert root.tag == f"{{{SRW}}}searchRetrieveResponse"
    posted = core.respond("POST", b"/unikat", b"version=1.2&operation=searchRetrieve&query=water&maximumRecords=1",
                          content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert posted.body == answer.body


def test_sru_explain_uses_the_host_the_client_named(core) -> None:
    answer = core.respond("GET", b"/unikat", host="catalog.example.org", port=8080)
    root = etree.fromstring(answer.body)
    assert root.xpath("string(//*[local-name()='serverInfo']/*[local-name()='host'])") == "catalog.example.org"
    assert root.xpath("string(//*[local-name()='serverInfo']/*[local-name()='port'])") == "8080"


def test_database_names_are_case_insensitive_and_may_be_escaped(core) -> None:
    for uri in (b"/UNIKAT?query=water", b"/%75nikat?query=water", b"/unikat/?query=water", b"/Default?query=water"):
        assert core.respond("GET", uri).status == 200, uri


@pytest.mark.parametrize(("method", "uri", "body", "content_type", "status", "code"), [
    ("GET", b"/nosuch?query=water", b"", "", 404, "235"),
    ("GET", b"/unikat/extra/path", b"", "", 404, "235"),
    ("GET", b"/unikat?query=" + b"a" * MAX_URI_BYTES, b"", "", 414, "12"),
    ("GET", b"/unikat?query=%ff%fe", b"", "", 400, "6"),
    ("GET", b"/unikat?query=\xff", b"", "", 400, "6"),
    ("GET", b"/%ff", b"", "", 400, "6"),
    ("GET", b"/unikat?" + b"&".join(b"x-p%d=1" % i for i in range(150)), b"", "", 400, "6"),
    ("DELETE", b"/unikat", b"", "", 405, "4"),
    ("POST", b"/unikat", b"<soap/>", "text/xml", 415, "6"),
    ("POST", b"/unikat", b"query=%ff", "application/x-www-form-urlencoded", 400, "6"),
])
def test_hostile_sru_requests(core, method, uri, body, content_type, status: int, code: str) -> None:
    answer = core.respond(method, uri, body, content_type=content_type)
    assert answer.status == status
    assert sru_codes(answer.body) == [code]


def test_body_too_large(core) -> None:
    answer = core.respond("POST", b"/unikat", b"", content_type="application/x-www-form-urlencoded",
                          body_too_large=True)
    assert answer.status == 413 and sru_codes(answer.body) == ["12"]


@pytest.mark.parametrize(("method", "uri", "status"), [
    ("POST", b"/?q=water", 405), ("PUT", b"/record/1", 405), ("GET", b"/?q=%ff", 400),
    ("GET", b"/?" + b"q=" + b"w" * MAX_URI_BYTES, 414), ("GET", b"/favicon.ico", 404),
])
def test_hostile_web_requests(core, method: str, uri: bytes, status: int) -> None:
    answer = core.respond(method, uri)
    assert answer.status == status
    assert header(answer, "Content-Type") == "text/html; charset=utf-8"
    assert html.fromstring(answer.body).xpath("string(//h1)")


def test_result_sets_live_in_the_core(core) -> None:
    first = etree.fromstring(core.respond("GET", b"/unikat?query=history%20sortBy%20dc.title&maximumRecords=3").body)
    set_id = first.xpath("string(//*[local-name()='resultSetId'])")
    again = core.respond("GET", f"/unikat?query=cql.resultSetId%3D%22{set_id}%22&maximumRecords=3".encode())
    assert etree.fromstring(again.body).xpath("string(//*[local-name()='numberOfRecords'])") == \
        first.xpath("string(//*[local-name()='numberOfRecords'])")
    assert len(core.sru_state) == 1


def test_internal_errors_are_500_without_traceback(core) -> None:
    assert core.internal_error(b"/unikat?query=a").status == 500
    assert sru_codes(core.internal_error(b"/unikat?query=a").body) == ["1"]
    assert core.internal_error(b"/?q=a").status == 500


# --- Twisted wiring ----------------------------------------------------------------------

def exchange(catalog, data: bytes, *, chunk: int | None = None) -> bytes:
    site = http_site(catalog, clock=lambda: 0.0)
    protocol = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 2100),
                                peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
    protocol.makeConnection(transport)
    pieces = [data] if chunk is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        protocol.dataReceived(piece)
    protocol.connectionLost(None)
    return transport.value()


def split(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_twisted_get(catalog, chunk) -> None:
    request = b"GET /unikat?query=water&maximumRecords=1 HTTP/1.1\r\nHost: example.org:2100\r\nConnection: close\r\n\r\n"
    status, headers, body = split(exchange(catalog, request, chunk=chunk))
    assert status == 200 and headers["content-type"] == "text/xml; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert etree.fromstring(body).tag == f"{{{SRU2}}}searchRetrieveResponse"


def test_twisted_post_and_head(catalog) -> None:
    body = b"query=water&maximumRecords=0"
    request = (b"POST /unikat HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
    status, _, answer = split(exchange(catalog, request))
    assert status == 200 and etree.fromstring(answer).xpath("string(//*[local-name()='numberOfRecords'])") != "0"
    status, headers, answer = split(exchange(catalog, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 200 and answer == b"" and int(headers["content-length"]) > 0


def test_twisted_refuses_a_large_body_without_keeping_it(catalog) -> None:
    body = b"query=" + b"a" * (MAX_BODY_BYTES + 10)
    request = (b"POST /unikat HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
    status, _, answer = split(exchange(catalog, request, chunk=4096))
    assert status == 413 and sru_codes(answer) == ["12"]


def test_twisted_chunked_large_body(catalog) -> None:
    chunk = b"a" * 40000
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    request = (b"POST /unikat HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n") + b"query=" + encoded
    status, _, _ = split(exchange(catalog, request))
    assert status in (400, 413)


def test_twisted_survives_a_broken_request_line(catalog) -> None:
    response = exchange(catalog, b"GARBAGE\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 400")


def test_robots_txt(core) -> None:
    answer = core.respond("GET", b"/robots.txt")
    assert answer.status == 200 and header(answer, "Content-Type") == "text/plain; charset=utf-8"
    rules = [line.split(":", 1) for line in answer.body.decode().splitlines() if line and not line.startswith("#")]
    assert [(name, value.strip()) for name, value in rules] == [
        ("User-agent", "*"), ("Allow", "/record/"), ("Allow", "/static/"), ("Allow", "/$"), ("Disallow", "/")]
    assert core.respond("HEAD", b"/robots.txt").status == 200
