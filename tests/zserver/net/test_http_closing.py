"""HttpProtocol over Twisted's own write buffer and flow control (`FileDescriptor`), no socket:
a connection told to close does close, also when its last answer filled the buffer.

`Kernel` stands in for the socket and the reactor: it takes as many bytes as the client has
room for and records whether the descriptor waits to read or to write. The rest, `write`,
`doWrite`, `pauseProducing`, `loseConnection`, is Twisted's code as the TCP transport runs it.
"""

from __future__ import annotations

import random

import pytest
from twisted.internet import main
from twisted.internet.abstract import FileDescriptor
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock

from zserver.net.http import HttpAnswer, HttpFactory, HttpProtocol

PEER = IPv4Address("TCP", "127.0.0.1", 40000)
HOST = IPv4Address("TCP", "127.0.0.1", 2100)


class Core:
    """Answers every request with `size` bytes, as the static files do."""

    def __init__(self, size: int) -> None:
        self.body = b"x" * size
        self.clock = lambda: 1_700_000_000.0

    def respond(self, method: str, uri: bytes, body: bytes = b"", **options) -> HttpAnswer:
        return HttpAnswer(200, (("Content-Type", "text/css"),), self.body)


class Kernel(FileDescriptor):
    """A TCP transport whose socket takes `room` bytes, then none until the client reads."""

    def __init__(self) -> None:
        self.readers: set[FileDescriptor] = set()
        self.writers: set[FileDescriptor] = set()
        super().__init__(reactor=self)
        self.connected = 1
        self.room = 0
        self.wire = bytearray()

    def addReader(self, descriptor: FileDescriptor) -> None:
        self.readers.add(descriptor)

    def removeReader(self, descriptor: FileDescriptor) -> None:
        self.readers.discard(descriptor)

    def addWriter(self, descriptor: FileDescriptor) -> None:
        self.writers.add(descriptor)

    def removeWriter(self, descriptor: FileDescriptor) -> None:
        self.writers.discard(descriptor)

    def writeSomeData(self, data: bytes) -> int:
        taken = bytes(data[:self.room])
        self.room -= len(taken)
        self.wire += taken
        return len(taken)

    def getPeer(self) -> IPv4Address:
        return PEER

    def getHost(self) -> IPv4Address:
        return HOST


def connect(size: int) -> tuple[Kernel, HttpProtocol]:
    kernel = Kernel()
    protocol = HttpFactory(Core(size), log=lambda line: None, timer=Clock()).buildProtocol(PEER)
    protocol.makeConnection(kernel)
    kernel.startReading()
    return kernel, protocol


def test_a_last_answer_that_fills_the_buffer_still_closes() -> None:
    """Over Twisted's buffer size (64 KiB) the transport pauses us; once it has written it all,
    a producer still registered and paused gets `resumeProducing` instead of the close
    (abstract.FileDescriptor.doWrite), and the connection would wait for nothing forever."""
    kernel, protocol = connect(FileDescriptor.bufferSize + 1)
    protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert kernel.producerPaused and kernel.disconnecting   # the answer waits in the buffer
    kernel.room = 1_000_000   # the client reads
    assert kernel.doWrite() is main.CONNECTION_DONE
    assert bytes(kernel.wire).startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("seed", range(40))
def test_deep_pipelining_read_slowly_ends_closed(seed: int) -> None:
    """2,000 pipelined requests for 4,801-byte answers, read by the client in random sips:
    every answer goes out and the connection then closes (a stall: neither reading nor writing)."""
    rng = random.Random(seed)
    kernel, protocol = connect(4801)
    requests = b"".join(b"GET /s?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in range(2000))
    requests += b"GET /s?n=last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    kernel.room = rng.randrange(0, 200_000)   # the socket's buffers before the client reads
    while True:
        readable, writable = kernel in kernel.readers and bool(requests), kernel in kernel.writers
        if readable and not (writable and rng.random() < 0.5):
            size = rng.randrange(1, 65537)
            piece, requests = requests[:size], requests[size:]
            protocol.dataReceived(piece)
        elif writable:
            kernel.room += rng.randrange(1, 100_000)   # the client reads some
            if kernel.doWrite() is main.CONNECTION_DONE:
                break
        else:
            pytest.fail(f"stalled after {bytes(kernel.wire).count(b'HTTP/1.1 200 OK')} answers")
    assert bytes(kernel.wire).count(b"HTTP/1.1 200 OK\r\n") == 2001
