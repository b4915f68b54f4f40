"""Which new connections a worker takes: limits in all and per client address, and the log of
refusals.

This module owns the counting behind `[server] max_connections` and
`max_connections_per_address` (per worker process), the descriptor reserve those limits keep
below the process's file limit, and a refusal log that says what happened without letting a
flood of refusals flood the log. `app.SwitchFactory` asks `Admission.admit` when a connection
lands and calls `release` when it ends; what the refused client is told is the protocols'.

It must not know sockets, Twisted or the clock: time comes in as an argument (seconds).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from index.config import ServerConfig

__all__ = ["FD_RESERVE", "Admission", "ConnectionLimits", "RefusalLog", "fit_file_limit"]

FD_RESERVE = 100
"""Descriptors kept free beside `max_connections`: the index and store files, the listening
socket, the log, and the refused connections waiting for their first byte to be answered
(at most `REFUSALS_WAITING`), so the server can always accept and answer."""

REFUSALS_WAITING = 32
"""Refused connections held at once until their first byte (to answer in their protocol);
beyond, the one held longest is closed without an answer."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The `[server]` limits on connections: counts per worker process, seconds."""

    max_connections: int = ServerConfig.max_connections
    max_connections_per_address: int = ServerConfig.max_connections_per_address
    first_byte_timeout: float = ServerConfig.first_byte_timeout
    init_timeout: float = ServerConfig.init_timeout

    @classmethod
    def from_config(cls, server: ServerConfig) -> ConnectionLimits:
        return cls(server.max_connections, server.max_connections_per_address, server.first_byte_timeout,
                   server.init_timeout)


def fit_file_limit(max_connections: int, soft: int, hard: int) -> tuple[int, int, str | None]:
    """What to do with the file limit (RLIMIT_NOFILE `soft`/`hard`; negative is unlimited) so
    `max_connections` plus `FD_RESERVE` descriptors fit: returns the connection limit to use,
    the soft limit to set, and a warning when the limit had to be lowered."""
    needed = max_connections + FD_RESERVE
    if soft < 0 or soft >= needed:
        return max_connections, soft, None
    if hard < 0 or hard >= needed:
        return max_connections, needed, None
    usable = max(1, hard - FD_RESERVE)
    return usable, hard, (f"the file limit ({hard} descriptors) leaves room for {usable} connections beside a"
                          f" reserve of {FD_RESERVE}: max_connections lowered from {max_connections} to"
                          f" {usable}; raise the limit (ulimit -n) to {needed} or more")


class Admission:
    """Open connections of one worker by client address; `admit` says whether one more may come."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.total = 0
        self._by_address: Counter[str] = Counter()

    def admit(self, address: str | None) -> str | None:
        """Count a new connection from `address` (None: not an IP peer, only the total limit
        applies) and return None; or return why it is refused (one line for the client and the
        log) and count nothing."""
        limits = self.limits
        if self.total >= limits.max_connections:
            return f"too many connections ({limits.max_connections} open); try again later"
        if address is not None and self._by_address[address] >= limits.max_connections_per_address:
            return (f"too many connections from {address} ({limits.max_connections_per_address} open);"
                    " try again later")
        self.total += 1
        if address is not None:
            self._by_address[address] += 1
        return None

    def release(self, address: str | None) -> None:
        """An admitted connection from `address` ended."""
        self.total -= 1
        if address is not None:
            self._by_address[address] -= 1
            if self._by_address[address] <= 0:
                del self._by_address[address]


class RefusalLog:
    """Logs the first refusal, then at most one line per `interval` seconds that counts the
    refusals not logged since (`flush`), so a flood of connections writes a few lines."""

    def __init__(self, log: Callable[[str], None], interval: float = 10.0) -> None:
        self._log = log
        self.interval = interval
        self._last: float | None = None
        self._unlogged = 0

    def refused(self, now: float, line: str) -> bool:
        """Log `line` unless one was logged less than `interval` seconds ago (then count it).
        True when the caller should arrange a `flush` `interval` seconds from now."""
        if self._last is not None and now - self._last < self.interval:
            self._unlogged += 1
            return self._unlogged == 1
        self.flush(now)
        self._log(f"refused: {line}")
        self._last = now
        return False

    def flush(self, now: float) -> None:
        """Log how many refusals went unlogged, if any."""
        if self._unlogged:
            self._log(f"refused {self._unlogged} more connection(s) in the last {self.interval:.0f}s"
                      " (not logged one by one)")
            self._unlogged = 0
            self._last = now
