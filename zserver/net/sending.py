"""Writing an answer to the socket at once.

Twisted's `transport.write` only queues: the bytes go out on the reactor's next turn, after one
more poll and two `epoll_ctl` calls that register and unregister the socket for writing. For a
server that answers each request with one short message that is most of the cost of sending it
(measured: `bench/sru.py`, hit counts only). When nothing is queued before the answer, we hand it
to the socket here and queue only what the kernel did not take, so the order of bytes and
Twisted's own flow control stay as they are. Transports that cannot be written to directly (TLS,
the test suite's string transports) get `write` as before. Z39.50 and HTTP answers go this way.
"""

from __future__ import annotations

from twisted.internet.interfaces import ITransport

__all__ = ["send"]


def send(transport: ITransport, data: bytes) -> None:
    """Write `data` to `transport`: now where possible, else queued as `transport.write` does."""
    write_now = getattr(transport, "writeSomeData", None)
    if (write_now is not None and transport.connected and not transport.disconnecting
            and not transport._writeDisconnected and not transport.dataBuffer and not transport._tempDataBuffer):
        sent = write_now(data)
        if not isinstance(sent, int):   # the connection is gone: Twisted's own write path will find out
            sent = 0
        data = data[sent:]
    if data:
        transport.write(data)
