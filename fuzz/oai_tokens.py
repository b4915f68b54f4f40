"""Fuzz target: OAI-PMH resumption tokens (zserver.oai.tokens).

The first byte picks whether the rest is a token as a harvester sends it, or the fields of one
signed with the repository identifier (the key is public: anyone can make a token by hand).
Decoding must give a ListState within what a plain request could ask (a list verb, 64-bit
numbers, no negative cursor, not issued in the future) or raise BadToken; a state must survive
encode and decode unchanged. Anything else raised is a crash.
"""

from __future__ import annotations

import base64

import atheris
from harness import pick, run

from zserver.oai import tokens  # the package brings the whole catalog stack: too slow to instrument

tokens.decode = atheris.instrument_func(tokens.decode)   # what is fuzzed: the token's own code

KEY = "unikat.example.org"
NOW = 1_800_000_000
LIFETIME = 86400


def test_one_input(data: bytes) -> None:
    choice, rest = pick(data, 2)
    text = rest.decode("utf-8", "replace")
    if choice == 1:   # a payload of our own making, signed as the repository would
        payload = base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")
        text = f"{payload}.{tokens._check(payload, KEY)}"
    try:
        state = tokens.decode(text, KEY, now=NOW, lifetime=LIFETIME)
    except tokens.BadToken as refused:
        assert str(refused)
        return
    assert state.verb in ("ListRecords", "ListIdentifiers"), state
    assert 0 <= state.after.isn < 2**63 and 0 <= state.cursor < 2**63 and state.issued <= NOW + 3600, state
    again = tokens.decode(tokens.encode(state, KEY), KEY, now=NOW, lifetime=LIFETIME)
    assert again == state, (again, state)


def _seeds() -> list[bytes]:
    fields = ["1", "ListRecords", "marc21", "A", "2026-01-01 00:00:00", "", "2026-02-01 10:00:00", "17", "100",
              str(NOW - 60)]
    plain = "\x1f".join(fields).encode()
    state = tokens.decode(tokens.encode(tokens.ListState("ListIdentifiers", "oai_dc", "", "", "",
                                                         tokens.Position("2026-01-01 00:00:00", 5), 40, NOW), KEY),
                          KEY, now=NOW, lifetime=LIFETIME)
    return [b"\x01" + plain, b"\x00" + tokens.encode(state, KEY).encode(), b"\x00garbage.0123456789abcdef"]


if __name__ == "__main__":
    run(test_one_input, _seeds())
