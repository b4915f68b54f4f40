"""Retries with back-off, the ISBN/ISSN list reader and the request checks of `unikat harvest`."""

from __future__ import annotations

import pytest

from zserver.harvest.base import HarvestError, RemoteUnavailable, retrying
from zserver.harvest.run import HarvestRequest, check, read_numbers


def test_retrying_waits_twice_as_long_each_time_then_gives_up() -> None:
    waits: list[float] = []
    messages: list[str] = []

    def failing() -> None:
        raise RemoteUnavailable("HTTP 503")

    with pytest.raises(RemoteUnavailable, match=r"gave up after 4 attempts"):
        retrying(failing, 3, sleep=waits.append, notify=messages.append)
    assert waits == [1.0, 2.0, 4.0]
    assert messages[0] == "HTTP 503; trying again in 1s (1 of 3)"


def test_retrying_returns_what_a_later_attempt_gets() -> None:
    answers = iter([RemoteUnavailable("reset"), RemoteUnavailable("reset"), "page"])

    def flaky() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    waits: list[float] = []
    assert retrying(flaky, 3, sleep=waits.append) == "page"
    assert waits == [1.0, 2.0]


def test_a_refusal_is_not_tried_again() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise HarvestError("diagnostic 16")

    with pytest.raises(HarvestError):
        retrying(refused, 3, sleep=lambda seconds: None)
    assert calls == [1]


def test_read_numbers() -> None:
    assert read_numbers("978-3-16-148410-0\n# comment\n\n0317-8471  # an ISSN\n0317-8471\n") == (
        "9783161484100", "03178471")
    with pytest.raises(ValueError, match=r"line 2: 'abc' is not an ISBN or ISSN"):
        read_numbers("9783161484100\nabc\n")


@pytest.mark.parametrize(("request_", "reason"), [
    (HarvestRequest("sru", "http://x/"), "nothing to harvest"),
    (HarvestRequest("oai", "http://x/oai", query="a"), "OAI-PMH harvests a whole repository"),
    (HarvestRequest("z3950", "x:1/D", mode="all", set_spec="S"), "--set and --until are for OAI-PMH"),
    (HarvestRequest("sru", "http://x/", mode="all", until="2026-01-01"), "--set and --until are for OAI-PMH"),
    (HarvestRequest("ftp", "x", mode="all"), "unknown protocol"),
    (HarvestRequest("sru", "http://x/", mode="isbns"), "list is empty"),
])
def test_requests_refused_with_a_reason(request_: HarvestRequest, reason: str) -> None:
    with pytest.raises(HarvestError, match=reason):
        check(request_)
