"""The legal state changes of one Z39.50 association, seen from the target (server) side.

This module owns the transition table and nothing else: which request PDU a client may send
in which state, which response PDU answers it, and where each leads (Z39.50-2003 section 3.2:
Init first, then any service, Close from either side at any time). It must not know bytes,
sockets, clocks, catalogs or what a PDU means: `session.py` consults it, tests read it, and a
person can draw it.

    AWAITING_INIT --initRequest--> INITIALIZING --initResponse(result true)--> OPEN
                                                --initResponse(result false)--> CLOSED
    OPEN --searchRequest, presentRequest, ...--> OPEN (each answered by its response)
    any open state --close (from the client)--> CLOSING --close (ours)--> CLOSED
    any open state --close (ours: lackOfActivity, protocolError, ...)--> CLOSED
    any open state --a PDU the table does not allow--> ERROR --close (ours)--> CLOSED

unikat divergences: a second initRequest (re-initialization) is a protocol error, and after
sending a Close we drop the connection instead of waiting for the client's Close response.
"""

from __future__ import annotations

from enum import Enum


class State(Enum):
    AWAITING_INIT = "awaiting-init"
    INITIALIZING = "initializing"    # initRequest received, initResponse not yet sent
    OPEN = "open"
    CLOSING = "closing"              # the client sent Close; ours is due
    ERROR = "error"                  # the client broke the protocol; our Close is due
    CLOSED = "closed"


SERVICE_RESPONSES: dict[str, str] = {
    "searchRequest": "searchResponse",
    "presentRequest": "presentResponse",
    "deleteResultSetRequest": "deleteResultSetResponse",
    "scanRequest": "scanResponse",
    "sortRequest": "sortResponse",
    "extendedServicesRequest": "extendedServicesResponse",
}
"""Request PDU -> the response PDU that answers it (after Init)."""

RECEIVE: dict[tuple[State, str], State] = {
    (State.AWAITING_INIT, "initRequest"): State.INITIALIZING,
    **{(State.OPEN, request): State.OPEN for request in SERVICE_RESPONSES},
    (State.AWAITING_INIT, "close"): State.CLOSING,
    (State.INITIALIZING, "close"): State.CLOSING,
    (State.OPEN, "close"): State.CLOSING,
}
"""(state, PDU received from the client) -> next state. Anything else is a protocol error."""

SEND: dict[tuple[State, str], State] = {
    (State.INITIALIZING, "initResponse"): State.OPEN,   # CLOSED when result is false
    **{(State.OPEN, response): State.OPEN for response in SERVICE_RESPONSES.values()},
    **{(state, "close"): State.CLOSED
       for state in (State.AWAITING_INIT, State.INITIALIZING, State.OPEN, State.CLOSING, State.ERROR)},
}
"""(state, PDU we send) -> next state. Anything else is a bug on our side."""

RESPONSE_TO: dict[str, str] = {"initRequest": "initResponse", "close": "close", **SERVICE_RESPONSES}
"""Request PDU -> the PDU that must answer it."""

OPEN_STATES = frozenset({State.AWAITING_INIT, State.INITIALIZING, State.OPEN})
"""States in which the client may still send requests."""
