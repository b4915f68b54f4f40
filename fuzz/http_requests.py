"""Fuzz target: the HTTP request path – httptools parsing, our limits, keep-alive, pipelining –
and SRU parameter decoding, over a StringTransport.

The first byte picks where the bytes are split into two reads. The core answers like the real
one up to searching: it decodes the form and parses the SRU request (no catalog needed). Every
answer must be an HTTP/1.1 response; raising is a crash.
"""

from __future__ import annotations

import atheris
from harness import pick, run
from twisted.internet.address import IPv4Address  # imported first: Twisted is not ours to instrument
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

with atheris.instrument_imports():
    from zserver.net.http import HttpAnswer, HttpFactory
    from zserver.sru.request import FormError, decode_form, parse_request

PEER = IPv4Address("TCP", "127.0.0.1", 5555)


class FormCore:
    """An HttpCore stand-in: decodes parameters and the SRU request, answers 200 or 400."""

    def clock(self) -> float:
        return 0.0

    def respond(self, method: str, uri: bytes, body: bytes = b"", **_: object) -> HttpAnswer:
        try:
            params = decode_form(uri.partition(b"?")[2], max_fields=100)
        except FormError as error:
            return HttpAnswer(400, (("Content-Type", "text/plain"),), str(error).encode())
        parse_request(params, "unikat")
        return HttpAnswer(200, (("Content-Type", "text/plain"),), b"ok")

    def internal_error(self, uri: bytes) -> HttpAnswer:
        raise AssertionError(f"the core failed on {uri!r}")


FACTORY = HttpFactory(FormCore(), log=lambda line: None, timer=Clock())
SEEDS = [b"\x10GET /unikat?version=1.2&operation=searchRetrieve&query=a HTTP/1.1\r\nHost: x\r\n\r\n",
         b"\x20POST /unikat HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n5\r\nquery\r\n0\r\n\r\n",
         b"\x05GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD /record/1 HTTP/1.1\r\n\r\n"]


def test_one_input(data: bytes) -> None:
    split, body = pick(data, 256)
    protocol = FACTORY.buildProtocol(PEER)
    transport = StringTransport(peerAddress=PEER)
    protocol.makeConnection(transport)
    protocol.dataReceived(body[:split])
    protocol.dataReceived(body[split:])
    protocol.connectionLost(None)
    written = transport.value()
    if written and not written.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")):
        raise AssertionError(f"not an HTTP answer: {written[:80]!r}")


if __name__ == "__main__":
    run(test_one_input, SEEDS)
