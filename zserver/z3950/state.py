"""The legal state changes of one Z39.50 association, seen from the target (server) side.

This module owns the transition table and nothing else: which request PDU a client may send
in which state, which response PDU answers it, and where each leads (Z39.50-2003 section 3.2:
Init first, then any service, Close from either side at any time). As in h11, the table is
keyed by PDU class (`pdus.py`). It must not know bytes, sockets, clocks, catalogs or what a
PDU means beyond the one thing a transition depends on: whether an InitResponse accepts
(`event_type`). `session.py` consults it, tests read it, and a person can draw it.

    AWAITING_INIT --InitRequest--> INITIALIZING --InitResponse (result true)--> OPEN
                                                --InitResponse (result false)--> CLOSED
    OPEN --SearchRequest, PresentRequest, ...--> OPEN (each answered by its response)
    any open state --Close (from the client)--> CLOSING --Close (ours)--> CLOSED
    any open state --Close (ours: lackOfActivity, protocolError, ...)--> CLOSED
    any open state --a PDU the table does not allow--> ERROR --Close (ours)--> CLOSED

unikat divergences: a second InitRequest (re-initialization) is a protocol error, and after
sending a Close we drop the connection instead of waiting for the client's Close response.
"""

from __future__ import annotations

from enum import Enum

from zserver.z3950.pdus import (
    Close,
    DeleteResultSetRequest,
    DeleteResultSetResponse,
    ExtendedServicesRequest,
    ExtendedServicesResponse,
    InitRequest,
    InitResponse,
    Pdu,
    PresentRequest,
    PresentResponse,
    ScanRequest,
    ScanResponse,
    SearchRequest,
    SearchResponse,
    SortRequest,
    SortResponse,
)


class State(Enum):
    AWAITING_INIT = "awaiting-init"
    INITIALIZING = "initializing"    # InitRequest received, InitResponse not yet sent
    OPEN = "open"
    CLOSING = "closing"              # the client sent Close; ours is due
    ERROR = "error"                  # the client broke the protocol; our Close is due
    CLOSED = "closed"

    # Members are singletons compared by identity; the identity hash spares the Python-level
    # Enum.__hash__ in each table lookup (several per request).
    __hash__ = object.__hash__


REJECTED = "rejected"
"""Marks an InitResponse with result false in `SEND`'s keys, as h11 marks a switching
response: (InitResponse, REJECTED)."""

EventType = type[Pdu] | tuple[type[Pdu], str]

SERVICE_RESPONSES: dict[type[Pdu], type[Pdu]] = {
    SearchRequest: SearchResponse,
    PresentRequest: PresentResponse,
    DeleteResultSetRequest: DeleteResultSetResponse,
    ScanRequest: ScanResponse,
    SortRequest: SortResponse,
    ExtendedServicesRequest: ExtendedServicesResponse,
}
"""Request PDU -> the response PDU that answers it (after Init)."""

RECEIVE: dict[tuple[State, type[Pdu]], State] = {
    (State.AWAITING_INIT, InitRequest): State.INITIALIZING,
    **{(State.OPEN, request): State.OPEN for request in SERVICE_RESPONSES},
    (State.AWAITING_INIT, Close): State.CLOSING,
    (State.INITIALIZING, Close): State.CLOSING,
    (State.OPEN, Close): State.CLOSING,
}
"""(state, PDU class received from the client) -> next state. Anything else is a protocol error."""

SEND: dict[tuple[State, EventType], State] = {
    (State.INITIALIZING, InitResponse): State.OPEN,
    (State.INITIALIZING, (InitResponse, REJECTED)): State.CLOSED,   # 3.2.1.1.5: ends the association
    **{(State.OPEN, response): State.OPEN for response in SERVICE_RESPONSES.values()},
    **{(state, Close): State.CLOSED
       for state in (State.AWAITING_INIT, State.INITIALIZING, State.OPEN, State.CLOSING, State.ERROR)},
}
"""(state, `event_type` of the PDU we send) -> next state. Anything else is a bug on our side."""

RESPONSE_TO: dict[type[Pdu], type[Pdu]] = {InitRequest: InitResponse, Close: Close, **SERVICE_RESPONSES}
"""Request PDU class -> the PDU class that must answer it."""

OPEN_STATES = frozenset({State.AWAITING_INIT, State.INITIALIZING, State.OPEN})
"""States in which the client may still send requests."""


def event_type(pdu: Pdu) -> EventType:
    """The key of a PDU we send in `SEND`: its class, or (InitResponse, REJECTED) for an
    InitResponse whose result is false."""
    if isinstance(pdu, InitResponse) and not pdu.result:
        return InitResponse, REJECTED
    return type(pdu)
