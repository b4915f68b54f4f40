"""SRU and the web page over real HTTP: the twisted.web Site in a server process on a loopback
port, driven with urllib, raw sockets and the real `yaz-client` in SRU mode."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from lxml import etree, html

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

SERVER = """
import sys
from pathlib import Path
from twisted.internet import reactor
from index.home import Home
from index.search import Catalog
from zserver.net.http import http_site

catalog = Catalog(Home(Path(sys.argv[1])))
port = reactor.listenTCP(0, http_site(catalog), interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
"""


def start_server(home_root: Path) -> tuple[subprocess.Popen, str]:
    """Serve the HTTP side alone for `home_root` on a free loopback port: (process, base URL)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(home_root)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        raise RuntimeError(f"the HTTP server did not start: {line!r} {process.stderr.read()}")
    return process, f"http://127.0.0.1:{line}"


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def server(sample_home):
    process, base = start_server(sample_home.root)
    yield base
    stop_server(process)
    assert "Traceback" not in process.stderr.read()


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
          method: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def raw_exchange(base: str, data: bytes) -> bytes:
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def local(root, name: str) -> list:
    return root.xpath(f"//*[local-name()='{name}']")


def diagnostic_codes(root) -> list[str]:
    return [e.text.rpartition("/")[2] for e in local(root, "uri") if "diagnostic" in (e.text or "")]


# --- SRU over HTTP -------------------------------------------------------------------------

@pytest.mark.parametrize(("version", "namespace"), [("1.1", "http://www.loc.gov/zing/srw/"),
                                                    ("1.2", "http://www.loc.gov/zing/srw/"),
                                                    ("2.0", "http://docs.oasis-open.org/ns/search-ws/sruResponse")])
def test_operations_in_each_version(server, version: str, namespace: str) -> None:
    status, headers, body = fetch(f"{server}/unikat?version={version}&operation=explain")
    assert status == 200 and headers["content-type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(body)
    assert root.tag == f"{{{namespace}}}explainResponse"
    assert local(root, "explain") and local(root, "indexInfo")

    query = urllib.parse.urlencode({"version": version, "operation": "searchRetrieve",
                                    "query": "dc.title = history", "maximumRecords": "2"})
    root = etree.fromstring(fetch(f"{server}/unikat?{query}")[2])
    assert root.tag == f"{{{namespace}}}searchRetrieveResponse"
    assert int(local(root, "numberOfRecords")[0].text) > 2
    assert len(local(root, "recordData")) == 2

    query = urllib.parse.urlencode({"version": version, "operation": "scan", "scanClause": "dc.creator = smith"})
    root = etree.fromstring(fetch(f"{server}/unikat?{query}")[2])
    assert etree.QName(root).localname == "scanResponse"
    assert len(local(root, "term")) == 20


def test_plain_get_explains_with_the_host_we_were_reached_at(server) -> None:
    root = etree.fromstring(fetch(f"{server}/unikat")[2])
    port = urllib.parse.urlsplit(server).port
    assert local(root, "host")[0].text == "127.0.0.1" and local(root, "port")[0].text == str(port)
    assert local(root, "title")[0].text == "unikat sample union catalog"


def test_post_form(server) -> None:
    data = urllib.parse.urlencode({"version": "1.2", "operation": "searchRetrieve", "query": "water",
                                   "recordSchema": "opac", "maximumRecords": "1"}).encode()
    status, _, body = fetch(f"{server}/unikat", data, {"Content-Type": "application/x-www-form-urlencoded"})
    root = etree.fromstring(body)
    assert status == 200 and local(root, "holding")


def test_result_set_across_connections(server) -> None:
    query = urllib.parse.urlencode({"query": "history sortBy dc.title", "maximumRecords": "5"})
    first = etree.fromstring(fetch(f"{server}/unikat?{query}")[2])
    set_id = local(first, "resultSetId")[0].text
    query = urllib.parse.urlencode({"query": f'cql.resultSetId = "{set_id}"', "maximumRecords": "5",
                                    "startRecord": "1"})
    again = etree.fromstring(fetch(f"{server}/unikat?{query}")[2])
    controls = "//*[local-name()='controlfield'][@tag='001']/text()"
    assert again.xpath(controls) == first.xpath(controls) and len(first.xpath(controls)) == 5


def test_library_database_and_stylesheet(server) -> None:
    status, _, body = fetch(f"{server}/C?query=history&stylesheet=/static/sru.xsl&maximumRecords=0")
    assert status == 200 and body.split(b"\n")[1].startswith(b'<?xml-stylesheet type="text/xsl"')


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/nosuch?query=water", 404, "235"),
    ("/unikat?query=%C3%28", 400, "6"),
    ("/unikat?query=" + "x" * 9000, 414, "12"),
    ("/unikat?query=dc.title%3D", 200, "10"),
    ("/unikat?version=3.0", 200, "5"),
])
def test_bad_requests_get_diagnostics(server, path: str, status: int, code: str) -> None:
    got, headers, body = fetch(server + path)
    assert got == status and headers["content-type"].startswith("text/xml")
    assert diagnostic_codes(etree.fromstring(body)) == [code]


