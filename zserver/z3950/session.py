"""The sans-I/O Z39.50 session: bytes in, request events out; response PDUs in, bytes out.

This module owns one association's byte buffer and its framing into PDUs (a `codec.Framer`,
linear in the bytes received and bounded per PDU in bytes and BER values; PDUs made typed by
`pdus.from_asn1`), and the enforcement of `state.py`'s table, in the manner of h11:
`receive_data(bytes)` stores what arrived, `next_event()` returns the next request PDU (an
`InitRequest`, `SearchRequest`, ... or `Close`, its `wire_size` set; else `NEED_DATA`, `PAUSED`,
or once a `ProtocolViolation`), and `send(pdu)` checks that the PDU may be sent now and returns
its bytes. A client's mistake (garbage, a PDU too large or of too many BER values, an
undecodable PDU, an unknown PDU, a PDU out of order) becomes a `ProtocolViolation` event,
after which only our Close may be sent.
Our own mistake (sending a PDU the table does not allow) raises `LocalProtocolError`.

It must not know sockets, Twisted, clocks, threads or the catalog: idle time comes in as an
argument (`idle_close`), and what a request means is `handler.py`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass

from zserver.z3950.codec import (
    DEFAULT_MAX_PDU_ELEMENTS,
    DEFAULT_MAX_PDU_SIZE,
    CodecError,
    Framer,
    PduTooLargeError,
    TooManyElementsError,
    UnknownPduError,
    decode_pdu,
    encode_pdu,
)
from zserver.z3950.pdus import (
    Close,
    CloseReason,
    Pdu,
    PresentRequest,
    ScanRequest,
    SearchRequest,
    close_pdu,
    from_asn1,
    to_asn1,
)
from zserver.z3950.state import OPEN_STATES, RECEIVE, RESPONSE_TO, SEND, State, event_type

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "CloseReason",
    "DecodedRequests",
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


class DecodedRequests:
    """Requests clients send again byte for byte (a portal's count, a search repeated after a
    present, pages of one set), decoded once: decoding costs more than answering a repeated
    search from the kept ones (index.kept). One per worker process, shared by its sessions;
    PDUs are frozen and nothing changes their parts. Only search, present and scan requests of
    at most `LONGEST` bytes are kept (not Init: it may carry a password), at most `limit` of
    them, the oldest dropped first. A request of 512 bytes may decode to some 17 KB (a chain of
    one-letter terms): at most about 20 MB a worker."""

    KINDS = (SearchRequest, PresentRequest, ScanRequest)
    LONGEST = 512

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._pdus: dict[bytes, Pdu] = {}

    def __len__(self) -> int:
        return len(self._pdus)

    def __contains__(self, data: bytes) -> bool:
        return data in self._pdus

    def get(self, data: bytes) -> Pdu | None:
        return self._pdus.get(data)

    def put(self, data: bytes, pdu: Pdu) -> None:
        if self.limit and type(pdu) in self.KINDS and len(data) <= self.LONGEST:
            if len(self._pdus) >= self.limit:
                del self._pdus[next(iter(self._pdus))]
            self._pdus[data] = pdu


class LocalProtocolError(Exception):
    """We tried to send a PDU the state table does not allow (a bug on our side)."""


class Session:
    """One Z39.50 association, target side. `max_pdu_size` bounds one incoming PDU in bytes,
    `max_pdu_elements` in BER values (the work of framing and decoding it); `decoded` holds the
    requests the worker's sessions decoded before (none kept without it)."""

    def __init__(self, max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
                 max_pdu_elements: int = DEFAULT_MAX_PDU_ELEMENTS, decoded: DecodedRequests | None = None) -> None:
        self.max_pdu_size = max_pdu_size
        self.max_pdu_elements = max_pdu_elements
        self._decoded = decoded if decoded is not None else DecodedRequests(0)
        self.state = State.AWAITING_INIT
        self._framer = Framer(max_pdu_size, max_pdu_elements)
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
            self._framer.receive_data(data)

    def next_event(self) -> Event:
        """The next event: a request PDU, `NEED_DATA`, `PAUSED`, or once a `ProtocolViolation`."""
        if self._due is not None or self.state not in OPEN_STATES:
            return PAUSED
        try:
            data = self._framer.next_pdu()
        except PduTooLargeError:
            return self._violation(f"PDU larger than {self.max_pdu_size} bytes")
        except TooManyElementsError:
            return self._violation(f"PDU of more than {self.max_pdu_elements} BER values")
        except CodecError as error:
            return self._violation(f"not a Z39.50 PDU: {error}")
        if data is None:
            return NEED_DATA
        pdu = known = self._decoded.get(data)
        if pdu is None:
            try:
                name, value = decode_pdu(data)
            except UnknownPduError as error:
                return self._violation(str(error))
            except CodecError as error:
                return self._violation(f"undecodable PDU: {error}")
            pdu = from_asn1(name, value, wire_size=len(data))
        following = RECEIVE.get((self.state, type(pdu)))
        if following is None:
            return self._violation(f"{pdu.asn1_name} not allowed in state {self.state.value}")
        if known is None:   # only a request allowed here is kept: a client without Init fills nothing
            self._decoded.put(data, pdu)
        self.state = following
        self._due = RESPONSE_TO[type(pdu)]
        return pdu

    def _violation(self, reason: str) -> ProtocolViolation:
        self.state = State.ERROR
        self._framer.clear()
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
            self._framer.clear()
        return data

    def idle_close(self, idle_seconds: float, limit_seconds: float) -> bytes | None:
        """Our Close (lackOfActivity) when the client has been silent `idle_seconds` and that
        reaches `limit_seconds`; None while within the limit or once the association is over."""
        if self.state is State.CLOSED or idle_seconds < limit_seconds:
            return None
        return self.send(close_pdu(CloseReason.LACK_OF_ACTIVITY, f"no request for {idle_seconds:.0f} seconds"))
