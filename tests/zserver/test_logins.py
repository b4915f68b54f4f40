"""Logins: hashed passwords checked, failures counted per user name and per client address,
lockouts with a fake clock."""

from __future__ import annotations

import pytest

from index.passwords import hash_password
from index.store.logins import LoginCounts
from zserver import logins
from zserver.logins import LoginGuard, LoginPolicy, LoginRefused

USERS = {"librarian": hash_password("secret"), "cataloguer": hash_password("books")}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "shared"])
def counts(request, tmp_path):
    """Every rule holds for the counts of one process and for those a server's workers share."""
    if request.param == "memory":
        yield None
        return
    shared = LoginCounts.create(tmp_path / "logins.sqlite")
    yield shared
    shared.close()


@pytest.fixture()
def guard(clock: Clock, counts) -> LoginGuard:
    return LoginGuard(LoginPolicy(max_failures=3, window=60.0, lockout=30.0), clock, counts)


def refused(guard: LoginGuard, user: str, password: str, address: str | None = "10.0.0.1") -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        guard.login(USERS, user, password, address)
    return caught.value


def test_right_password_accepted_wrong_and_unknown_refused_alike(guard: LoginGuard) -> None:
    guard.login(USERS, "librarian", "secret", "10.0.0.1")
    wrong, unknown = refused(guard, "librarian", "Secret"), refused(guard, "nobody", "secret", "10.0.0.2")
    assert (wrong.reason, wrong.retry_after) == ("librarian", None)
    assert (unknown.reason, unknown.retry_after) == ("nobody", None)


def test_failures_lock_the_account_even_for_the_right_password_until_the_lockout_ends(guard, clock) -> None:
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):    # one failure per address: only the name adds up
        refused(guard, "librarian", "guess", address)
    locked = refused(guard, "librarian", "secret", "10.0.0.9")
    assert locked.reason == "librarian: locked after 3 failed logins, retry in 30 s" and locked.retry_after == 30.0
    guard.login(USERS, "cataloguer", "books", "10.0.0.9")   # another account from another address: fine
    clock.now += 29.0
    assert refused(guard, "librarian", "secret", "10.0.0.9").reason.endswith("retry in 1 s")
    clock.now += 1.0
    guard.login(USERS, "librarian", "secret", "10.0.0.9")


def test_failures_lock_the_address_for_every_account(guard, clock) -> None:
    for user in ("a", "b", "c"):                           # one failure per name: only the address adds up
        refused(guard, user, "guess", "10.0.0.1")
    locked = refused(guard, "cataloguer", "books", "10.0.0.1")
    assert locked.reason == "address 10.0.0.1: locked after 3 failed logins, retry in 30 s"
    guard.login(USERS, "cataloguer", "books", "10.0.0.2")   # the same account from elsewhere
    clock.now += 30.0
    guard.login(USERS, "cataloguer", "books", "10.0.0.1")


def test_failures_older_than_the_window_do_not_count(guard, clock) -> None:
    refused(guard, "librarian", "one")
    refused(guard, "librarian", "two")
    clock.now += 61.0
    refused(guard, "librarian", "three")
    guard.login(USERS, "librarian", "secret", "10.0.0.1")   # 1 failure in the window, not 3


def test_a_success_clears_its_name_not_its_address(guard) -> None:
    refused(guard, "librarian", "one")
    refused(guard, "librarian", "two")
    guard.login(USERS, "librarian", "secret", "10.0.0.1")
    refused(guard, "librarian", "three", "10.0.0.5")
    refused(guard, "librarian", "four", "10.0.0.6")
    guard.login(USERS, "librarian", "secret", "10.0.0.7")   # the name's count started again
    assert refused(guard, "x", "y").reason == "x"           # the third failure from 10.0.0.1 ...
    assert refused(guard, "cataloguer", "books").reason.startswith("address 10.0.0.1: locked")   # ... locks it


def test_attempts_during_a_lockout_do_not_check_the_password_nor_extend_it(guard, clock, monkeypatch) -> None:
    for _ in range(3):
        refused(guard, "librarian", "guess")
    monkeypatch.setattr(type(USERS["librarian"]), "verify", lambda self, password: pytest.fail("hashed"))
    for _ in range(10):
        clock.now += 2.0
        refused(guard, "librarian", "secret", "10.0.0.8")
    monkeypatch.undo()
    clock.now += 10.0                                       # 30 s after the third failure
    guard.login(USERS, "librarian", "secret", "10.0.0.8")


def test_without_an_address_only_the_name_counts(guard) -> None:
    for user in ("a", "b", "c", "d"):
        refused(guard, user, "guess", None)
    guard.login(USERS, "librarian", "secret", None)


def test_what_is_counted_stays_bounded(clock, counts, monkeypatch) -> None:
    monkeypatch.setattr(logins, "MAX_TRACKED", 20)
    guard = LoginGuard(LoginPolicy(max_failures=100, window=5.0, lockout=5.0), clock, counts)
    for number in range(50):
        refused(guard, f"user{number}", "x", f"10.0.1.{number}")
        clock.now += 1.0
    assert guard.tracked() <= 20


def test_workers_count_together(clock, tmp_path) -> None:
    """Two workers (two guards, each with its own connection to the file) share one allowance:
    failures spread over both lock the name out in both, and a success in one clears it in both."""
    policy = LoginPolicy(max_failures=3, window=60.0, lockout=30.0)
    LoginCounts.create(tmp_path / "logins.sqlite").close()
    one, two = (LoginGuard(policy, clock, LoginCounts(tmp_path / "logins.sqlite")) for _ in range(2))
    refused(one, "librarian", "guess1", "10.0.0.1")
    refused(two, "librarian", "guess2", "10.0.0.2")
    one.login(USERS, "librarian", "secret", "10.0.0.3")          # clears the name's failures
    for guard, address in ((one, "10.0.0.4"), (two, "10.0.0.5"), (one, "10.0.0.6")):
        refused(guard, "librarian", "guess", address)
    for guard in (one, two):
        assert "locked after 3 failed logins" in refused(guard, "librarian", "secret", "10.0.0.7").reason
    clock.now += 31.0
    two.login(USERS, "librarian", "secret", "10.0.0.7")
    one.login(USERS, "librarian", "secret", "10.0.0.7")
