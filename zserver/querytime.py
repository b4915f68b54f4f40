"""Search time per client: one client cannot starve the others with expensive queries.

`[index] max_query_seconds` stops one search; a client could still send such searches one after
another and keep a worker busy for everybody. So each client has a budget of search work:
`[server] max_query_time` seconds within a sliding window of `query_time_window` seconds. The
work is what the catalog measures around its engine calls (`Catalog.work_seconds`: searches,
sorts, scans, facets), the time the per-query cap also counts. A client over its budget gets
`ResourcesExhausted` before its next search (Bib-1 31 "resources exhausted - no results
available", SRU 47 with HTTP 429 and Retry-After) until its older work leaves the window; what
costs no search (present, records, explain) is not refused.

A client is a Z39.50 connection (the handler holds one `QueryTime`), or over HTTP, where every
request may come on a new connection, a client address (`QueryTimes`, bounded). The counts are
per worker process (a search's time is spent where it runs; failed logins, in contrast, are
counted by all workers together: `zserver.logins`).

Sans-I/O: the clock is passed in.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from index.config import ServerConfig
from index.errors import ResourcesExhausted

__all__ = ["QueryTime", "QueryTimePolicy", "QueryTimes"]

MAX_ADDRESSES = 10_000   # client addresses whose search time is remembered (least recent go first)


@dataclass(frozen=True)
class QueryTimePolicy:
    seconds: float = ServerConfig.max_query_time   # search work a client may use ...
    window: float = ServerConfig.query_time_window  # ... within this many seconds

    @classmethod
    def from_config(cls, server: ServerConfig) -> QueryTimePolicy:
        return cls(server.max_query_time, server.query_time_window)


class QueryTime:
    """The search work of one client within the sliding window."""

    def __init__(self, policy: QueryTimePolicy = QueryTimePolicy(), clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._spent: deque[tuple[float, float]] = deque()   # (when, seconds), oldest first
        self._total = 0.0

    def used(self) -> float:
        """Seconds of work within the window now."""
        edge = self._clock() - self.policy.window
        while self._spent and self._spent[0][0] <= edge:
            self._total -= self._spent.popleft()[1]
        if not self._spent:
            self._total = 0.0   # no drift from adding and subtracting floats
        return self._total

    def retry_after(self) -> float:
        """Seconds until enough work leaves the window for a search to be allowed again."""
        over = self.used() - self.policy.seconds
        now = self._clock()
        for when, seconds in self._spent:
            over -= seconds
            if over < 0:
                return max(when + self.policy.window - now, 0.0)
        return 0.0

    def check(self) -> None:
        """Raise `ResourcesExhausted` while the client has used its budget."""
        used = self.used()
        if used >= self.policy.seconds:
            raise ResourcesExhausted(
                f"this client has used {used:.3g} s of search time in the last {self.policy.window:g} s"
                f" (the limit is {self.policy.seconds:g} s); try again in {max(self.retry_after(), 1):.0f} s")

    def charge(self, seconds: float) -> None:
        if seconds > 0:
            self._spent.append((self._clock(), seconds))
            self._total += seconds

    @contextmanager
    def metered(self, work_seconds: Callable[[], float]) -> Iterator[None]:
        """Check the budget, then charge the work done in the block (however it ends);
        `work_seconds` reads the catalog's running total (`Catalog.work_seconds`)."""
        self.check()
        before = work_seconds()
        try:
            yield
        finally:
            self.charge(work_seconds() - before)


class QueryTimes:
    """The `QueryTime` of each client address (HTTP), the least recently seen forgotten first."""

    def __init__(self, policy: QueryTimePolicy = QueryTimePolicy(), clock: Callable[[], float] = time.monotonic,
                 limit: int = MAX_ADDRESSES) -> None:
        self.policy = policy
        self._clock = clock
        self._limit = limit
        self._clients: OrderedDict[str | None, QueryTime] = OrderedDict()

    def of(self, address: str | None) -> QueryTime:
        found = self._clients.get(address)
        if found is None:
            found = self._clients[address] = QueryTime(self.policy, self._clock)
            if len(self._clients) > self._limit:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(address)
        return found
