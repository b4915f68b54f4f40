"""Limits on connections over real sockets against `unikat serve` (issue 16: no cap on
connections): the per-address and total limits answer Z39.50 with a Close (resources) and HTTP
with 503, a silent connection is closed after first_byte_timeout, an unfinished Init after
init_timeout, and the server keeps serving those within the limits."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
from conftest import copy_home
from test_yaz_client import start_serving, stop_serving

from index.home import Home
from zserver.z3950.codec import decode_pdu, find_pdu_end

pytestmark = pytest.mark.integration

PDUS = Path(__file__).resolve().parents[1] / "data" / "pdus"
INIT = (PDUS / "init-plain-01-c-initRequest.ber").read_bytes()
FIRST_BYTE_TIMEOUT = 1.5
INIT_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def server(sample_homes, tmp_path_factory):
    """One worker over the sample catalog, taking 4 connections, 3 from one address."""
    root = tmp_path_factory.mktemp("limits") / "home"
    copy_home(sample_homes["whoosh"], root)
    config = root / "unikat.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^idle_timeout = .*$", "\\g<0>\nmax_connections = 4\nmax_connections_per_address = 3\n"
                  f"first_byte_timeout = {FIRST_BYTE_TIMEOUT}\ninit_timeout = {INIT_TIMEOUT}", text, count=1)
    config.write_text(text, encoding="utf-8")
    running = start_serving(Home(root), workers=1)
    time.sleep(0.5)     # until the worker has seen the end of start_serving's probe connection
    yield running
    stop_serving(running)


def _connect(server, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10, source_address=(source, 0))
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _pdu(sock: socket.socket) -> tuple[str, dict]:
    data = b""
    while (end := find_pdu_end(data) if data else None) is None:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a whole PDU"
        data += chunk
    return decode_pdu(data[:end])


def _init(sock: socket.socket) -> None:
    sock.sendall(INIT)
    name, value = _pdu(sock)
    assert (name, value.get("result")) == ("initResponse", True), value


def test_per_address_and_total_limits(server):
    mine = [_connect(server) for _ in range(3)]
    for sock in mine:
        _init(sock)
    over = _connect(server)
    over.sendall(INIT)
    name, value = decode_pdu(_read_all(over))
    assert (name, value["closeReason"]) == ("close", 4)
    assert value["diagnosticInformation"] == "too many connections from 127.0.0.1 (3 open); try again later"
    other = _connect(server, "127.0.0.2")          # another address: the fourth and last slot
    _init(other)
    full = _connect(server, "127.0.0.3")
    full.sendall(b"GET /unikat?operation=explain&version=1.2 HTTP/1.1\r\nHost: localhost\r\n\r\n")
    answer = _read_all(full)
    assert answer.startswith(b"HTTP/1.1 503 ") and b"\r\nRetry-After: 10\r\n" in answer
    assert answer.endswith(b"too many connections (4 open); try again later\r\n")
    for sock in mine + [other, over, full]:
        sock.close()
    deadline = time.monotonic() + 10
    while True:                                      # the server notices the closes soon
        again = _connect(server)
        again.sendall(INIT)
        name, value = _pdu(again)
        again.close()
        if name == "initResponse" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert name == "initResponse"
    deadline = time.monotonic() + 5   # the log is read from the server's stderr by a thread of its own
    while not any("refused: 127.0.0.1: too many connections from 127.0.0.1" in line for line in server.log):
        assert time.monotonic() < deadline, "no refusal logged:\n" + "\n".join(server.log[-30:])
        time.sleep(0.05)


def test_silent_and_slow_connections_are_closed(server):
    silent = _connect(server)
    slow = _connect(server)
    slow.sendall(INIT[:10])
    started = time.monotonic()
    assert _read_all(silent) == b""
    assert FIRST_BYTE_TIMEOUT - 0.5 < time.monotonic() - started < FIRST_BYTE_TIMEOUT + 5
    name, value = decode_pdu(_read_all(slow))
    assert (name, value["closeReason"]) == ("close", 7)
    assert value["diagnosticInformation"] == f"no InitRequest within {INIT_TIMEOUT:g} seconds"
    silent.close()
    slow.close()
