"""Wiring and listening: `unikat serve` opens one socket and runs worker processes on it.

This module owns the listening socket, the worker processes and the per-connection choice of
protocol. `serve()` binds and listens once, then forks N workers that each adopt the socket
into their own reactor (`reactor.adoptStreamPort`), so the kernel spreads connections over
processes: Whoosh searches hold the GIL, threads would buy nothing. The parent supervises:
it forwards SIGTERM/SIGINT, reaps children and starts a new worker when one dies (and gives
up when they keep dying); a search host of a catalog on PostgreSQL (`--replica-of`) follows
the index it publishes from a thread here (`zserver.net.replica`). `workers=1` runs the reactor
in-process. The reactor is imported only inside the functions that run it, never before a
fork. What the workers share besides the socket is made before they are forked and removed
when they are gone: the metric files (`zserver.metrics`) and the failed-login counts
(`index.store.logins`, in a temporary directory).

The seam for SRU: Z39.50 and HTTP share the port, and the first byte of a connection tells
them apart (`sniff`): a BER context-class constructed tag (0xA0-0xBF; initRequest is 0xB4) is
Z39.50, an ASCII capital letter is an HTTP method. `ProtocolSwitch` buffers until it knows,
then hands the connection to the protocol built by the matching factory: the Z39.50 factory,
or the HTTP factory of `zserver.net.http` (SRU, the web page), both on the worker's shared
resources (`zserver.net.worker`), which `SwitchFactory` owns.

The switch is where a connection lands first, so it enforces the limits on connections
(`zserver.net.admission`: in all and per client address, per worker process) and the time to
the first byte (`[server] first_byte_timeout`). A connection over a limit is refused in its
own protocol once its first byte tells which (a Z39.50 Close with reason resources, HTTP 503
with Retry-After), after at most `REFUSAL_WAIT` seconds; when `REFUSALS_WAITING` refused
connections already wait, the one waiting longest is closed without a word. Every refusal is logged, a flood of them as a
count every few seconds. At start the worker raises its file limit to hold `max_connections`
and a reserve (`FD_RESERVE`), or lowers `max_connections` with a warning when it cannot.

It must not know what a PDU or a query means.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from index import engines
from index.home import Home
from index.loading import children
from index.search import Catalog
from index.store.logins import LoginCounts
from zserver.metrics import recorder as metrics
from zserver.net import rebuild
from zserver.net.admission import REFUSALS_WAITING, Admission, ConnectionLimits, RefusalLog, fit_file_limit
from zserver.net.http import HttpFactory
from zserver.net.log import Log, stderr_log
from zserver.net.worker import Worker
from zserver.net.z3950 import Z3950Factory, refusal

if TYPE_CHECKING:
    from zserver.net.replica import Follower

__all__ = ["ProtocolSwitch", "SwitchFactory", "http_factory", "preload", "serve", "sniff"]

_NOT_IMPLEMENTED = (b"HTTP/1.0 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    b"Connection: close\r\n\r\nThis port speaks Z39.50; SRU over HTTP is not served yet.\r\n")

# Seconds a refused connection may take to send its first byte (to be told in its protocol).
REFUSAL_WAIT = 5.0
# Retry-After of an HTTP refusal, seconds.
RETRY_AFTER = 10


def _http_refusal(message: str) -> bytes:
    body = f"{message}\r\n".encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Retry-After: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (RETRY_AFTER, len(body)) + body)


def _address(peer: IAddress) -> str | None:
    """The client's IP address, the key of the per-address limit (None: not an IP peer)."""
    return getattr(peer, "host", None)


# A worker that dies this often within RESTART_WINDOW seconds makes the supervisor give up.
RESTART_LIMIT = 5
RESTART_WINDOW = 60.0


def sniff(first: bytes) -> str | None:
    """"z3950" or "http" for the first bytes of a connection, None when there are none yet.
    Anything that is not an HTTP method goes to Z39.50, whose session answers garbage with a
    Close (protocolError)."""
    if not first:
        return None
    if 0x41 <= first[0] <= 0x5A:    # A-Z: GET, POST, HEAD, OPTIONS ...
        return "http"
    return "z3950"


