"""Resumption tokens that carry their own place: they survive a server restart and any worker.

A token is the rest of a list request written out (verb, metadataPrefix, set, from, until),
the position after the last change sent (`index.store.changes.Position`), the number of items
sent so far (the cursor) and when it was issued, in base64url, followed by a checksum over all
of that. Nothing is kept in server memory, so any worker process answers any token, and so does
a server started since. A token that does not decode, whose checksum does not match (cut short,
mistyped, edited) or that is older than `[oai] token_lifetime` is refused (badResumptionToken).

The checksum keys on the repository identifier, so a token is good only where it was issued;
it is not a secret: a token made by hand can ask for no more than a plain request could.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from index.store.changes import Position

__all__ = ["BadToken", "ListState", "decode", "encode"]

_VERSION = "1"
_SEPARATOR = "\x1f"   # unit separator: never in a prefix, a setSpec or a store time
_CHECK_CHARS = 16
_VERBS = ("ListRecords", "ListIdentifiers")
_COUNT = re.compile(r"[0-9]{1,18}")   # below 2**63, ASCII digits only (int() takes others too)
_SKEW = 300   # seconds a token's issue time may lie ahead of this worker's clock


class BadToken(Exception):
    """A resumptionToken we did not issue, or one that has expired; the message says which."""


@dataclass(frozen=True)
class ListState:
    """Where a ListRecords or ListIdentifiers harvest stands."""

    verb: str
    prefix: str
    set_spec: str       # "" for none
    since: str          # store time, "" for none
    until: str
    after: Position
    cursor: int         # items sent before this page
    issued: int         # Unix seconds


def _check(payload: str, key: str) -> str:
    return hashlib.sha256(f"{key}{_SEPARATOR}{payload}".encode()).hexdigest()[:_CHECK_CHARS]


def encode(state: ListState, key: str) -> str:
    """The token for `state`; `key` is the repository identifier."""
    fields = (_VERSION, state.verb, state.prefix, state.set_spec, state.since, state.until,
              state.after.time, str(state.after.isn), str(state.cursor), str(state.issued))
    payload = base64.urlsafe_b64encode(_SEPARATOR.join(fields).encode()).decode("ascii").rstrip("=")
    return f"{payload}.{_check(payload, key)}"


def decode(token: str, key: str, *, now: float, lifetime: int) -> ListState:
    """The state a token of ours carries; raises BadToken."""
    payload, dot, check = token.strip().rpartition(".")
    if not dot or not payload or check != _check(payload, key):
        raise BadToken("the resumptionToken is not one this repository issued (or it was cut short)")
    try:
        text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except ValueError:   # not base64 (binascii.Error), not UTF-8, or not ASCII at all
        raise BadToken("the resumptionToken cannot be read") from None
    fields = text.split(_SEPARATOR)
    if len(fields) != 10 or fields[0] != _VERSION:
        raise BadToken("the resumptionToken is of another version of this repository: start the list again")
    _, verb, prefix, set_spec, since, until, time, isn, cursor, issued = fields
    # the checksum's key is public, so a token may be made by hand: its numbers are checked as
    # a plain request's would be (the store takes 64-bit integers, a cursor is never negative)
    if verb not in _VERBS or not all(_COUNT.fullmatch(number) for number in (isn, cursor, issued)):
        raise BadToken("the resumptionToken cannot be read")
    state = ListState(verb, prefix, set_spec, since, until, Position(time, int(isn)), int(cursor), int(issued))
    if state.issued > now + _SKEW:
        raise BadToken("the resumptionToken was issued in the future: start the list again")
    if now - state.issued > lifetime:
        raise BadToken(f"the resumptionToken has expired (they last {lifetime} seconds): start the list again")
    return state
