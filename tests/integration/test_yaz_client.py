"""Real YAZ clients (yaz-client, zoomsh, yaz-marcdump) against a running `unikat serve` over
the sample catalog. Expected hit counts, scan lists and sort orders come from the same
catalog opened in-process. Skips with a printed reason when YAZ is not installed.

The fixtures live here, not in a conftest.py: a second conftest.py would shadow
tests/conftest.py for the `from conftest import ...` the other test modules use."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import copy_home
from lxml import etree

from index.engines.base import SortKey
from index.home import Home
from index.records.formats import parse
from index.search import Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query
from zserver.z3950.codec import decode_pdu, encode_pdu, find_pdu_end

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
IDLE_TIMEOUT = 3   # seconds, short so the idle close can be watched


def require(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        pytest.skip(f"{program} not installed (Debian package yaz; `make yaz` installs it)")
    return found


@dataclass
class Server:
    host: str
    port: int
    home: Home
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)
    idle_timeout: float = IDLE_TIMEOUT

    @property
    def target(self) -> str:
        return f"tcp:{self.host}:{self.port}"


@pytest.fixture(scope="session")
def server_home(sample_home, tmp_path_factory) -> Home:
    """The sample catalog with database B restricted and a short idle timeout."""
    root = tmp_path_factory.mktemp("z3950") / "home"
    copy_home(sample_home, root)
    config = root / "unikat.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^restricted = .*$", 'restricted = ["B"]', text)
    text = re.sub(r"(?m)^idle_timeout = .*$", f"idle_timeout = {IDLE_TIMEOUT}", text)
    config.write_text(text, encoding="utf-8")
    return Home(root)


@pytest.fixture(scope="session")
def catalog(server_home):
    """The same catalog opened in-process, to compute what the server should answer."""
    opened = Catalog(server_home)
    yield opened
    opened.close()


def _drain(stream, lines: list[str], ready: threading.Event, found: dict) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        match = re.search(r"listening on ([\d.]+):(\d+)", line)
        if match:
            found["address"] = (match.group(1), int(match.group(2)))
        found["serving"] = found.get("serving", 0) + line.count(" serving")
        if found.get("address") and found["serving"] >= found["workers"]:
            ready.set()
    ready.set()


def start_serving(home: Home, workers: int = 2) -> Server:
    """`unikat serve` over `home` with `workers` worker processes on a free loopback port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "zserver.cli", "--home", str(home.root), "serve",
         "--host", "127.0.0.1", "--port", "0", "--workers", str(workers)],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()
    found: dict = {"workers": workers}
    threading.Thread(target=_drain, args=(process.stderr, lines, ready, found), daemon=True).start()
    if not ready.wait(60) or "address" not in found:
        process.kill()
        pytest.fail("unikat serve did not start:\n" + "\n".join(lines))
    host, port = found["address"]
    _wait_for_port(host, port)
    return Server(host, port, home, process, lines)


def stop_serving(server: Server) -> None:
    """SIGTERM; the server must stop cleanly and have logged no traceback."""
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        pytest.fail("unikat serve did not stop on SIGTERM")
    lines = server.log
    assert code == 0, "\n".join(lines)
    assert not [line for line in lines if "Traceback" in line or "internal error" in line], "\n".join(lines)


@pytest.fixture(scope="session")
def server(server_home) -> Server:
    """`unikat serve` over the sample catalog of each engine in turn; stopped with SIGTERM."""
    require("yaz-client")
    running = start_serving(server_home)
    yield running
    stop_serving(running)


