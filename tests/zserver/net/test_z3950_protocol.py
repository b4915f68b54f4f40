"""Wiring of the Twisted layer: bytes in and out through StringTransport, time through
task.Clock. No search logic is tested here (that is test_handler.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from zserver.net.app import SwitchFactory, sniff
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
    with pytest.raises(sqlite3.ProgrammingError):
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
