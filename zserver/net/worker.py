"""What the connections of one worker process share, opened once and closed once.

`Worker` owns the open `Catalog` and what the protocols derive from its configuration: the
Z39.50 limits and CCL profile, the idle timeout, the limits on connections, and the HTTP core (and with it the SRU result
sets). As in Twisted's own servers, the listening factory (`app.SwitchFactory`) holds it: it
opens the worker in `startFactory` and closes it in `stopFactory`; the protocol factories
(`Z3950Factory`, `HttpFactory`) borrow from it and protocols only dispatch.

It must not know sockets or the reactor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.config import ServerConfig
from index.home import Home
from index.search import Catalog
from index.store.logins import LoginCounts
from zserver.logins import LoginGuard, LoginPolicy
from zserver.metrics import Metrics
from zserver.net.admission import ConnectionLimits
from zserver.net.http import HttpCore
from zserver.net.log import Log, stderr_log
from zserver.querylang.ccl import DEFAULT_QUALIFIERS, CclProfile
from zserver.z3950.handler import Limits
from zserver.z3950.session import DecodedRequests

__all__ = ["Worker"]


@dataclass
class Worker:
    """The shared resources of one worker process."""

    catalog: Catalog
    limits: Limits               # Z39.50 sizes and result sets, from [server]
    ccl_profile: CclProfile
    idle_timeout: float          # seconds a Z39.50 client may stay silent
    http: HttpCore
    log: Log
    connections: ConnectionLimits = ConnectionLimits()   # connections, first byte, Init, from [server]
    max_pdu_elements: int = ServerConfig.max_pdu_elements  # BER values in one incoming Z39.50 PDU
    login_guard: LoginGuard = field(default_factory=LoginGuard)  # failed logins of all its connections
    metrics: Metrics | None = None   # [metrics] enabled: what its connections count (zserver.metrics)
    decoded: DecodedRequests = field(default_factory=DecodedRequests)   # Z39.50 requests repeated byte for byte

    @classmethod
    def open(cls, home: Home, *, log: Log = stderr_log, clock: Callable[[], float] = time.time,
             rebuilding: bool = False, logins: Path | None = None) -> Worker:
        """Open the catalog of `home` (raises `IndexNotBuilt` without an index, unless it is
        `rebuilding`: then searches are unavailable until it is built). `clock` gives
        wall-clock seconds (SRU result-set lifetimes, login lockouts). `logins`: the file where
        all workers of the server count failed logins (`index.store.logins`); None counts in
        this process only."""
        catalog = Catalog(home, rebuilding=rebuilding)
        config = catalog.config
        server = config.server
        counts = LoginCounts(logins) if logins is not None else None   # Z39.50 and HTTP logins count together
        guard = LoginGuard(LoginPolicy.from_config(server), clock, counts)
        http = HttpCore(catalog, clock=clock, login_guard=guard)
        http.metrics = Metrics.open(config.metrics, lambda: len(http.sru_state))
        return cls(catalog, Limits.from_config(server), CclProfile(config.ccl or DEFAULT_QUALIFIERS),
                   server.idle_timeout, http, log,
                   ConnectionLimits.from_config(server), server.max_pdu_elements, guard, http.metrics,
                   DecodedRequests(server.decoded_requests))

    def close(self) -> None:
        self.catalog.close()
        self.login_guard.counts.close()
