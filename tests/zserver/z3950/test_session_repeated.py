"""Requests a client sends again byte for byte are decoded once per worker (`DecodedRequests`, shared
by its sessions): the same PDU comes back, nothing in it is changed by answering it, and only small
search, present and scan requests are kept, at most `[server] decoded_requests` of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.search import Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import rpn_to_asn1
from zserver.z3950 import session as session_module
from zserver.z3950.codec import decode_pdu, encode_pdu
from zserver.z3950.handler import Handler
from zserver.z3950.pdus import from_asn1
from zserver.z3950.session import DecodedRequests, Session

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
INIT = (PDUS / "init-plain-01-c-initRequest.ber").read_bytes()
# a search, a present of its set, and a scan, as yaz-client sent them
REQUESTS = [(PDUS / f"{name}.ber").read_bytes() for name in
            ("present-usmarc-03-c-searchRequest", "present-usmarc-05-c-presentRequest", "scan-03-c-scanRequest")]


@pytest.fixture()
def decodes(monkeypatch) -> list[bytes]:
    """The PDUs sessions decode."""
    seen: list[bytes] = []

    def counted(data: bytes):
        seen.append(data)
        return decode_pdu(data)

    monkeypatch.setattr(session_module, "decode_pdu", counted)
    return seen


def _opened(catalog: Catalog, decoded: DecodedRequests) -> tuple[Session, Handler]:
    session, handler = Session(decoded=decoded), Handler(catalog)
    session.receive_data(INIT)
    session.send(handler.handle(session.next_event()).pdu)
    return session, handler


def _answer(session: Session, handler: Handler, data: bytes) -> bytes:
    session.receive_data(data)
    return session.send(handler.handle(session.next_event()).pdu)


def _search(word: str) -> bytes:
    return encode_pdu("searchRequest", {
        "smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0, "replaceIndicator": True,
        "resultSetName": "default", "databaseNames": ["unikat"],
        "query": ("type-1", rpn_to_asn1(parse_pqf(f"@attr 1=4 {word}")))})


def test_a_repeated_request_is_decoded_once_and_answered_alike(sample_home, decodes):
    catalog, decoded = Catalog(sample_home), DecodedRequests()
    try:
        for _ in range(2):   # two connections: what one read, the other need not read again
            session, handler = _opened(catalog, decoded)
            answers = [[_answer(session, handler, data) for data in REQUESTS] for _ in range(3)]
            assert answers[0] == answers[1] == answers[2]
    finally:
        catalog.close()
    assert decodes == [INIT, *REQUESTS, INIT]
    for data in REQUESTS:   # as read: answering changed nothing in them
        assert decoded.get(data) == from_asn1(*decode_pdu(data), wire_size=len(data))


def test_inits_and_long_requests_are_decoded_each_time(sample_home, decodes):
    long = _search('"' + "history " * 80 + '"')
    assert len(long) > DecodedRequests.LONGEST
    catalog, decoded = Catalog(sample_home), DecodedRequests()
    try:
        for _ in range(2):
            session, handler = _opened(catalog, decoded)
            _answer(session, handler, long)
    finally:
        catalog.close()
    assert decodes == [INIT, long, INIT, long]
    assert len(decoded) == 0


@pytest.mark.parametrize("limit", [0, 4])
def test_the_requests_kept_decoded_are_bounded(sample_home, decodes, limit):
    words = ["history", "water", "music", "america", "law", "art"]
    catalog, decoded = Catalog(sample_home), DecodedRequests(limit)
    try:
        session, handler = _opened(catalog, decoded)
        for word in words * 2:
            _answer(session, handler, _search(word))
    finally:
        catalog.close()
    assert len(decoded) == limit and all(_search(word) in decoded for word in words[len(words) - limit:])
    assert len(decodes) == 1 + 2 * len(words)   # more words than kept: each decoded again


def test_a_worker_keeps_as_many_as_its_configuration_says(sample_home, tmp_path):
    from conftest import copy_home

    from zserver.net.worker import Worker

    home = copy_home(sample_home, tmp_path / "home")
    home.config_path.write_text(home.config_path.read_text().replace("[server]", "[server]\ndecoded_requests = 7", 1))
    worker = Worker.open(home)
    try:
        assert worker.decoded.limit == 7
    finally:
        worker.close()


def test_a_request_not_allowed_yet_is_not_kept(decodes):
    """A search before Init is a protocol violation: it must not fill the worker's requests."""
    decoded = DecodedRequests()
    session = Session(decoded=decoded)
    session.receive_data(REQUESTS[0])
    assert type(session.next_event()).__name__ == "ProtocolViolation"
    assert len(decoded) == 0
