"""The sans-I/O session: captured yaz-client/zoomsh PDUs in (whole, byte by byte, with trailing
bytes), events out; the state table enforced both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from zserver.z3950 import codec
from zserver.z3950.codec import DEFAULT_MAX_PDU_ELEMENTS, decode_pdu, encode_pdu
from zserver.z3950.pdus import (
    PDU_CLASSES,
    Close,
    InitRequest,
    InitResponse,
    SearchRequest,
    SearchResponse,
    from_asn1,
    to_asn1,
)
from zserver.z3950.session import (
    NEED_DATA,
    PAUSED,
    CloseReason,
    LocalProtocolError,
    ProtocolViolation,
    Session,
    close_pdu,
)
from zserver.z3950.state import RECEIVE, REJECTED, RESPONSE_TO, SEND, SERVICE_RESPONSES, State, event_type

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
CLIENT_PDUS = sorted(PDUS.glob("*-c-*.ber"))
INIT = (PDUS / "init-plain-01-c-initRequest.ber").read_bytes()
SEARCH = (PDUS / "search-rpn-03-c-searchRequest.ber").read_bytes()
ACCEPTED = InitResponse(protocol_version=frozenset({0, 1, 2}), options=frozenset({0, 1, 2}),
                        preferred_message_size=1 << 20, exceptional_record_size=1 << 20, result=True)
REJECTED_INIT = InitResponse(protocol_version=frozenset({0, 1, 2}), options=frozenset({0, 1, 2}),
                             preferred_message_size=1 << 20, exceptional_record_size=1 << 20, result=False)
SEARCH_RESPONSE = SearchResponse(result_count=0, number_of_records_returned=0, next_result_set_position=1,
                                 search_status=True)


def open_session(max_pdu_size: int = 1 << 20) -> Session:
    """A session past an accepted Init."""
    session = Session(max_pdu_size)
    session.receive_data(INIT)
    event = session.next_event()
    assert isinstance(event, InitRequest)
    session.send(ACCEPTED)
    assert session.state is State.OPEN
    return session


def ready_for(data: bytes) -> Session:
    name, _ = decode_pdu(data)
    return Session() if name in ("initRequest", "close") else open_session()


def test_there_are_client_captures():
    assert len(CLIENT_PDUS) >= 30


@pytest.mark.parametrize("path", CLIENT_PDUS, ids=lambda path: path.stem)
def test_captured_request_whole(path):
    data = path.read_bytes()
    session = ready_for(data)
    session.receive_data(data)
    event = session.next_event()
    assert event == from_asn1(*decode_pdu(data))
    assert event.wire_size == len(data)
    assert session.next_event() is PAUSED
    assert session.response_due is RESPONSE_TO[type(event)]


@pytest.mark.parametrize("path", CLIENT_PDUS, ids=lambda path: path.stem)
def test_captured_request_byte_by_byte(path):
    data = path.read_bytes()
    session = ready_for(data)
    for position in range(len(data) - 1):
        session.receive_data(data[position:position + 1])
        assert session.next_event() is NEED_DATA
    session.receive_data(data[-1:])
    event = session.next_event()
    assert event == from_asn1(*decode_pdu(data)) and event.wire_size == len(data)


@pytest.mark.parametrize("path", CLIENT_PDUS, ids=lambda path: path.stem)
def test_captured_request_with_trailing_bytes(path):
    data = path.read_bytes()
    session = ready_for(data)
    session.receive_data(data + SEARCH[:7])
    event = session.next_event()
    assert event == from_asn1(*decode_pdu(data)) and event.wire_size == len(data)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000])
def test_pipelined_requests_in_any_chunks(chunk):
    session = Session()
    stream = INIT + SEARCH + SEARCH
    names = []
    for start in range(0, len(stream), chunk):
        session.receive_data(stream[start:start + chunk])
        while True:
            event = session.next_event()
            if event is NEED_DATA:
                break
            assert isinstance(event, InitRequest | SearchRequest)
            names.append(type(event))
            session.send(ACCEPTED if isinstance(event, InitRequest) else SEARCH_RESPONSE)
    assert names == [InitRequest, SearchRequest, SearchRequest]


def test_paused_until_the_response_is_sent():
    session = Session()
    session.receive_data(INIT + SEARCH)
    assert isinstance(session.next_event(), InitRequest)
    assert session.next_event() is PAUSED
    session.send(ACCEPTED)
    assert isinstance(session.next_event(), SearchRequest)


@pytest.mark.parametrize("garbage", [b"GET / HTTP/1.0\r\n\r\n", b"\x30\x03\x02\x01\x01", b"\xb4\xff\x00",
                                     b"\x00\x00\x00", b"\xb4\x85\x01\x02\x03\x04\x05"])
def test_garbage_is_a_violation(garbage):
    session = Session()
    session.receive_data(garbage)
    event = session.next_event()
    assert isinstance(event, ProtocolViolation)
    assert session.state is State.ERROR
    assert session.next_event() is PAUSED
    session.receive_data(INIT)
    assert session.next_event() is PAUSED
    data = session.send(close_pdu(CloseReason.PROTOCOL_ERROR, event.reason))
    assert decode_pdu(data) == ("close", {"closeReason": 6, "diagnosticInformation": event.reason})
    assert session.closed


@pytest.mark.parametrize("start", [
    b"\xb6\x83\x01\x00\x00",                  # declares 65536 bytes
    b"\xb6\x80" + b"\x04\x50" + b"x" * 80 + b"\x04\x50" + b"x" * 40,  # indefinite, grows past the limit
])
def test_oversize_pdu_is_a_violation_before_it_arrives_whole(start):
    session = Session(max_pdu_size=100)
    session.receive_data(start)
    event = session.next_event()
    assert isinstance(event, ProtocolViolation)
    assert "larger than 100" in event.reason


def test_pdu_at_the_size_limit_is_accepted():
    session = Session(max_pdu_size=len(INIT))
    session.receive_data(INIT)
    assert isinstance(session.next_event(), InitRequest)


def test_unknown_pdu_is_a_violation():
    # accessControlRequest [37]: well-formed BER, a PDU our ASN.1 leaves out
    session = open_session()
    session.receive_data(b"\xbf\x25\x03\x02\x01\x00")
    event = session.next_event()
    assert isinstance(event, ProtocolViolation)
    assert "[37]" in event.reason


def test_undecodable_pdu_is_a_violation():
    session = open_session()
    session.receive_data(b"\xb6\x03\x02\x01\x00")   # a searchRequest missing everything
    event = session.next_event()
    assert isinstance(event, ProtocolViolation)
    assert "undecodable" in event.reason


def test_search_before_init_is_a_violation():
    session = Session()
    session.receive_data(SEARCH)
    event = session.next_event()
    assert isinstance(event, ProtocolViolation)
    assert "searchRequest not allowed in state awaiting-init" == event.reason


def test_second_init_is_a_violation():
    session = open_session()
    session.receive_data(INIT)
    assert isinstance(session.next_event(), ProtocolViolation)


def test_a_response_pdu_from_the_client_is_a_violation():
    session = open_session()
    session.receive_data(encode_pdu(*to_asn1(SEARCH_RESPONSE)))
    assert isinstance(session.next_event(), ProtocolViolation)


def test_client_close_before_init():
    session = Session()
    session.receive_data((PDUS / "init-plain-03-c-close.ber").read_bytes())
    event = session.next_event()
    assert isinstance(event, Close) and session.state is State.CLOSING
    session.send(close_pdu(CloseReason.FINISHED))
    assert session.closed
    assert session.next_event() is PAUSED


def test_client_close_after_init():
    session = open_session()
    session.receive_data((PDUS / "init-plain-03-c-close.ber").read_bytes() + SEARCH)
    assert isinstance(session.next_event(), Close)
    assert session.next_event() is PAUSED
    with pytest.raises(LocalProtocolError):
        session.send(SEARCH_RESPONSE)
    session.send(close_pdu(CloseReason.FINISHED))
    assert session.closed


def test_rejected_init_closes():
    session = Session()
    session.receive_data(INIT)
    session.next_event()
    session.send(REJECTED_INIT)
    assert session.closed
    session.receive_data(SEARCH)
    assert session.next_event() is PAUSED


def test_sending_out_of_turn_is_our_bug():
    session = Session()
    with pytest.raises(LocalProtocolError):
        session.send(ACCEPTED)
    session.receive_data(INIT)
    session.next_event()
    with pytest.raises(LocalProtocolError):
        session.send(SEARCH_RESPONSE)
    session.send(close_pdu(CloseReason.SHUTDOWN))
    with pytest.raises(LocalProtocolError):
        session.send(close_pdu(CloseReason.SHUTDOWN))


def test_server_close_at_any_open_state():
    for session in (Session(), open_session()):
        data = session.send(close_pdu(CloseReason.SHUTDOWN, "bye", reference_id=b"r1"))
        assert decode_pdu(data) == ("close", {"referenceId": b"r1", "closeReason": 1, "diagnosticInformation": "bye"})
        assert session.closed


def test_idle_close():
    session = open_session()
    assert session.idle_close(10, 900) is None
    data = session.idle_close(900, 900)
    name, value = decode_pdu(data)
    assert (name, value["closeReason"]) == ("close", CloseReason.LACK_OF_ACTIVITY)
    assert session.closed
    assert session.idle_close(2000, 900) is None


def test_idle_close_before_init():
    session = Session()
    assert decode_pdu(session.idle_close(60, 60))[1]["closeReason"] == 7


def test_table_is_consistent():
    requests = set(RESPONSE_TO)
    for (_state, request), following in RECEIVE.items():
        assert request in requests
        assert (following, RESPONSE_TO[request]) in SEND or following is State.CLOSING
    for response in SERVICE_RESPONSES.values():
        assert (State.OPEN, response) in SEND
    assert not any(state is State.CLOSED for state, _ in RECEIVE)
    assert not any(state is State.CLOSED for state, _ in SEND)
    assert set(RESPONSE_TO) | set(RESPONSE_TO.values()) == set(PDU_CLASSES.values())


def test_rejected_init_is_a_rule_of_the_table():
    assert event_type(ACCEPTED) is InitResponse
    assert event_type(REJECTED_INIT) == (InitResponse, REJECTED)
    assert SEND[(State.INITIALIZING, InitResponse)] is State.OPEN
    assert SEND[(State.INITIALIZING, (InitResponse, REJECTED))] is State.CLOSED
    assert event_type(SEARCH_RESPONSE) is SearchResponse


# -- work per PDU (issue 16: quadratic framing) -------------------------------------------------

def _counting_header_reads(monkeypatch, budget: int) -> list[int]:
    """Count the BER headers framing reads; past `budget` reads, fail at once (the quadratic
    framer would otherwise take minutes to fail)."""
    reads = [0]
    real = codec._read_header

    def counting(buf, offset):
        reads[0] += 1
        assert reads[0] <= budget, f"more than {budget} BER headers read: framing is not linear"
        return real(buf, offset)

    monkeypatch.setattr(codec, "_read_header", counting)
    return reads


def _feed(session: Session, data: bytes, piece: int = 1024) -> tuple[object, int]:
    """Feed `data` in pieces; the first event that is not NEED_DATA (or the last), and the
    number of pieces fed."""
    pieces, event = 0, NEED_DATA
    for start in range(0, len(data), piece):
        session.receive_data(data[start:start + piece])
        pieces += 1
        event = session.next_event()
        if event is not NEED_DATA:
            break
    return event, pieces


def test_hostile_indefinite_pdu_is_framed_in_linear_time(monkeypatch):
    # 90,000 empty OCTET STRINGs under the default limit, in 1 KB pieces, then end-of-contents
    values = 90_000
    hostile = b"\xb4\x80" + b"\x04\x00" * values
    pieces = len(hostile) // 1024 + 1
    reads = _counting_header_reads(monkeypatch, budget=values + 1 + 2 * pieces)
    session = Session(max_pdu_size=len(hostile) + 2)
    event, _ = _feed(session, hostile)
    assert event is NEED_DATA
    assert reads[0] <= values + 1 + 2 * pieces
    monkeypatch.undo()          # decoding reads the headers again; only framing is counted
    session.receive_data(b"\x00\x00")
    event = session.next_event()
    assert isinstance(event, ProtocolViolation) and "undecodable" in event.reason


def test_hostile_pdu_of_too_many_values_is_refused_early(monkeypatch):
    # hundreds of thousands of empty values: refused once the default limit is passed
    hostile = b"\xb4\x80" + b"\x04\x00" * 400_000
    budget = DEFAULT_MAX_PDU_ELEMENTS + 1 + 2 * (len(hostile) // 1024 + 1)
    reads = _counting_header_reads(monkeypatch, budget)
    session = Session(max_pdu_size=4 * 1024 * 1024)
    event, pieces = _feed(session, hostile)
    assert isinstance(event, ProtocolViolation)
    assert event.reason == f"PDU of more than {DEFAULT_MAX_PDU_ELEMENTS} BER values"
    assert pieces * 1024 < len(hostile) // 2        # refused long before the 800 KB arrived
    assert reads[0] <= budget
    data = session.send(close_pdu(CloseReason.PROTOCOL_ERROR, event.reason))
    assert decode_pdu(data)[1]["closeReason"] == 6


def test_definite_pdu_of_too_many_values_is_refused():
    body = b"\x04\x00" * 2000
    searches = b"\xb6\x82" + len(body).to_bytes(2, "big") + body
    session = Session(max_pdu_elements=1000)
    session.receive_data(INIT + searches)
    assert isinstance(session.next_event(), InitRequest)
    session.send(ACCEPTED)
    event = session.next_event()
    assert isinstance(event, ProtocolViolation)
    assert event.reason == "PDU of more than 1000 BER values"