def _wait_for_port(host: str, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listens on {host}:{port}")


def run_yaz_client(server: Server, directory: Path, *commands: str, database: str = "unikat",
                   before_open: tuple[str, ...] = (), marc_file: Path | None = None, timeout: float = 60) -> str:
    """Run yaz-client with a command file in `directory` (`before_open`, open, the commands);
    returns stdout."""
    script = directory / f"yaz-{time.monotonic_ns()}.cmd"
    script.write_text("\n".join([*before_open, f"open {server.target}/{database}", *commands]) + "\n",
                      encoding="utf-8")
    arguments = [require("yaz-client"), "-f", str(script)]
    if marc_file is not None:
        arguments[1:1] = ["-m", str(marc_file)]
    done = subprocess.run(arguments, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return done.stdout.decode("utf-8", "replace")


@pytest.fixture()
def yaz(server, tmp_path):
    """yaz-client against the server: `yaz(*commands, database=..., before_open=..., marc_file=...)`."""
    require("yaz-client")

    def run(*commands: str, **options) -> str:
        return run_yaz_client(server, tmp_path, *commands, **options)

    return run


def run_zoomsh(server: Server, *commands: str, database: str = "unikat", timeout: float = 60) -> str:
    """Run zoomsh connected to the server with the given commands; returns stdout."""
    done = subprocess.run([require("zoomsh"), f"connect {server.target}/{database}", *commands, "quit"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return done.stdout.decode("utf-8", "replace")


@pytest.fixture()
def zoom(server):
    """zoomsh against the server: `zoom(*commands, database=...)`."""
    require("zoomsh")

    def run(*commands: str, **options) -> str:
        return run_zoomsh(server, *commands, **options)

    return run


@pytest.fixture()
def marcdump():
    """Read an ISO 2709 file back with yaz-marcdump: one dict tag -> field lines per record."""
    program = require("yaz-marcdump")

    def run(path: Path) -> list[dict[str, list[str]]]:
        output = subprocess.run([program, str(path)], capture_output=True, check=True).stdout
        records = []
        for block in output.decode("utf-8").split("\n\n"):
            fields: dict[str, list[str]] = {}
            for line in block.splitlines()[1:]:
                fields.setdefault(line[:3], []).append(line[4:])
            if fields:
                records.append(fields)
        return records

    return run


HISTORY = "@attr 1=4 history"

# The structure of the MARC21 slim schema (http://www.loc.gov/standards/marcxml/schema/
# MARC21slim.xsd), restated: no copy of the XSD is on disk here and nothing is fetched.
MARC21_SLIM_XSD = rb"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="http://www.loc.gov/MARC21/slim"
    targetNamespace="http://www.loc.gov/MARC21/slim" elementFormDefault="qualified">
  <xs:element name="record" type="recordType"/>
  <xs:complexType name="recordType">
    <xs:sequence minOccurs="0">
      <xs:element name="leader" type="leaderFieldType"/>
      <xs:element name="controlfield" type="controlFieldType" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="datafield" type="dataFieldType" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
    <xs:attribute name="type" type="xs:NMTOKEN" use="optional"/>
    <xs:attribute name="id" type="xs:ID" use="optional"/>
  </xs:complexType>
  <xs:complexType name="leaderFieldType">
    <xs:simpleContent><xs:extension base="leaderDataType">
      <xs:attribute name="id" type="xs:ID" use="optional"/></xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:simpleType name="leaderDataType">
    <xs:restriction base="xs:string"><xs:whiteSpace value="preserve"/>
      <xs:pattern value="[\d ]{5}[\dA-Za-z ]{1}[\dA-Za-z]{1}[\dA-Za-z ]{3}(2| )(2| )[\d ]{5}[\dA-Za-z ]{3}(4500|    )"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="controlFieldType">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="id" type="xs:ID" use="optional"/>
      <xs:attribute name="tag" use="required"><xs:simpleType><xs:restriction base="xs:string">
        <xs:whiteSpace value="preserve"/><xs:pattern value="00[1-9A-Za-z]{1}"/></xs:restriction></xs:simpleType>
      </xs:attribute></xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="dataFieldType">
    <xs:sequence maxOccurs="unbounded"><xs:element name="subfield" type="subfieldatafieldType"/></xs:sequence>
    <xs:attribute name="id" type="xs:ID" use="optional"/>
    <xs:attribute name="tag" use="required"><xs:simpleType><xs:restriction base="xs:string">
      <xs:whiteSpace value="preserve"/>
      <xs:pattern value="(0([1-9A-Z][0-9A-Z])|0([1-9a-z][0-9a-z]))|(([1-9A-Z][0-9A-Z]{2})|([1-9a-z][0-9a-z]{2}))"/>
    </xs:restriction></xs:simpleType></xs:attribute>
    <xs:attribute name="ind1" use="required" type="indicatorDataType"/>
    <xs:attribute name="ind2" use="required" type="indicatorDataType"/>
  </xs:complexType>
  <xs:simpleType name="indicatorDataType">
    <xs:restriction base="xs:string"><xs:whiteSpace value="preserve"/><xs:pattern value="[\da-z ]{1}"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="subfieldatafieldType">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="id" type="xs:ID" use="optional"/>
      <xs:attribute name="code" use="required"><xs:simpleType><xs:restriction base="xs:string">
        <xs:whiteSpace value="preserve"/>
        <xs:pattern value="[\dA-Za-z!&quot;#$%&amp;'()*+,-./:;&lt;=&gt;?{}_^`~\[\]\\]{1}"/>
      </xs:restriction></xs:simpleType></xs:attribute></xs:extension></xs:simpleContent>
  </xs:complexType>
</xs:schema>
"""


def hits(output: str) -> list[int]:
    return [int(number) for number in re.findall(r"Number of hits: (\d+)", output)]


def diagnostics(output: str) -> list[int]:
    return [int(code) for code in re.findall(r"^\s+\[(\d+)\] ", output, re.M)]


def expected_hits(catalog, pqf: str, database: str = "unikat") -> int:
    return catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database(database)).size


# -- Init ------------------------------------------------------------------------------------

def test_init_plain(server, yaz):
    output = yaz("close")
    assert "Connection accepted by v3 target." in output
    assert "ID     : unikat" in output
    assert "Options: search present delSet scan sort extendedServices namedResultSets" in output
    assert "Reason: finished" in output


def test_init_with_charset_negotiation(server, yaz):
    output = yaz("find @attr 1=4 köln", before_open=("negcharset UTF-8",))
    assert "negotiationModel" in output
    assert "Accepted character set : UTF-8" in output
    assert "Search was a success." in output


@pytest.mark.parametrize("auth", ["auth librarian/secret", "auth librarian secret"])
def test_authentication_opens_the_restricted_database(server, yaz, catalog, auth):
    output = yaz(f"find {HISTORY}", database="B", before_open=(auth,))
    assert "Connection accepted" in output
    assert hits(output) == [expected_hits(catalog, HISTORY, "B")]


def test_restricted_database_without_login(server, yaz):
    output = yaz(f"find {HISTORY}", database="B")
    assert "Search was a bloomin' failure." in output
    assert diagnostics(output) == [236]


@pytest.mark.parametrize("auth", ["auth librarian/wrong", "auth nobody secret"])
def test_wrong_password_is_rejected(server, yaz, auth):
    output = yaz(f"find {HISTORY}", before_open=(auth,))
    assert "Connection rejected by v3 target." in output
    assert "code=1011 (Init/AC: Bad Userid and/or Password)" in output
    assert "Number of hits" not in output


# -- Search ----------------------------------------------------------------------------------

QUERIES = [
    HISTORY,                                             # use
    "@attr 1=1003 smith",
    "@attr 1=21 @attr 4=1 @attr 6=1 history",            # structure phrase, completeness
    "@attr 1=31 @attr 2=4 2000",                         # relation >=
    "@attr 1=31 @attr 2=1 1950",                         # relation <
    "@attr 1=4 @attr 3=1 history",                       # position first in field
    "@attr 1=4 @attr 5=1 hist",                          # right truncation
    "@attr 1=4 @attr 5=104 hist?",                       # Z39.58 masking
    "@attr 1=4 @attr 4=2 history",                       # structure word
    "@attr 1=7 0719051673",                              # ISBN
    "@attr 1=1016 @attr 2=102 history",                  # relevance
    "@and @attr 1=4 history @attr 1=1003 smith",
    "@or @attr 1=4 history @attr 1=4 geschichte",
    "@not @attr 1=4 history @attr 1=21 united",
    "@prox 0 3 1 2 k 2 @attr 1=4 history @attr 1=4 art",
    "history",
]


def test_find_with_each_attribute_type(server, yaz, catalog):
    output = yaz(*[f"find {query}" for query in QUERIES])
    assert hits(output) == [expected_hits(catalog, query) for query in QUERIES]
    assert sum(hits(output)) > 0 and "failure" not in output


def test_find_in_a_library_database(server, yaz, catalog):
    output = yaz(f"find {HISTORY}", database="A")
    assert hits(output) == [expected_hits(catalog, HISTORY, "A")]


def test_ccl(server, yaz, catalog):
    output = yaz("querytype ccl", "find ti=history and au=smith", "find ti=history",
                        "find nosuch=x")
    assert hits(output)[:2] == [expected_hits(catalog, "@and @attr 1=4 history @attr 1=1003 smith"),
                                expected_hits(catalog, HISTORY)]
    assert diagnostics(output) == [114]


def test_named_sets_and_set_references(server, yaz, catalog):
    output = yaz(f"find {HISTORY}", "find @attr 1=1003 smith", "find @or @set 1 @set 2")
    union = set(catalog.search(rpn_to_query(parse_pqf(HISTORY)), catalog.database("unikat")).isns())
    union |= set(catalog.search(rpn_to_query(parse_pqf("@attr 1=1003 smith")), catalog.database("unikat")).isns())
    assert hits(output)[2] == len(union)


def test_search_diagnostics(server, yaz):
    output = yaz("find @attr 1=9999 x", "find @attr 2=100 @attr 1=4 x", "find @attr 1=31 @attr 4=4 x",
                        "base nosuch", "find x")
    assert diagnostics(output) == [114, 117, 126, 109]


# -- Present ---------------------------------------------------------------------------------

@pytest.mark.parametrize("element_set", ["F", "B"])
def test_show_usmarc_reads_back_with_yaz_marcdump(server, marcdump, yaz, catalog, tmp_path, element_set):
    dump = tmp_path / "records.mrc"
    output = yaz(f"find {HISTORY}", "format usmarc", f"elements {element_set}", "show 1+5",
                        marc_file=dump)
    assert output.count("Record type: USmarc") == 5
    records = marcdump(dump)
    assert len(records) == 5
    isns = catalog.search(rpn_to_query(parse_pqf(HISTORY)), catalog.database("unikat")).isns(0, 5)
    stored = [parse(title.marc) for title in catalog.records(isns)]
    assert [record["001"] for record in records] == [[marc["001"].data] for marc in stored]
    for record in records:
        assert "245" in record
        if element_set == "B":
            assert set(record) <= {"001", "003", "005", "008", "020", "022", "100", "110", "111", "245", "250",
                                   "260", "264"}
        else:
            assert "852" in record


def test_show_xml_is_valid_marcxml(server, yaz):
    output = yaz(f"find {HISTORY}", "format xml", "show 1", "elements B", "show 2")
    schema = etree.XMLSchema(etree.fromstring(MARC21_SLIM_XSD))
    documents = re.findall(r"<record xmlns=\"http://www.loc.gov/MARC21/slim\">.*?</record>", output, re.S)
    assert len(documents) == 2
    for document in documents:
        schema.assertValid(etree.fromstring(document.encode("utf-8")))


def test_show_sutrs_is_isbd(server, yaz):
    output = yaz(f"find {HISTORY}", "format sutrs", "show 1", "elements B", "show 2",
                        before_open=("negcharset UTF-8",))
    assert output.count("Record type: SUTRS") == 2
    assert output.count("Held by: ") == 1


def test_show_opac_has_holdings(server, yaz):
    output = yaz(f"find {HISTORY}", "format opac", "show 1+2")
    assert output.count("Record type: OPAC") == 2
    assert output.count("nucCode: ") >= 2 and "callNumber: " in output


def test_piggyback(server, yaz):
    output = yaz(f"find {HISTORY}", before_open=("ssub 5", "lslb 1000", "mspn 3", "format usmarc",
                                                  "elements B"))
    assert "records returned: 3" in output
    assert output.count("Record type: USmarc") == 3


def test_present_diagnostics(server, yaz):
    output = yaz(f"find {HISTORY}", "show 5000", "elements X", "show 1", "elements F",
                        "format grs-1", "show 1")
    assert diagnostics(output) == [13, 25, 239]


# -- Scan, Sort, Delete, Close -----------------------------------------------------------------

def test_scan(server, yaz, catalog):
    output = yaz("scanpos 2", "scansize 8", "scan @attr 1=4 history")
    entries, position = catalog.scan("title", "history", count=8, preferred_position=2)
    assert f"{len(entries)} entries, position={position}" in output
    assert [entry for entry in entries if entry.display != entry.term]   # a heading as catalogued
    for entry in entries:                # yaz-client shows the displayTerm: the heading
        assert f"{entry.display} ({entry.count})" in output


@pytest.mark.parametrize("attributes", ["@attr 1=31", "@attr 1=30", "@attr 1=31 @attr 2=3 @attr 4=4"])
def test_scan_of_years(server, yaz, catalog, attributes):
    """Years scan as in Zebra: each year with its titles, not Bib-1 117 for a relation never sent."""
    output = yaz("scansize 5", f"scan {attributes} 1990")
    entries, position = catalog.scan("year", "1990", count=5)
    assert len(entries) == 5 and f"5 entries, position={position}" in output, output
    for entry in entries:
        assert f"{entry.term} ({entry.count})" in output


def test_scan_diagnostics(server, yaz):
    output = yaz("scan @attr 1=9999 x", "scanstep 2", "scan @attr 1=4 history")
    assert output.count("Scan returned code 6") == 2     # scanStatus failure
    assert diagnostics(output) == [114, 205]


@pytest.mark.parametrize("spec, key, descending", [("1=4 <", "title", False), ("1=1003 >", "author", True),
                                                    ("title >", "title", True), ("1=31 <", "year", False)])
def test_sort(server, marcdump, yaz, catalog, tmp_path, spec, key, descending):
    dump = tmp_path / "sorted.mrc"
    output = yaz(f"find {HISTORY}", f"sort {spec}", "show 1+6", marc_file=dump)
    assert "Received SortResponse: status=success" in output
    result = catalog.search(rpn_to_query(parse_pqf(HISTORY)), catalog.database("unikat"))
    isns = catalog.sort(result, [SortKey.named(key, descending)]).isns(0, 6)
    expected = [[parse(title.marc)["001"].data] for title in catalog.records(isns)]
    assert [record["001"] for record in marcdump(dump)] == expected


def test_sort_failure(server, yaz):
    output = yaz(f"find {HISTORY}", "sort 1=21 <")
    assert "Received SortResponse: status=failure" in output
    assert diagnostics(output) == [207]


def test_delete_result_set(server, yaz):
    output = yaz(f"find {HISTORY}", "delete 1", "show 1")
    assert "Got deleteResultSetResponse status=0" in output
    assert diagnostics(output) == [30]


def test_close(server, yaz):
    output = yaz("close")
    assert "Target has closed the association." in output
    assert "Reason: finished, message: Association terminated by client" in output


# -- zoomsh ----------------------------------------------------------------------------------

def test_zoomsh(zoom, catalog):
    output = zoom(f"search {HISTORY}", "show 0 1", "scan @attr 1=4 hist")
    assert f"{expected_hits(catalog, HISTORY)} hits" in output
    assert "syntax=USmarc" in output and "\n245 " in output
    entries, _ = catalog.scan("title", "hist", count=20, preferred_position=1)
    assert f"{entries[0].display} {entries[0].count}" in output   # zoomsh shows the displayTerm


def test_zoomsh_with_charset(server, zoom, catalog):
    output = zoom("set charset UTF-8", f"search {HISTORY}")
    assert f"{expected_hits(catalog, HISTORY)} hits" in output


# -- robustness ------------------------------------------------------------------------------

INIT = encode_pdu("initRequest", {
    "protocolVersion": (b"\xe0", 8), "options": (b"\xe1\x82\x00", 24), "preferredMessageSize": 1 << 20,
    "exceptionalRecordSize": 1 << 20, "implementationName": "unikat test"})
MALFORMED = [b"\x30\x03\x02\x01\x01", b"\xb4\xff\xff\xff\xff\xff", b"GARBAGE\x00\x01", b"\xb6\x03\x02\x01\x00",
             b"\xbf\x25\x03\x02\x01\x00", b"\xb4\x80" + b"\xa0\x80" * 200]


def read_pdu(connection: socket.socket, timeout: float = 10) -> tuple[str, dict] | None:
    connection.settimeout(timeout)
    data = b""
    while True:
        end = find_pdu_end(data) if data else None
        if end is not None:
            return decode_pdu(data[:end])
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk


def test_malformed_pdus_close_only_their_connection(server, yaz, catalog):
    """Flood connections with malformed PDUs while yaz-client keeps searching on another."""
    closes: list[int | None] = []
    stop = threading.Event()

    def flood() -> None:
        round_number = 0
        while not stop.is_set():
            garbage = MALFORMED[round_number % len(MALFORMED)]
            round_number += 1
            with socket.create_connection((server.host, server.port), timeout=10) as connection:
                connection.sendall(INIT)
                assert read_pdu(connection)[0] == "initResponse"
                try:
                    connection.sendall(garbage * 20)
                except OSError:
                    pass    # the server may close before all garbage is sent
                answer = read_pdu(connection)
                closes.append(answer[1]["closeReason"] if answer and answer[0] == "close" else None)

    flooders = [threading.Thread(target=flood, daemon=True) for _ in range(3)]
    for thread in flooders:
        thread.start()
    queries = QUERIES * 3
    try:
        # "setnames" switches yaz-client to the set name "default", so 48 searches stay
        # within the limit of named result sets per session
        output = yaz("setnames", *[f"find {query}" for query in queries])
    finally:
        stop.set()
        for thread in flooders:
            thread.join(30)
    assert hits(output) == [expected_hits(catalog, query) for query in queries]
    print(f"{len(closes)} flooded connections closed while yaz-client searched")
    assert len(closes) >= len(MALFORMED)
    assert set(closes) == {6}     # every flooded connection got Close(protocolError)


def test_idle_connection_is_closed(server):
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(INIT)
        assert read_pdu(connection)[0] == "initResponse"
        started = time.monotonic()
        name, value = read_pdu(connection, timeout=server.idle_timeout + 10)
        assert (name, value["closeReason"]) == ("close", 7)     # lackOfActivity
        assert time.monotonic() - started >= server.idle_timeout - 0.5
        connection.settimeout(5)
        assert connection.recv(100) == b""


def test_sru_answers_on_the_same_port(server, yaz):
    import urllib.request

    url = f"http://{server.host}:{server.port}/unikat?version=1.2&operation=searchRetrieve&query=dc.title%3Dhistory"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
    assert response.status == 200 and b"numberOfRecords" in body
    assert "Number of hits:" in yaz(f"find {HISTORY}")   # Z39.50 on the same port at the same time


def test_server_logs_one_line_per_request(server, yaz):
    yaz(f"find {HISTORY}", "close")
    time.sleep(0.2)
    assert any(re.search(r" worker \d+ 127\.0\.0\.1:\d+ search db=unikat set=1 hits=\d+ [\d.]+ms$", line)
               for line in server.log)


def test_a_dead_worker_is_replaced(server, yaz, catalog):
    import os

    workers = [int(pid) for line in list(server.log) for pid in re.findall(r" worker (\d+) serving$", line)]
    assert len(workers) >= 2
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(f"worker {victim} ended (killed by signal 9)" in line
                                                  for line in server.log):
        time.sleep(0.1)
    while time.monotonic() < deadline and len(re.findall(r" serving$", "\n".join(server.log), re.M)) <= len(workers):
        time.sleep(0.1)
    assert any(f"worker {victim} ended (killed by signal 9); starting another" in line for line in server.log)
    for _ in range(4):      # whichever worker the kernel hands the connection to answers
        assert hits(yaz(f"find {HISTORY}")) == [expected_hits(catalog, HISTORY)]
