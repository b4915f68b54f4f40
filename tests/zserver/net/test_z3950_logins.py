"""Wiring of logins in the Twisted layer: the connections of a worker share its LoginGuard and
tell it the client's address, so failed Inits add up across connections (per address, per name)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from zserver.net.worker import Worker
from zserver.net.z3950 import Z3950Factory
from zserver.z3950.codec import decode_pdu, encode_pdu
from zserver.z3950.pdus import IdPass, from_asn1, to_asn1

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
INIT = from_asn1(*decode_pdu((PDUS / "init-plain-01-c-initRequest.ber").read_bytes()))


def init_bytes(user: str, password: str) -> bytes:
    request = dataclasses.replace(INIT, id_authentication=("idPass", IdPass(user_id=user, password=password)))
    return encode_pdu(*to_asn1(request))


@pytest.fixture()
def factory(sample_home):
    worker = Worker.open(sample_home, log=lambda line: None)
    made = Z3950Factory(worker, clock=Clock())
    made.doStart()
    yield made
    made.doStop()
    worker.close()


def init_result(factory, host: str, user: str, password: str) -> bool:
    peer = IPv4Address("TCP", host, 40000)
    protocol = factory.buildProtocol(peer)
    transport = StringTransport(peerAddress=peer)
    protocol.makeConnection(transport)
    protocol.dataReceived(init_bytes(user, password))
    name, response = decode_pdu(transport.value())
    assert name == "initResponse"
    return response["result"]


def test_failed_inits_add_up_across_connections_of_one_address(factory):
    failures = factory.worker.login_guard.policy.max_failures
    for number in range(failures):
        assert init_result(factory, "192.0.2.10", f"guess{number}", "x") is False
    assert init_result(factory, "192.0.2.10", "librarian", "secret") is False     # locked: the address
    assert init_result(factory, "192.0.2.11", "librarian", "secret") is True      # another address


def test_failed_inits_add_up_across_addresses_for_one_name(factory):
    failures = factory.worker.login_guard.policy.max_failures
    for number in range(failures):
        assert init_result(factory, f"198.51.100.{number}", "librarian", "guess") is False
    assert init_result(factory, "203.0.113.1", "librarian", "secret") is False    # locked: the name
