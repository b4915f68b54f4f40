"""The sans-I/O Z39.50 session: bytes in, request events out; response PDUs in, bytes out.

This module owns one association's byte buffer, its framing into PDUs (via `codec`, made
typed by `pdus.from_asn1`), and the enforcement of `state.py`'s table, in the manner of h11:
`receive_data(bytes)` stores what arrived, `next_event()` returns the next request PDU (an
`InitRequest`, `SearchRequest`, ... or `Close`, its `wire_size` set; else `NEED_DATA`, `PAUSED`,
or once a `ProtocolViolation`), and `send(pdu)` checks that the PDU may be sent now and returns
its bytes. A client's mistake (garbage, an oversized or undecodable PDU, an unknown PDU, a PDU
out of order) becomes a `ProtocolViolation` event, after which only our Close may be sent.
Our own mistake (sending a PDU the table does not allow) raises `LocalProtocolError`.

It must not know sockets, Twisted, clocks, threads or the catalog: idle time comes in as an
argument (`idle_close`), and what a request means is `handler.py`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass

from zserver.z3950.codec import (
    DEFAULT_MAX_PDU_SIZE,
    CodecError,
    PduTooLargeError,
    UnknownPduError,
    decode_pdu,
    encode_pdu,
    find_pdu_end,
)
from zserver.z3950.pdus import Close, CloseReason, Pdu, close_pdu, from_asn1, to_asn1
from zserver.z3950.state import OPEN_STATES, RECEIVE, RESPONSE_TO, SEND, State, event_type

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "CloseReason",
    "LocalProtocolError",
    "ProtocolViolation",
    "Session",
    "close_pdu",
]


@dataclass(frozen=True)
class ProtocolViolation:
    """The client broke the protocol; answer with `close_pdu(CloseReason.PROTOCOL_ERROR)`
    and drop the connection. `reason` is one line for the log and the Close PDU."""

    reason: str


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA = _Sentinel("NEED_DATA")
"""No complete PDU in the buffer yet: call `receive_data` with more bytes."""

PAUSED = _Sentinel("PAUSED")
"""A response is due first (or the association is over): send it, then ask again."""

Event = Pdu | ProtocolViolation | _Sentinel


class LocalProtocolError(Exception):
    """We tried to send a PDU the state table does not allow (a bug on our side)."""


class Session:
    """One Z39.50 association, target side. `max_pdu_size` bounds one incoming PDU (bytes)."""

    def __init__(self, max_pdu_size: int = DEFAULT_MAX_PDU_SIZE) -> None:
        self.max_pdu_size = max_pdu_size
        self.state = State.AWAITING_INIT
        self._buffer = bytearray()
        self._fresh = False           # bytes arrived since framing last said "incomplete"
        self._due: type[Pdu] | None = None  # the response PDU we owe

    @property
    def closed(self) -> bool:
        """True once our last PDU was sent: drop the connection."""
        return self.state is State.CLOSED

    @property
    def response_due(self) -> type[Pdu] | None:
        """The PDU class we owe the client, if any."""
        return self._due

    def receive_data(self, data: bytes) -> None:
        """Store bytes from the peer. Bytes after a violation or our Close are ignored."""
        if self.state in OPEN_STATES:
            self._buffer += data
            self._fresh = True

    def next_event(self) -> Event:
        """The next event: a request PDU, `NEED_DATA`, `PAUSED`, or once a `ProtocolViolation`."""
        if self._due is not None or self.state not in OPEN_STATES:
            return PAUSED
        if not self._fresh:
            return NEED_DATA
        data = bytes(self._buffer)
        try:
            end = find_pdu_end(data, self.max_pdu_size)
        except PduTooLargeError:
            return self._violation(f"PDU larger than {self.max_pdu_size} bytes")
        except CodecError as error:
            return self._violation(f"not a Z39.50 PDU: {error}")
        if end is None:
            self._fresh = False
            return NEED_DATA
        if end < len(data):     # more behind this PDU (pipelined requests)
            data = data[:end]
        del self._buffer[:end]
        try:
            name, value = decode_pdu(data)
        except UnknownPduError as error:
            return self._violation(str(error))
        except CodecError as error:
            return self._violation(f"undecodable PDU: {error}")
        pdu = from_asn1(name, value, wire_size=len(data))
        following = RECEIVE.get((self.state, type(pdu)))
        if following is None:
            return self._violation(f"{name} not allowed in state {self.state.value}")
        self.state = following
        self._due = RESPONSE_TO[type(pdu)]
        return pdu

    def _violation(self, reason: str) -> ProtocolViolation:
        self.state = State.ERROR
        self._buffer.clear()
        self._due = None
        return ProtocolViolation(reason)

    def send(self, pdu: Pdu) -> bytes:
        """Encode one PDU to send. Close may always be sent (until closed); any other PDU
        must be the response due. Where the association goes next is `state.SEND`'s (a rejected
        InitResponse ends it). Raises LocalProtocolError otherwise, CodecError for a value that
        does not fit the ASN.1 (both our bugs)."""
        if type(pdu) is not Close and type(pdu) is not self._due:
            due = self._due.asn1_name if self._due is not None else None
            raise LocalProtocolError(f"cannot send {pdu.asn1_name} now (due: {due}, state {self.state.value})")
        following = SEND.get((self.state, event_type(pdu)))
        if following is None:
            raise LocalProtocolError(f"cannot send {pdu.asn1_name} in state {self.state.value}")
        data = encode_pdu(*to_asn1(pdu))
        self.state = following
        self._due = None
        if following is State.CLOSED:
            self._buffer.clear()
        return data

    def idle_close(self, idle_seconds: float, limit_seconds: float) -> bytes | None:
        """Our Close (lackOfActivity) when the client has been silent `idle_seconds` and that
        reaches `limit_seconds`; None while within the limit or once the association is over."""
        if self.state is State.CLOSED or idle_seconds < limit_seconds:
            return None
        return self.send(close_pdu(CloseReason.LACK_OF_ACTIVITY, f"no request for {idle_seconds:.0f} seconds"))
