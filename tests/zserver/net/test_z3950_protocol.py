"""Wiring of the Twisted layer: bytes in and out through StringTransport, time through
task.Clock. No search logic is tested here (that is test_handler.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from zserver.net.admission import REFUSALS_WAITING, ConnectionLimits
from zserver.net.app import REFUSAL_WAIT, SwitchFactory, sniff
from zserver.net.worker import Worker
from zserver.net.z3950 import Z3950Factory
from zserver.z3950.codec import decode_pdu, find_pdu_end

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
INIT = (PDUS / "init-plain-01-c-initRequest.ber").read_bytes()
SEARCH = (PDUS / "search-rpn-03-c-searchRequest.ber").read_bytes()
CLOSE = (PDUS / "init-plain-03-c-close.ber").read_bytes()
PEER = IPv4Address("TCP", "127.0.0.1", 5555)


@pytest.fixture()
def factory(sample_home):
    lines: list[str] = []
    worker = Worker.open(sample_home, log=lines.append)
    made = Z3950Factory(worker, clock=Clock())
    made.lines = lines
    made.idle_timeout = worker.idle_timeout
    made.doStart()
    yield made
    made.doStop()
    worker.close()


def connect(factory):
    protocol = factory.buildProtocol(PEER)
    transport = StringTransport(peerAddress=PEER)
    protocol.makeConnection(transport)
    return protocol, transport


def pdus(transport: StringTransport) -> list[tuple[str, dict]]:
    """Every PDU written so far, decoded; the transport is emptied."""
    data, found = transport.value(), []
    transport.clear()
    while data:
        end = find_pdu_end(data)
        found.append(decode_pdu(data[:end]))
        data = data[end:]
    return found


def test_init_and_search(factory):
    protocol, transport = connect(factory)
    protocol.dataReceived(INIT + SEARCH)
    (init_name, init), (search_name, search) = pdus(transport)
    assert (init_name, init["result"], search_name) == ("initResponse", True, "searchResponse")
    assert search["searchStatus"] is True
    assert any("127.0.0.1:5555 search db=" in line and line.endswith("ms") for line in factory.lines)
    assert not transport.disconnecting


def test_bytes_one_at_a_time(factory):
    protocol, transport = connect(factory)
    for position in range(len(INIT)):
        assert transport.value() == b""
        protocol.dataReceived(INIT[position:position + 1])
    assert pdus(transport)[0][0] == "initResponse"


def test_garbage_gets_close_protocol_error_and_drops_only_that_connection(factory):
    bad, bad_transport = connect(factory)
    good, good_transport = connect(factory)
    good.dataReceived(INIT)
    bad.dataReceived(INIT + b"\x30\x03\x02\x01\x01")
    assert [name for name, _ in pdus(bad_transport)] == ["initResponse", "close"]
    assert bad_transport.disconnecting
    assert sum("protocol error" in line for line in factory.lines) == 1
    bad.connectionLost(Failure(ConnectionDone()))
    good.dataReceived(SEARCH)
    assert [name for name, _ in pdus(good_transport)] == ["initResponse", "searchResponse"]
    assert not good_transport.disconnecting


def test_search_before_init_is_closed(factory):
    protocol, transport = connect(factory)
    protocol.dataReceived(SEARCH)
    ((name, value),) = pdus(transport)
    assert (name, value["closeReason"]) == ("close", 6)
    assert "searchRequest not allowed" in value["diagnosticInformation"]
    assert transport.disconnecting


def test_client_close(factory):
    protocol, transport = connect(factory)
    protocol.dataReceived(INIT + CLOSE)
    assert [(name, value.get("closeReason")) for name, value in pdus(transport)] == [
        ("initResponse", None), ("close", 0)]
    assert transport.disconnecting


def test_idle_timeout_sends_close_lack_of_activity(factory):
    protocol, transport = connect(factory)
    protocol.dataReceived(INIT)
    pdus(transport)
    factory.clock.advance(factory.idle_timeout - 1)
    protocol.dataReceived(SEARCH)          # activity restarts the timer
    pdus(transport)
    factory.clock.advance(factory.idle_timeout - 1)
    assert transport.value() == b"" and not transport.disconnecting
    factory.clock.advance(1)
    ((name, value),) = pdus(transport)
    assert (name, value["closeReason"]) == ("close", 7)
    assert transport.disconnecting
    protocol.connectionLost(Failure(ConnectionDone()))
    assert not factory.clock.getDelayedCalls()


def test_our_bug_gets_diagnostic_1_and_a_logged_traceback(factory, monkeypatch):
    protocol, transport = connect(factory)
    protocol.dataReceived(INIT)
    pdus(transport)

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(protocol.handler, "handle", broken)
    protocol.dataReceived(SEARCH)
    ((name, value),) = pdus(transport)
    assert name == "searchResponse" and value["searchStatus"] is False
    assert value["records"][1]["condition"] == 1
    assert any("RuntimeError: boom" in line for line in factory.lines)
    assert not transport.disconnecting


def test_bug_while_answering_the_bug_closes_with_system_problem(factory, monkeypatch):
    protocol, transport = connect(factory)
    protocol.dataReceived(INIT)
    pdus(transport)

    def broken(*arguments):
        raise RuntimeError("boom")

    monkeypatch.setattr(protocol.handler, "handle", broken)
    monkeypatch.setattr(protocol.handler, "failure", broken)
    protocol.dataReceived(SEARCH)
    ((name, value),) = pdus(transport)
    assert (name, value["closeReason"]) == ("close", 2)
    assert transport.disconnecting


def test_close_all_on_shutdown(factory):
    first, first_transport = connect(factory)
    second, second_transport = connect(factory)
    first.dataReceived(INIT)
    pdus(first_transport)
    factory.close_all()
    for transport in (first_transport, second_transport):
        ((name, value),) = pdus(transport)
        assert (name, value["closeReason"]) == ("close", 1)
        assert transport.disconnecting


def test_the_switch_owns_the_worker(sample_home):
    switch = SwitchFactory(sample_home, log=lambda line: None, http=lambda worker: Factory())
    switch.doStart()
    worker = switch.worker
    assert worker is not None and switch.z3950.worker is worker and switch.http is not None
    worker.catalog.store.db.execute("SELECT 1")    # open
    switch.doStop()
    assert switch.worker is None and switch.z3950 is None and switch.http is None
    with pytest.raises((sqlite3.ProgrammingError, psycopg.OperationalError)):   # SQLite's or PostgreSQL's store
        worker.catalog.store.db.execute("SELECT 1")    # closed with the switch


# -- the first-byte switch (the seam for SRU over HTTP) --------------------------------------

@pytest.mark.parametrize("first, kind", [(b"", None), (b"\xb4", "z3950"), (b"GET / HTTP/1.1", "http"),
                                         (b"POST /unikat", "http"), (b"\x00garbage", "z3950")])
def test_sniff(first, kind):
    assert sniff(first) == kind


@pytest.fixture()
def switch(sample_home):
    made = SwitchFactory(sample_home, log=lambda line: None, clock=Clock())
    made.doStart()
    yield made
    made.doStop()


def test_switch_hands_z3950_over(switch):
    protocol, transport = connect(switch)
    protocol.dataReceived(INIT[:1])
    protocol.dataReceived(INIT[1:] + SEARCH)
    assert [name for name, _ in pdus(transport)] == ["initResponse", "searchResponse"]
    assert len(switch.z3950.connections) == 1
    protocol.connectionLost(Failure(ConnectionDone()))
    assert not switch.z3950.connections


def test_switch_without_an_http_factory_answers_http_with_501(switch):
    protocol, transport = connect(switch)
    protocol.dataReceived(b"GET /unikat?version=1.2&operation=explain HTTP/1.1\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.0 501 ")
    assert transport.disconnecting


def test_switch_times_out_silent_connections(sample_home):
    clock = Clock()
    switch = SwitchFactory(sample_home, log=lambda line: None, clock=clock, idle_timeout=30)
    switch.doStart()
    protocol, transport = connect(switch)
    clock.advance(29)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting and transport.value() == b""
    switch.doStop()


def test_switch_hands_http_to_the_factory_built_from_the_worker(sample_home):
    from twisted.internet.protocol import Protocol

    class Echo(Protocol):
        def dataReceived(self, data):
            self.transport.write(b"echo:" + data)

    built = []

    def http_for(worker):
        built.append(worker)
        return Factory.forProtocol(Echo)

    switch = SwitchFactory(sample_home, log=lambda line: None, http=http_for, clock=Clock())
    switch.doStart()
    assert built == [switch.worker]
    protocol, transport = connect(switch)
    protocol.dataReceived(b"GE")
    protocol.dataReceived(b"T / HTTP/1.1\r\n")
    assert transport.value() == b"echo:GE" + b"echo:T / HTTP/1.1\r\n"
    switch.doStop()
    assert switch.http is None


# -- limits on connections (issue 16) -----------------------------------------------------------

def test_a_connection_without_an_init_is_closed_after_init_timeout(factory):
    protocol, transport = connect(factory)
    init_timeout = factory.worker.connections.init_timeout
    protocol.dataReceived(INIT[:10])                    # an InitRequest begun, never finished
    factory.clock.advance(init_timeout - 1)
    protocol.dataReceived(INIT[10:20])                  # bytes do not restart this clock
    assert transport.value() == b"" and not transport.disconnecting
    factory.clock.advance(1)
    ((name, value),) = pdus(transport)
    assert (name, value["closeReason"]) == ("close", 7)
    assert value["diagnosticInformation"] == f"no InitRequest within {init_timeout:g} seconds"
    assert transport.disconnecting
    assert f"127.0.0.1:5555 closed: no InitRequest within {init_timeout:g}s" in factory.lines
    protocol.connectionLost(Failure(ConnectionDone()))
    assert not factory.clock.getDelayedCalls()


def test_the_init_timeout_ends_with_the_init(factory):
    protocol, transport = connect(factory)
    protocol.dataReceived(INIT)
    pdus(transport)
    factory.clock.advance(factory.worker.connections.init_timeout + 1)
    assert transport.value() == b"" and not transport.disconnecting
    assert len(factory.clock.getDelayedCalls()) == 1    # the idle timeout only


def connect_from(factory, host: str, port: int = 5555):
    peer = IPv4Address("TCP", host, port)
    protocol = factory.buildProtocol(peer)
    if protocol is None:
        return None, None
    transport = StringTransport(peerAddress=peer)
    protocol.makeConnection(transport)
    return protocol, transport


@pytest.fixture()
def limited(sample_home):
    """A switch taking 3 connections, 2 from one address; it logs into `lines`."""
    lines: list[str] = []
    made = SwitchFactory(sample_home, log=lines.append, clock=Clock(), file_limit=False,
                         limits=ConnectionLimits(max_connections=3, max_connections_per_address=2))
    made.lines = lines
    made.doStart()
    yield made
    made.doStop()


def test_over_the_limit_z3950_gets_close_resources_and_http_503(limited):
    admitted = [connect_from(limited, "10.0.0.1", port) for port in (1, 2)] + [connect_from(limited, "10.0.0.2")]
    z3950, z3950_transport = connect_from(limited, "10.0.0.3")
    http, http_transport = connect_from(limited, "10.0.0.4")
    z3950.dataReceived(INIT)
    ((name, value),) = pdus(z3950_transport)
    assert (name, value["closeReason"]) == ("close", 4)
    assert value["diagnosticInformation"] == "too many connections (3 open); try again later"
    assert z3950_transport.disconnecting
    http.dataReceived(b"GET /unikat?operation=explain HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = http_transport.value()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nRetry-After: 10\r\n" in answer
    assert answer.endswith(b"\r\n\r\ntoo many connections (3 open); try again later\r\n")
    assert http_transport.disconnecting
    assert not limited.z3950.connections              # the refused never reached Z39.50
    for protocol, transport in admitted:                 # the admitted are served
        protocol.dataReceived(INIT)
        assert [name for name, _ in pdus(transport)] == ["initResponse"]
    refusals = [line for line in limited.lines if line.startswith("refused")]
    assert refusals == ["refused: 10.0.0.3: too many connections (3 open); try again later"]  # the next: counted


def test_the_per_address_limit_and_a_freed_slot(limited):
    first, _ = connect_from(limited, "10.0.0.1", 1)
    connect_from(limited, "10.0.0.1", 2)
    refused, transport = connect_from(limited, "10.0.0.1", 3)
    refused.dataReceived(INIT)
    ((name, value),) = pdus(transport)
    assert value == {"closeReason": 4,
                     "diagnosticInformation": "too many connections from 10.0.0.1 (2 open); try again later"}
    refused.connectionLost(Failure(ConnectionDone()))
    first.connectionLost(Failure(ConnectionDone()))
    again, transport = connect_from(limited, "10.0.0.1", 4)
    again.dataReceived(INIT)
    assert [name for name, _ in pdus(transport)] == ["initResponse"]
    assert limited.admission.total == 2 and not limited.waiting


def test_refused_connections_wait_briefly_and_only_so_many(limited):
    for port in range(3):
        connect_from(limited, "10.0.0.1" if port < 2 else "10.0.0.2", port)
    waiting = [connect_from(limited, "10.0.0.9", port) for port in range(REFUSALS_WAITING)]
    assert len(limited.waiting) == REFUSALS_WAITING
    newest, newest_transport = connect_from(limited, "10.0.0.8")
    oldest, oldest_transport = waiting.pop(0)
    assert oldest_transport.disconnecting and oldest_transport.value() == b""   # made room
    oldest.connectionLost(Failure(ConnectionDone()))
    assert len(limited.waiting) == REFUSALS_WAITING
    newest.dataReceived(INIT)                     # the newest still gets its answer
    assert pdus(newest_transport)[0][1]["closeReason"] == 4
    newest.connectionLost(Failure(ConnectionDone()))
    limited.clock.advance(REFUSAL_WAIT)          # the silent: closed without a word
    assert all(transport.disconnecting and transport.value() == b"" for _, transport in waiting)
    for protocol, _ in waiting:
        protocol.connectionLost(Failure(ConnectionDone()))
    assert not limited.waiting and limited.admission.total == 3
    # one line for the first refusal, then after 10 s one counting the others
    assert len(limited.lines) == 1
    limited.clock.advance(10)
    assert limited.lines[1] == f"refused {REFUSALS_WAITING} more connection(s) in the last 10s" \
        " (not logged one by one)"


def test_the_first_byte_timeout_is_the_configured_one(switch):
    first_byte_timeout = switch.worker.connections.first_byte_timeout
    assert switch.idle_timeout == first_byte_timeout < switch.worker.idle_timeout
    protocol, transport = connect(switch)
    switch.clock.advance(first_byte_timeout - 1)
    assert not transport.disconnecting
    switch.clock.advance(1)
    assert transport.disconnecting and transport.value() == b""