def test_methods_and_bodies(server) -> None:
    assert fetch(f"{server}/unikat", method="DELETE")[0] == 405
    assert fetch(f"{server}/unikat", b"<soap/>", {"Content-Type": "text/xml"})[0] == 415
    big = b"query=" + b"a" * (70 * 1024)
    assert fetch(f"{server}/unikat", big, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 413
    status, headers, body = fetch(f"{server}/", method="HEAD")
    assert status == 200 and body == b""


def test_hostile_bytes_do_not_hurt_the_server(server) -> None:
    assert raw_exchange(server, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 414")
    assert raw_exchange(server, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n"
                        ).startswith(b"HTTP/1.1 400")
    assert raw_exchange(server, b"GET /unikat?query=a HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
                        ).startswith(b"HTTP/1.1 400")
    assert raw_exchange(server, b"GET /unikat?query=a HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"b" * 70000
                        + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
    assert fetch(f"{server}/unikat?query=water")[0] == 200


# --- the web side ----------------------------------------------------------------------------

def test_web_page_and_static_files(server) -> None:
    status, headers, body = fetch(f"{server}/?q=history&sort=title")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    doc = html.fromstring(body)
    assert len(doc.xpath("//ol[@class='briefs']/li")) == 20
    record_link = doc.xpath("//ol[@class='briefs']/li[1]/a/@href")[0]
    status, _, body = fetch(server + record_link)
    assert status == 200 and html.fromstring(body).xpath("//section[@class='holdings']")
    status, headers, css = fetch(f"{server}/static/unikat.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and b"@media" in css
    assert fetch(f"{server}/record/99999999")[0] == 404


# --- yaz-client in SRU mode --------------------------------------------------------------

def yaz(commands: str) -> str:
    if shutil.which("yaz-client") is None:
        pytest.skip("yaz-client not installed (Debian package yaz; `make yaz`)")
    result = subprocess.run(["yaz-client"], input=commands + "\nquit\n", capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


@pytest.mark.parametrize("mode", ["get 1.1", "get 1.2", "post 1.2", "get 2.0", "post 2.0"])
def test_yaz_client_finds_and_shows(server, mode: str) -> None:
    output = yaz(f"open {server}/unikat\nsru {mode}\nfind dc.title = water\nshow 1\n"
                 "schema dc\nshow 2\nfind dc.nosuch = water\nscan dc.title = hist\n")
    expected = local(etree.fromstring(fetch(f"{server}/unikat?query=dc.title%3Dwater&maximumRecords=0")[2]),
                     "numberOfRecords")[0].text
    assert int(expected) > 2 and f"Number of hits: {expected}" in output, output
    assert "pos=1 schema=info:srw/schema/1/marcxml-v1.1" in output
    assert '<record xmlns="http://www.loc.gov/MARC21/slim">' in output
    assert "pos=2 schema=info:srw/schema/1/dc-v1.1" in output and "<dc:title>" in output
    assert "SRW diagnostic info:srw/diagnostic/1/16" in output and "Unsupported index" in output
    # a scan line: displayTerm (the heading as catalogued): count, position, term (the key)
    assert "Received SRW Scan Response" in output and re.search(r"\n[^\n]*: 1 inner histo", output), output


def test_yaz_client_boolean_and_truncated_queries(server) -> None:
    output = yaz(f"open {server}/unikat\nsru get 1.2\nfind history and war\nfind wat* and dc.date >= 2000\n"
                 'find dc.title any "water river" sortBy dc.date/descending\nshow 1\n')
    hits = [int(line.split(":")[1]) for line in output.splitlines() if line.startswith("Number of hits:")]
    assert len(hits) >= 3 and all(h > 0 for h in hits[:3]), output


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_yaz_client_default_soap_mode(server, version: str) -> None:
    """yaz-client's default SRU mode is SRW: SRU requests in SOAP envelopes, POSTed as text/xml."""
    output = yaz(f"open {server}/unikat\nsru soap {version}\nfind dc.title = water\nshow 1\n"
                 "find dc.nosuch = water\nscan dc.title = hist\n")
    expected = local(etree.fromstring(fetch(f"{server}/unikat?query=dc.title%3Dwater&maximumRecords=0")[2]),
                     "numberOfRecords")[0].text
    # a status 415 as a number of its own: "Elapsed: 0.001415" is not one
    assert "HTTP error" not in output and not re.search(r"(?<![\d.])415(?!\d)", output), output
    assert f"Number of hits: {expected}" in output, output
    assert "pos=1 schema=info:srw/schema/1/marcxml-v1.1" in output
    assert '<record xmlns="http://www.loc.gov/MARC21/slim">' in output
    assert "SRW diagnostic info:srw/diagnostic/1/16" in output and "Unsupported index" in output
    # a scan line: displayTerm (the heading as catalogued): count, position, term (the key)
    assert "Received SRW Scan Response" in output and re.search(r"\n[^\n]*: 1 inner histo", output), output
