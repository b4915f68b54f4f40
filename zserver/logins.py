"""Logins: a user name and password checked against `[users]`, with failed attempts limited.

This module owns what a login means for every protocol: the password is compared with the
stored salted hash (`index.passwords`), an unknown name costs as much as a known one (so the
time of an answer does not tell which names exist), and repeated failures lock out the user
name and the client address they came from. A `LoginGuard` is shared by all connections of a
worker; its counts are the server's (`index.store.logins`, every worker's together) or its
own (`MemoryCounts`); the clock is passed in (tests give a fake one).

It knows no protocol, socket or reactor: a refusal is a `LoginRefused` exception, which the
Z39.50 handler answers with Bib-1 1011.

The lockout, as `[server]` configures it: `max_login_failures` failures within
`login_failure_window` seconds for one user name, or from one client address, refuse every
login of that name or from that address (even with the right password, which is not
checked then, and not counted) for `login_lockout` seconds. A success clears the failures of
its user name, not those of its address, so one known account does not reset the count of an
address guessing others. The workers of `unikat serve` count together, so W workers allow a
guesser no more than one. Refusing at once, never sleeping, keeps the reactor free.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from index.config import ServerConfig
from index.passwords import PasswordHash, check
from index.store.logins import Count

__all__ = ["Counts", "LoginGuard", "LoginPolicy", "LoginRefused", "MemoryCounts"]

MAX_TRACKED = 10_000
"""Names and addresses counted at most; beyond, the oldest without a lockout are forgotten."""


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures (`max_failures`) within `window` seconds lock a name or an address
    out for `lockout` seconds."""

    max_failures: int = ServerConfig.max_login_failures
    window: float = ServerConfig.login_failure_window
    lockout: float = ServerConfig.login_lockout

    @classmethod
    def from_config(cls, server: ServerConfig) -> LoginPolicy:
        return cls(server.max_login_failures, server.login_failure_window, server.login_lockout)


class LoginRefused(Exception):
    """A login refused: `reason` is for the client and the log (the user name for a wrong
    password, as YAZ's GFS answers; the name or address and the seconds left for a lockout).
    It never holds the password."""

    def __init__(self, reason: str, retry_after: float | None = None, *, address_blocked: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.address_blocked = address_blocked   # the client's address is locked out, not only the name


class MemoryCounts:
    """The counts of one process, oldest failure first (the dict's order): a guard of its own
    for a command or a test; a server's workers share `index.store.logins.LoginCounts`."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], Count] = {}

    def get(self, key: tuple[str, str]) -> Count | None:
        return self._counts.get(key)

    def update(self, key: tuple[str, str], change: Callable[[Count | None], Count]) -> None:
        count = change(self._counts.pop(key, None))
        self._counts[key] = count            # re-inserted: the dict's order is the order of last failure

    def remove(self, key: tuple[str, str]) -> None:
        self._counts.pop(key, None)

    def forget(self, now: float, window: float, keep: int) -> None:
        """Keep at most `keep` keys: drop what has expired, then the oldest not locked out."""
        if len(self._counts) <= keep:
            return
        for key, (failures, locked_until) in list(self._counts.items()):
            if locked_until <= now and not any(moment > now - window for moment in failures):
                del self._counts[key]
        for key, (_, locked_until) in list(self._counts.items()):
            if len(self._counts) <= keep:
                break
            if locked_until <= now:
                del self._counts[key]

    def __len__(self) -> int:
        return len(self._counts)

    def close(self) -> None:
        """Nothing to give back (the shared counts close their file)."""


class Counts(Protocol):
    """Where a guard keeps its counts: `MemoryCounts` or `index.store.logins.LoginCounts`."""

    def get(self, key: tuple[str, str]) -> Count | None: ...
    def update(self, key: tuple[str, str], change: Callable[[Count | None], Count]) -> None: ...
    def remove(self, key: tuple[str, str]) -> None: ...
    def forget(self, now: float, window: float, keep: int) -> None: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...


class LoginGuard:
    """Checks logins and counts failures per user name and per client address, in `counts`
    (its own `MemoryCounts` if None)."""

    def __init__(self, policy: LoginPolicy | None = None, clock: Callable[[], float] = time.monotonic,
                 counts: Counts | None = None) -> None:
        self.policy = policy or LoginPolicy()
        self._clock = clock
        self.counts: Counts = counts if counts is not None else MemoryCounts()

    def login(self, users: Mapping[str, PasswordHash], user: str, password: str, address: str | None) -> None:
        """Accept `user` with `password` from client `address` (None when unknown), or raise
        LoginRefused: for a wrong name or password, or while the name or address is locked out."""
        now = self._clock()
        keys = [("user", user)] + ([("address", address)] if address else [])
        found = {key: self.counts.get(key) for key in keys}
        for (kind, value), count in found.items():
            if count is not None and count[1] > now:
                left = count[1] - now
                what = value if kind == "user" else f"address {value}"
                raise LoginRefused(f"{what}: locked after {self.policy.max_failures} failed logins,"
                                   f" retry in {left:.0f} s", left, address_blocked=kind == "address")
        if check(users.get(user), password):   # an unknown name costs the same work
            if found[("user", user)] is not None:
                self.counts.remove(("user", user))
            return
        for key in keys:
            self.counts.update(key, lambda count: self._failed(count, now))
        if None in found.values():   # only a new key makes the counts grow
            self.counts.forget(now, self.policy.window, MAX_TRACKED)
        raise LoginRefused(user)

    def _failed(self, count: Count | None, now: float) -> Count:
        """The count after one more failure at `now`: a lockout once the window holds enough."""
        failures = [moment for moment in (count[0] if count else ()) if moment > now - self.policy.window]
        failures.append(now)
        if len(failures) >= self.policy.max_failures:
            return (), now + self.policy.lockout
        return tuple(failures), count[1] if count else 0.0

    def tracked(self) -> int:
        """How many names and addresses are counted now (for tests and the soak report)."""
        return len(self.counts)
