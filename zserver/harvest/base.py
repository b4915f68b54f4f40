"""What a harvester provides, and what is the same for all: pages of records, the errors, and
trying a request again with back-off.

A harvester (`sru`, `z3950`, `oai`) turns one remote request into a `Page` of
`index.external.ExternalRecord`s and says where the next page starts. It keeps no state
between runs: where a harvest stands is `index.external.HarvestState`, stored after each page.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from index.external import ExternalRecord

__all__ = ["USER_AGENT", "HarvestError", "Harvester", "Page", "RemoteUnavailable", "fallback_id", "retrying"]

USER_AGENT = "unikat-harvest/0.1"   # what the HTTP harvesters (SRU, OAI-PMH) call themselves


class HarvestError(Exception):
    """The remote server refused the harvest (a diagnostic, an OAI-PMH error, a bad answer):
    trying again would not help; the message says what it answered."""


class RemoteUnavailable(HarvestError):
    """The server could not be reached or answered with a temporary failure (connection refused
    or reset, timeout, HTTP 5xx or 429): worth trying again after a while."""


@dataclass
class Page:
    """One answer: its records, where the next page starts (`position`: record position, or
    `token`: a resumption token), the result's size when the server says it (`total`), and
    whether this was the last page (`done`). `responded`: the server's response time where the
    protocol gives one (OAI-PMH responseDate), else ""."""

    records: list[ExternalRecord] = field(default_factory=list)
    position: int = 0
    token: str = ""
    total: int | None = None
    done: bool = False
    responded: str = ""


class Harvester(Protocol):
    def page(self, position: int, token: str) -> Page:
        """The page of records starting at `position` (1-based) or at resumption `token`."""

    def close(self) -> None:
        ...


T = TypeVar("T")


def retrying(request: Callable[[], T], retries: int, *, first_wait: float = 1.0,
             sleep: Callable[[float], None] = time.sleep, notify: Callable[[str], None] | None = None) -> T:
    """`request()`, tried again up to `retries` times while it raises `RemoteUnavailable`,
    waiting `first_wait`, then twice as long each time (1, 2, 4 ... seconds)."""
    wait = first_wait
    for attempt in range(retries + 1):
        try:
            return request()
        except RemoteUnavailable as error:
            if attempt == retries:
                raise RemoteUnavailable(f"{error} (gave up after {retries + 1} attempts)") from error
            if notify:
                notify(f"{error}; trying again in {wait:g}s ({attempt + 1} of {retries})")
            sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")


def fallback_id(data: bytes) -> str:
    """An id for a record that has none (no 001, no record identifier): its content's digest,
    so that the same record harvested again is met again."""
    return "sha1:" + hashlib.sha1(data).hexdigest()
