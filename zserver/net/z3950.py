"""Z39.50 over TCP with Twisted: moves bytes between a socket and the sans-I/O session.

This module owns connections: `Z3950Protocol` hands received bytes to its `Session`, runs
each request through its `Handler`, writes the bytes the session returns, and drops the
connection when the session is closed. It also owns the idle timeout (Twisted's
`TimeoutMixin`; on expiry our Close with lackOfActivity), the time a new connection has to
complete its InitRequest (`[server] init_timeout`, counted from the first byte; on expiry the
same Close), the bytes that refuse a connection over a limit (`refusal`), and the one place
where an unexpected error of ours is caught (`except Exception`: the traceback goes to the log, the
client gets diagnostic 1, or a Close with systemProblem if even that fails). A client that
breaks the protocol gets a Close with protocolError; only its own connection is dropped.

`Z3950Factory` keeps the set of open connections (to close them on shutdown) and hands each
the worker's shared resources (`worker.Worker`: the catalog, the limits, the CCL profile, the
log), which it borrows and never opens or closes. It must not know what a PDU means
(`zserver.z3950`) or how the listening socket came to be (`app.py`); it does not import the
reactor (a clock can be passed in for tests).
"""

from __future__ import annotations

import time
import traceback

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from zserver.net.sending import send
from zserver.net.worker import Worker
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic
from zserver.z3950.handler import Handler
from zserver.z3950.pdus import Pdu
from zserver.z3950.session import CloseReason, ProtocolViolation, Session, close_pdu

__all__ = ["Z3950Factory", "Z3950Protocol", "refusal"]


def refusal(message: str) -> bytes:
    """Our Close with reason resources, for a connection refused because of a limit on
    connections. A Close, not an InitResponse with result false: the target may send it at any
    time (Z39.50-2003 3.2.11.1), without reading the client's InitRequest first, and clients
    (yaz-client, ZOOM) show its reason and diagnosticInformation."""
    return Session().send(close_pdu(CloseReason.RESOURCES, message))


def _peer(address: IAddress) -> str:
    host, port = getattr(address, "host", None), getattr(address, "port", None)
    return f"{host}:{port}" if host is not None else str(address)


class Z3950Protocol(Protocol, TimeoutMixin):
    """One client connection speaking Z39.50."""

    factory: Z3950Factory

    def connectionMade(self) -> None:
        factory = self.factory
        if factory.clock is not None:
            self.callLater = factory.clock.callLater
        self.peer = _peer(self.transport.getPeer())
        worker = factory.worker
        self.session = Session(worker.limits.max_message_size, worker.max_pdu_elements, worker.decoded)
        self.handler = Handler(worker.catalog, worker.limits, worker.ccl_profile, login_guard=worker.login_guard,
                               client_address=getattr(self.transport.getPeer(), "host", None))
        factory.connections.add(self)
        self._result_sets = 0   # held by the association, as last counted in the metrics
        if worker.metrics is not None:
            worker.metrics.opened("z3950")
        self.setTimeout(worker.idle_timeout)
        # the whole InitRequest must come soon: a connection that never starts one holds a slot
        self._init_timer: IDelayedCall | None = self.callLater(worker.connections.init_timeout, self._no_init)

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        session = self.session
        session.receive_data(data)
        while not session.closed:
            event = session.next_event()
            if isinstance(event, Pdu):
                self._cancel_init_timer()
                send(self.transport, self._respond(event))
            elif isinstance(event, ProtocolViolation):
                self.factory.worker.log(f"{self.peer} protocol error: {event.reason}")
                self.transport.write(session.send(close_pdu(CloseReason.PROTOCOL_ERROR, event.reason)))
            else:
                break
        if session.closed:
            self._drop()

    def _respond(self, request: Pdu) -> bytes:
        started = time.perf_counter()
        try:
            response = self.handler.handle(request)
            data = self.session.send(response.pdu)
        except Exception:
            return self._system_error(request, traceback.format_exc())
        elapsed = time.perf_counter() - started
        metrics = self.factory.worker.metrics
        if metrics is not None:
            self._result_sets = metrics.z3950(request.asn1_name, elapsed, response.summary,
                                              len(self.handler.association.result_sets), self._result_sets)
        self.factory.worker.log(f"{self.peer} {response.summary} {elapsed * 1000:.1f}ms")
        return data

    def _system_error(self, request: Pdu, trace: str) -> bytes:
        """Our bug: log it, answer with diagnostic 1 (or Close systemProblem if that fails too)."""
        name = request.asn1_name
        self.factory.worker.log(f"{self.peer} internal error in {name}:\n{trace.rstrip()}")
        if self.factory.worker.metrics is not None:
            self.factory.worker.metrics.internal_error("z3950")
        diagnostic = Z3950Diagnostic(Bib1Diagnostic.PERMANENT_SYSTEM_ERROR, "internal error")
        try:
            return self.session.send(self.handler.failure(request, diagnostic).pdu)
        except Exception:
            self.factory.worker.log(f"{self.peer} internal error answering {name}:\n{traceback.format_exc().rstrip()}")
        return self.session.send(close_pdu(CloseReason.SYSTEM_PROBLEM, "internal error"))

    def timeoutConnection(self) -> None:
        data = self.session.idle_close(self.factory.worker.idle_timeout, self.factory.worker.idle_timeout)
        if data is not None:
            self.factory.worker.log(f"{self.peer} closed after {self.factory.worker.idle_timeout:.0f}s without a request")
            self.transport.write(data)
        self._drop()

    def _no_init(self) -> None:
        self._init_timer = None
        seconds = self.factory.worker.connections.init_timeout
        self.factory.worker.log(f"{self.peer} closed: no InitRequest within {seconds:g}s")
        self.close(CloseReason.LACK_OF_ACTIVITY, f"no InitRequest within {seconds:g} seconds")

    def _cancel_init_timer(self) -> None:
        if self._init_timer is not None:
            if self._init_timer.active():
                self._init_timer.cancel()
            self._init_timer = None

    def close(self, reason: CloseReason, message: str = "") -> None:
        """Send our Close (e.g. shutdown) and drop the connection."""
        if not self.session.closed:
            self.transport.write(self.session.send(close_pdu(reason, message)))
        self._drop()

    def _drop(self) -> None:
        self.setTimeout(None)
        self._cancel_init_timer()
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.setTimeout(None)
        self._cancel_init_timer()
        self.factory.connections.discard(self)
        if self.factory.worker.metrics is not None:
            self.factory.worker.metrics.closed("z3950", self._result_sets)


class Z3950Factory(Factory):
    """The Z39.50 connections of one worker process."""

    protocol = Z3950Protocol

    def __init__(self, worker: Worker, *, clock: IReactorTime | None = None) -> None:
        self.worker = worker
        self.clock = clock
        self.connections: set[Z3950Protocol] = set()

    def close_all(self, reason: CloseReason = CloseReason.SHUTDOWN, message: str = "server shutting down") -> None:
        """Close every open connection with our Close PDU (on shutdown)."""
        for connection in list(self.connections):
            connection.close(reason, message)