class ProtocolSwitch(Protocol, TimeoutMixin):
    """Holds a new connection until its first bytes arrive, then hands it over; or, when the
    factory refused it (`refused`: why), answers those bytes with the refusal and closes."""

    factory: SwitchFactory
    refused: str | None = None
    address: str | None = None      # counted under this client address while admitted

    def connectionMade(self) -> None:
        # requests and answers are single messages: send each at once, never wait for an ACK
        if hasattr(self.transport, "setTcpNoDelay"):
            self.transport.setTcpNoDelay(True)
        self._inner: Protocol | None = None
        self._buffer = b""
        if self.factory.clock is not None:
            self.callLater = self.factory.clock.callLater
        timeout = self.factory.idle_timeout
        self.setTimeout(timeout if self.refused is None else min(timeout, REFUSAL_WAIT))

    def dataReceived(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.dataReceived(data)
            return
        self._buffer += data
        kind = sniff(self._buffer)
        if kind is None:
            return
        self.setTimeout(None)
        if self.refused is not None:
            self._buffer = b""
            self.factory.ended(self)
            self.transport.write(refusal(self.refused) if kind == "z3950" else _http_refusal(self.refused))
            self.transport.loseConnection()
            return
        factory = self.factory.z3950 if kind == "z3950" else self.factory.http
        if factory is None:
            self.transport.write(_NOT_IMPLEMENTED)
            self.transport.loseConnection()
            return
        inner = factory.buildProtocol(self.transport.getPeer())
        if inner is None:
            self.transport.loseConnection()
            return
        self._inner = inner
        inner.makeConnection(self.transport)
        buffered, self._buffer = self._buffer, b""
        inner.dataReceived(buffered)

    def timeoutConnection(self) -> None:
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.setTimeout(None)
        self.factory.ended(self)
        if self._inner is not None:
            self._inner.connectionLost(reason)


class SwitchFactory(Factory):
    """The factory listening on the shared port. It owns the worker's shared resources
    (`Worker`: opened in `startFactory`, closed in `stopFactory`) and the two protocol factories
    built on them: Z39.50, and HTTP (SRU, the web page) made by `http` from the worker (None
    answers HTTP with 501). It admits or refuses each connection (`admission`). `limits`
    (connections, first byte) and `idle_timeout` (seconds until the first byte) default to the
    configured ones; `file_limit` False leaves the process's file limit alone (tests);
    `rebuilding`: the index is missing and being built (searches are unavailable until it is)."""

    protocol = ProtocolSwitch

    def __init__(self, home: Home, *, log: Log = stderr_log, clock: IReactorTime | None = None,
                 http: Callable[[Worker], Factory] | None = None, idle_timeout: float | None = None,
                 limits: ConnectionLimits | None = None, file_limit: bool = True, rebuilding: bool = False,
                 logins: Path | None = None) -> None:
        self.home = home
        self.logins = logins            # the file all workers count failed logins in (Worker.open)
        self.rebuilding = rebuilding    # the index is being built beside us (zserver.net.rebuild)
        self.log = log
        self.clock = clock
        self._http_for = http
        self._idle_timeout = idle_timeout
        self._limits = limits
        self._file_limit = file_limit
        self.worker: Worker | None = None
        self.z3950: Z3950Factory | None = None
        self.http: Factory | None = None
        self.admission: Admission | None = None
        self.refusals = RefusalLog(log)
        self.waiting: dict[ProtocolSwitch, None] = {}   # refused, held until their first byte; oldest first

    @property
    def idle_timeout(self) -> float:
        """Seconds a new connection has to send its first byte."""
        if self._idle_timeout is not None:
            return self._idle_timeout
        if self.admission is not None:
            return self.admission.limits.first_byte_timeout
        return ConnectionLimits.first_byte_timeout

    def buildProtocol(self, addr: IAddress) -> ProtocolSwitch:
        """A switch for the connection from `addr`, counted; over a limit a refusing one (and
        when `REFUSALS_WAITING` refused ones already wait, the one waiting longest is closed:
        a client sends its first bytes at once, a silent flood does not)."""
        address = _address(addr)
        why = self.admission.admit(address) if self.admission is not None else None
        switch = super().buildProtocol(addr)
        if why is None:
            switch.address = address
            return switch
        now = self.clock.seconds() if self.clock is not None else time.monotonic()
        if self.refusals.refused(now, f"{address}: {why}") and self.clock is not None:
            self.clock.callLater(self.refusals.interval, self._flush_refusals)
        if len(self.waiting) >= REFUSALS_WAITING:
            oldest = next(iter(self.waiting))
            del self.waiting[oldest]
            oldest.transport.loseConnection()
        switch.refused = why
        self.waiting[switch] = None
        return switch

    def ended(self, switch: ProtocolSwitch) -> None:
        """The connection of `switch` was lost (or, refused, was answered): it no longer counts."""
        if switch.refused is not None:
            self.waiting.pop(switch, None)
        elif self.admission is not None:
            self.admission.release(switch.address)

    def _flush_refusals(self) -> None:
        self.refusals.flush(self.clock.seconds())

    def _fit_file_limit(self, limits: ConnectionLimits) -> ConnectionLimits:
        """Raise the soft file limit to hold `limits.max_connections` and the reserve, or lower
        `max_connections` (with a warning in the log) when even the hard limit is too low."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        usable, new_soft, warning = fit_file_limit(limits.max_connections, soft, hard)
        if new_soft != soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        if warning is not None:
            self.log(f"warning: {warning}")
        return dataclasses.replace(limits, max_connections=usable)

    def startFactory(self) -> None:
        self.worker = Worker.open(self.home, log=self.log, rebuilding=self.rebuilding, logins=self.logins)
        limits = self._limits or self.worker.connections
        self.admission = Admission(self._fit_file_limit(limits) if self._file_limit else limits)
        self.z3950 = Z3950Factory(self.worker, clock=self.clock)
        self.z3950.doStart()
        if self._http_for is not None:
            self.http = self._http_for(self.worker)
            self.http.doStart()

    def stopFactory(self) -> None:
        for factory in (self.http, self.z3950):
            if factory is not None:
                factory.doStop()
        self.http = self.z3950 = None
        self.admission = None
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def close_all(self) -> None:
        """Close every open Z39.50 connection with our Close PDU (on shutdown)."""
        if self.z3950 is not None:
            self.z3950.close_all()


def http_factory(worker: Worker) -> HttpFactory:
    """The HTTP side of a worker: SRU and the web page over its HTTP core."""
    return HttpFactory(worker.http, log=worker.log)


# -- processes -------------------------------------------------------------------------------

def _supervisor_log(line: str) -> None:
    stderr_log(line, role="server")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _run_worker(home: Home, sock: socket.socket, log: Log = stderr_log, rebuilding: bool = False,
                logins: Path | None = None) -> int:
    """Serve on `sock` in this process until the reactor stops."""
    from twisted.internet import reactor

    switch = SwitchFactory(home, log=log, clock=reactor, http=http_factory, rebuilding=rebuilding, logins=logins)
    reactor.adoptStreamPort(sock.fileno(), sock.family, switch)
    sock.close()    # the reactor holds its own duplicate of the descriptor
    reactor.addSystemEventTrigger("before", "shutdown", switch.close_all)
    log("serving")
    reactor.run()
    log("stopped")
    return 0


def _spawn(home: Home, sock: socket.socket, rebuilding: bool, logins: Path | None) -> int:
    """Fork one worker; returns its pid in the parent, never returns in the child."""
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    with children.ending_with_us():     # a worker dies with the supervisor, even on kill -9
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for number in signals:
                signal.signal(number, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
            code = _run_worker(home, sock, rebuilding=rebuilding, logins=logins)
        except BaseException:   # the child must never return into the parent's code
            import traceback

            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    return pid


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _supervise(home: Home, sock: socket.socket, workers: int, build: int | None = None,
               logins: Path | None = None) -> int:
    """Run `workers` processes on `sock` until told to stop; `build` is the pid of the index
    build started beside them (zserver.net.rebuild), reaped here too; `logins` is the file they
    count failed logins in together."""
    children: set[int] = set()
    stopping = False

    def stop(number: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    restarts: deque[float] = deque()
    failed = False
    try:
        for _ in range(workers):
            children.add(_spawn(home, sock, build is not None, logins))
        while children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid == build:
                build = None
                rebuild.ended(os.waitstatus_to_exitcode(status), _supervisor_log)
                continue
            children.discard(pid)
            metrics.worker_ended(pid)   # its gauges no longer count
            if stopping:
                continue
            _supervisor_log(f"worker {pid} ended ({_describe(status)}); starting another")
            now = time.monotonic()
            restarts.append(now)
            while restarts and now - restarts[0] > RESTART_WINDOW:
                restarts.popleft()
            if len(restarts) > RESTART_LIMIT:
                _supervisor_log(f"workers keep dying ({len(restarts)} in {RESTART_WINDOW:.0f}s); giving up")
                failed = True
                stop(signal.SIGTERM, None)
                continue
            children.add(_spawn(home, sock, build is not None, logins))
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sock.close()
    _supervisor_log("stopped")
    return 1 if failed else 0


def preload() -> None:
    """Build, before forking, what every worker builds on its first request (the compiled ASN.1
    specification, about 20 MB; the query grammars), so the workers share those pages instead
    of each holding a copy; then freeze the heap so the workers' garbage collector does not
    copy it by touching it."""
    from zserver import querylang
    from zserver.z3950.codec import specification

    specification()
    querylang.preload()
    gc.collect()
    gc.freeze()


def serve(home: Home, host: str | None = None, port: int | None = None, workers: int | None = None,
          replica_of: str | None = None, replica_poll: float = 5.0) -> int:
    """Serve Z39.50 on host:port with `workers` processes; None takes `[server]` from
    unikat.toml (host 127.0.0.1, port 2100, workers 2). Port 0 picks a free port; the
    "listening on" line on stderr says which. Without an index, the port opens at once and
    the index is built beside the workers (`zserver.net.rebuild`). With `replica_of` (the DSN
    of a catalog's PostgreSQL store) the home is a search host of that catalog: it takes the
    index the catalog publishes before serving and every `replica_poll` seconds while serving
    (`zserver.net.replica`), and never builds one. Returns the exit status."""
    follower = None
    if replica_of is not None:
        from zserver.net import replica  # psycopg, only for a search host of a PostgreSQL store

        replica.prepare(home, replica_of, _supervisor_log, replica_poll)
        follower = replica.Follower(home, replica_of, replica_poll, _supervisor_log)
    try:
        return _serve(home, host, port, workers, follower)
    finally:
        if follower is not None:
            follower.stop()


def _serve(home: Home, host: str | None, port: int | None, workers: int | None,
           follower: Follower | None) -> int:
    from zserver.querylang.errors import allow_deep_queries

    allow_deep_queries()   # before the workers fork: they inherit it
    config = home.config()
    server = config.server
    host = host or server.host
    port = server.port if port is None else port
    workers = server.workers if workers is None else workers
    ready = engines.index_ready(home, config)
    if ready:
        Catalog(home).close()   # fails here, once, if the index cannot be opened
    if workers > 1:
        preload()
    sock = _listen(host, port)
    _supervisor_log(f"listening on {host}:{sock.getsockname()[1]} with {max(1, workers)} worker(s)")
    # built beside us, the port open meanwhile; a search host waits for the catalog's instead
    build = None if ready or follower is not None else rebuild.start(home, _supervisor_log)
    directory = metrics.serve_directory(config.metrics)   # the workers' metric files ([metrics] enabled)
    if follower is not None:
        follower.start()   # in the supervisor: the workers only refresh
    try:
        if workers <= 1:
            try:
                if build is not None:
                    rebuild.watch(build, _supervisor_log)
                return _run_worker(home, sock, rebuilding=build is not None)
            finally:
                sock.close()
        logins = Path(tempfile.mkdtemp(prefix="unikat-logins-"))   # failed logins, counted by all workers
        try:
            LoginCounts.create(logins / "logins.sqlite").close()   # made once here; the workers only open it
            return _supervise(home, sock, workers, None if build is None else build.pid, logins / "logins.sqlite")
        finally:
            shutil.rmtree(logins, ignore_errors=True)
    finally:
        metrics.remove_directory(directory)
