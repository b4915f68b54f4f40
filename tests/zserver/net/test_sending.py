"""zserver.net.sending: an answer goes to the socket at once only when nothing waits before it."""

from __future__ import annotations

import socket

import pytest
from twisted.internet import main
from twisted.internet.testing import StringTransport

from zserver.net.sending import send


class Transport:
    """What `send` looks at of a Twisted TCP transport; `takes` is how much the kernel accepts."""

    def __init__(self, takes: int | None = None, lost: bool = False) -> None:
        self.connected, self.disconnecting, self._writeDisconnected = True, False, False
        self.dataBuffer, self._tempDataBuffer = b"", []
        self.takes, self.lost = takes, lost
        self.sent: list[bytes] = []
        self.queued: list[bytes] = []

    def writeSomeData(self, data: bytes) -> int | Exception:
        if self.lost:
            return main.CONNECTION_LOST
        taken = bytes(data[:self.takes] if self.takes is not None else data)
        self.sent.append(taken)
        return len(taken)

    def write(self, data: bytes) -> None:
        self.queued.append(bytes(data))


def test_nothing_queued_goes_out_at_once() -> None:
    transport = Transport()
    send(transport, b"answer")
    assert transport.sent == [b"answer"] and transport.queued == []


def test_what_the_kernel_does_not_take_is_queued() -> None:
    transport = Transport(takes=2)
    send(transport, b"answer")
    assert transport.sent == [b"an"] and transport.queued == [b"swer"]


@pytest.mark.parametrize("earlier", ["dataBuffer", "_tempDataBuffer"])
def test_an_answer_waits_behind_queued_bytes(earlier: str) -> None:
    transport = Transport()
    setattr(transport, earlier, b"first" if earlier == "dataBuffer" else [b"first"])
    send(transport, b"second")
    assert transport.sent == [] and transport.queued == [b"second"]


@pytest.mark.parametrize("state", ["disconnecting", "_writeDisconnected"])
def test_a_closing_connection_gets_the_ordinary_write(state: str) -> None:
    transport = Transport()
    setattr(transport, state, True)
    send(transport, b"answer")
    assert transport.sent == [] and transport.queued == [b"answer"]


def test_a_lost_connection_leaves_the_bytes_to_twisted() -> None:
    transport = Transport(lost=True)
    send(transport, b"answer")
    assert transport.queued == [b"answer"]


def test_a_transport_without_direct_writes_is_written_as_before() -> None:
    transport = StringTransport()
    send(transport, b"answer")
    assert transport.value() == b"answer"


def test_a_real_tcp_transport_has_what_send_uses() -> None:
    """Twisted's own TCP connection: the attributes `send` reads exist under these names."""
    from twisted.internet import tcp

    left, right = socket.socketpair()
    try:
        connection = tcp.Connection(left, None)
        for name in ("writeSomeData", "connected", "disconnecting", "_writeDisconnected", "dataBuffer",
                     "_tempDataBuffer"):
            assert hasattr(connection, name), name
        assert connection.writeSomeData(b"ping") == 4 and right.recv(4) == b"ping"
    finally:
        left.close()
        right.close()
