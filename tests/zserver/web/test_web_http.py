"""HTTP routing and limits (HttpCore, no reactor), and a few Twisted wiring tests (StringTransport)."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from conftest import RestrictedHome
from lxml import etree, html
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from index.home import Home
from index.query import Structure, Term
from index.search import Catalog
from zserver.logins import LoginGuard, LoginPolicy
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


def test_a_request_target_in_absolute_form_is_taken(core) -> None:
    # RFC 9112 3.2.2 (what a client talking to a proxy sends): it had been read as database "http:/host/unikat"
    wanted = core.respond("GET", b"/unikat?query=water&maximumRecords=0").body
    for uri in (b"http://catalog.example.org/unikat?query=water&maximumRecords=0",
                b"HTTPS://catalog.example.org:8443/unikat?query=water&maximumRecords=0"):
        answer = core.respond("GET", uri)
        assert answer.status == 200 and answer.body == wanted, uri
    assert core.respond("GET", b"http://catalog.example.org").status == 200   # the web page
    # its host stands for the Host header (RFC 9112 3.2.2): explain names it
    explain = core.respond("GET", b"http://catalog.example.org:8443/unikat", host="other", port=80)
    root = etree.fromstring(explain.body)
    assert root.xpath("string(//*[local-name()='serverInfo']/*[local-name()='host'])") == "catalog.example.org"
    assert root.xpath("string(//*[local-name()='serverInfo']/*[local-name()='port'])") == "8443"


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


# --- logins and restricted databases (HTTP Basic) ------------------------------------------

LIBRARIAN = "Basic " + base64.b64encode(b"librarian:secret").decode()
WRONG = "Basic " + base64.b64encode(b"librarian:wrong").decode()
REALM = 'Basic realm="unikat sample union catalog"'


class UnionRestrictedHome(Home):
    """The sample home with the union database itself restricted."""

    def config(self):
        return dataclasses.replace(super().config(), restricted=("unikat",))


@pytest.fixture(scope="module")
def b_restricted(sample_home):
    catalog = Catalog(RestrictedHome(sample_home.root))
    yield catalog
    catalog.close()


@pytest.fixture(scope="module")
def union_restricted(sample_home):
    catalog = Catalog(UnionRestrictedHome(sample_home.root))
    yield catalog
    catalog.close()


def held_by_b(catalog: Catalog) -> int:
    term = Term("library", "B", structure=Structure.KEY)
    return catalog.search(term, catalog.database("unikat")).isns(0, 1)[0]


def holding_codes(body: bytes) -> set[str]:
    codes = html.fromstring(body).xpath("//section[@class='holdings']//span[@class='code']/text()")
    return {code.strip(" ()") for code in codes}


def library_options(body: bytes) -> set[str]:
    return set(html.fromstring(body).xpath("//select[@name='lib']/option/@value")) - {""}


def test_record_page_leaves_out_restricted_holdings_without_login(b_restricted) -> None:
    core = HttpCore(b_restricted, clock=lambda: 1000.0)
    uri = f"/record/{held_by_b(b_restricted)}".encode()
    anonymous = core.respond("GET", uri)
    librarian = core.respond("GET", uri, authorization=LIBRARIAN, address="10.0.0.1")
    assert anonymous.status == librarian.status == 200
    assert "B" in holding_codes(librarian.body)
    assert "B" not in holding_codes(anonymous.body)
    marc = html.fromstring(anonymous.body).xpath("string(//section[@class='marc'])")
    assert "$a B" not in marc and "$aB" not in marc   # nor its 852 in the MARC table


def test_library_limit_leaves_out_restricted_libraries_without_login(b_restricted) -> None:
    core = HttpCore(b_restricted, clock=lambda: 1000.0)
    anonymous = library_options(core.respond("GET", b"/").body)
    librarian = library_options(core.respond("GET", b"/", authorization=LIBRARIAN).body)
    assert "b" in librarian and "b" not in anonymous and "a" in anonymous
    page = html.fromstring(core.respond("GET", b"/?q=history&lib=b").body)
    assert not page.xpath("//ol[@class='briefs']/li") and "signed-in" in page.xpath("string(//p[@class='problem'])")
    signed = html.fromstring(core.respond("GET", b"/?q=history&lib=b", authorization=LIBRARIAN).body)
    assert signed.xpath("//ol[@class='briefs']/li")


def test_sru_restricted_library_database_needs_basic_login(b_restricted) -> None:
    core = HttpCore(b_restricted, clock=lambda: 1000.0)
    refused = core.respond("GET", b"/B?query=history")
    assert refused.status == 401 and sru_codes(refused.body) == ["3"]
    assert header(refused, "WWW-Authenticate") == REALM
    opened = core.respond("GET", b"/B?query=history", authorization=LIBRARIAN)
    assert opened.status == 200 and sru_codes(opened.body) == [] and header(opened, "WWW-Authenticate") is None


def test_restricted_union_database_shows_nothing_without_login(union_restricted) -> None:
    core = HttpCore(union_restricted, clock=lambda: 1000.0)
    isn = held_by_b(union_restricted)
    for uri in (b"/", b"/?q=water", f"/record/{isn}".encode()):
        refused = core.respond("GET", uri)
        assert refused.status == 401 and header(refused, "WWW-Authenticate") == REALM, uri
        assert b"signed-in users only" in refused.body and b"briefs" not in refused.body
        assert b"<option" not in refused.body   # no facet counts either
        assert core.respond("GET", uri, authorization=LIBRARIAN).status == 200
    for uri in (b"/unikat?query=water", b"/unikat?operation=scan&scanClause=title=water"):
        refused = core.respond("GET", uri)
        assert refused.status == 401 and sru_codes(refused.body) == ["3"]
        assert header(refused, "WWW-Authenticate") == REALM
        assert core.respond("GET", uri, authorization=LIBRARIAN).status == 200
    assert core.respond("GET", b"/unikat").status == 200        # explain stays open
    assert core.respond("GET", b"/static/unikat.css").status == 200
    assert html.fromstring(core.respond("GET", b"/?q=water", authorization=LIBRARIAN).body).xpath(
        "//ol[@class='briefs']/li")


def test_brief_json_refusals_are_json(union_restricted) -> None:
    """A client of `format=json` gets every refusal as JSON, also those the server makes before
    the search (no login, a wrong login, a wrong method), not the HTML error page."""
    core = HttpCore(union_restricted, clock=lambda: 1000.0)
    for options, words in (({}, "open to signed-in users only"), ({"authorization": WRONG}, "Login refused")):
        refused = core.respond("GET", b"/?q=water&format=json", **options)
        assert refused.status == 401 and header(refused, "Content-Type").startswith("application/json")
        assert words in json.loads(refused.body)["error"] and header(refused, "WWW-Authenticate") == REALM
    refused = core.respond("DELETE", b"/?q=water&format=json")
    assert refused.status == 405 and json.loads(refused.body) == {"error": "method DELETE not allowed"}
    assert core.respond("GET", b"/?q=water", authorization=WRONG).body.startswith(b"<!DOCTYPE")   # HTML stays HTML
    found = core.respond("GET", b"/?q=water&format=json", authorization=LIBRARIAN)
    assert found.status == 200 and json.loads(found.body)["numberOfRecords"] > 0


@pytest.mark.parametrize("authorization", [WRONG, "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                                           "Bearer abc"])
def test_bad_credentials_are_401_everywhere(core, authorization) -> None:
    for uri in (b"/", b"/unikat?query=water"):
        answer = core.respond("GET", uri, authorization=authorization, address="10.0.0.2")
        assert answer.status == 401 and header(answer, "WWW-Authenticate") == REALM
        assert b"Login refused" in answer.body


def test_basic_logins_count_with_the_worker_guard(catalog) -> None:
    guard = LoginGuard(LoginPolicy(max_failures=2, window=60, lockout=60), clock=lambda: 5.0)
    core = HttpCore(catalog, clock=lambda: 1000.0, login_guard=guard)
    for _ in range(2):
        assert core.respond("GET", b"/", authorization=WRONG, address="10.0.0.3").status == 401
    locked = core.respond("GET", b"/", authorization=LIBRARIAN, address="10.0.0.3")
    assert locked.status == 401 and b"locked" in locked.body


def test_twisted_passes_basic_credentials(b_restricted) -> None:
    request = f"GET /B?query=history HTTP/1.1\r\nHost: x\r\nAuthorization: {LIBRARIAN}\r\n" \
              "Connection: close\r\n\r\n"
    status, _, body = split(exchange(b_restricted, request.encode()))
    assert status == 200 and sru_codes(body) == []
    status, headers, _ = split(exchange(b_restricted, b"GET /B?query=history HTTP/1.1\r\nHost: x\r\n"
                                                      b"Connection: close\r\n\r\n"))
    assert status == 401 and headers["www-authenticate"] == REALM


def test_ill_refusals_say_what_is_allowed_and_how_to_log_in(core) -> None:
    # RFC 9110: a 405 names the methods allowed (15.5.6), a 401 how to authenticate (15.5.2)
    wrong_method = core.respond("GET", b"/iso18626")
    assert wrong_method.status == 405 and header(wrong_method, "Allow") == "POST"
    assert header(core.respond("POST", b"/status/UNI000000001"), "Allow") == "GET, HEAD"
    wrong_login = core.respond("POST", b"/iso18626", b"<x/>", authorization="Basic " + base64.b64encode(b"nobody:x").decode(),
                               address="10.1.1.1")
    assert wrong_login.status == 401 and header(wrong_login, "WWW-Authenticate").startswith("Basic realm=")
    assert wrong_login.body.startswith(b"Login refused: ")
