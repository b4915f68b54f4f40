"""Init with idPass against hashed passwords, with failed logins counted by a guard the
connections of a worker share: wrong password 1011; after too many failures, per user name or
per client address, even the right password gets 1011 (1016, blocked network address, for a
locked-out address) until the lockout has passed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import RestrictedHome

from index.config import ServerConfig
from index.search import Catalog
from zserver.logins import LoginGuard, LoginPolicy
from zserver.z3950.codec import decode_pdu, decode_type
from zserver.z3950.handler import Handler
from zserver.z3950.pdus import IdPass, InitResponse, SearchResponse, from_asn1

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
INIT = from_asn1(*decode_pdu((PDUS / "init-plain-01-c-initRequest.ber").read_bytes()))
SEARCH = from_asn1(*decode_pdu((PDUS / "search-rpn-03-c-searchRequest.ber").read_bytes()))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def catalog(sample_homes):
    opened = Catalog(RestrictedHome(sample_homes["postings"].root))   # B restricted; Init is engine-blind
    yield opened
    opened.close()


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def guard(clock) -> LoginGuard:
    return LoginGuard(LoginPolicy(max_failures=3, window=60.0, lockout=60.0), clock)


def init(catalog, guard, user: str, password: str, address: str = "192.0.2.1") -> tuple[Handler, InitResponse]:
    """One association's Init, as a new connection from `address` sends it."""
    handler = Handler(catalog, login_guard=guard, client_address=address)
    request = dataclasses.replace(INIT, id_authentication=("idPass", IdPass(user_id=user, password=password)))
    return handler, handler.handle(request).pdu


def diagnostic(response: InitResponse) -> tuple[int, str]:
    """The diagnostic in a rejected InitResponse: userinfo-1 -> diag-1 -> DefaultDiagFormat."""
    units = decode_type("OtherInformation", response.user_information_field["encoding"][1])
    (entry,) = decode_type("DiagnosticFormat", units[0]["information"][1]["encoding"][1])
    diag = entry["diagnostic"][1]
    return diag["condition"], diag["addinfo"][1]


def test_the_hashed_password_opens_the_restricted_database(catalog, guard) -> None:
    handler, response = init(catalog, guard, "librarian", "secret")
    assert response.result is True and handler.association.user == "librarian"
    search = handler.handle(dataclasses.replace(SEARCH, database_names=("B",))).pdu
    assert isinstance(search, SearchResponse) and search.search_status is True


def test_a_wrong_password_is_1011_naming_the_user(catalog, guard) -> None:
    handler, response = init(catalog, guard, "librarian", "Secret")
    assert response.result is False and diagnostic(response) == (1011, "librarian")
    assert handler.association.user is None


def test_failures_for_one_account_refuse_it_from_every_address_until_the_lockout_passes(catalog, guard, clock):
    for number in range(3):
        _, response = init(catalog, guard, "librarian", f"guess{number}", f"198.51.100.{number}")
        assert diagnostic(response) == (1011, "librarian")
    _, response = init(catalog, guard, "librarian", "secret", "203.0.113.7")
    assert response.result is False
    assert diagnostic(response) == (1011, "librarian: locked after 3 failed logins, retry in 60 s")
    clock.now += 59.0
    assert init(catalog, guard, "librarian", "secret", "203.0.113.7")[1].result is False
    clock.now += 1.0
    handler, response = init(catalog, guard, "librarian", "secret", "203.0.113.7")
    assert response.result is True and handler.association.user == "librarian"


def test_failures_from_one_address_refuse_it_for_every_account(catalog, guard, clock) -> None:
    for user in ("root", "admin", "guest"):
        assert diagnostic(init(catalog, guard, user, "x", "192.0.2.66")[1]) == (1011, user)
    _, response = init(catalog, guard, "librarian", "secret", "192.0.2.66")
    assert diagnostic(response) == (1016, "address 192.0.2.66: locked after 3 failed logins, retry in 60 s")
    assert init(catalog, guard, "librarian", "secret", "192.0.2.67")[1].result is True
    clock.now += 60.0
    assert init(catalog, guard, "librarian", "secret", "192.0.2.66")[1].result is True


def test_anonymous_inits_are_never_counted(catalog, guard) -> None:
    for _ in range(10):
        handler = Handler(catalog, login_guard=guard, client_address="192.0.2.1")
        assert handler.handle(dataclasses.replace(INIT, id_authentication=None)).pdu.result is True
    assert guard.tracked() == 0


def test_a_handler_without_a_shared_guard_takes_the_configured_limits(catalog) -> None:
    server = catalog.config.server
    assert Handler(catalog).login_guard.policy == LoginPolicy.from_config(server)
    assert LoginPolicy.from_config(server) == LoginPolicy(ServerConfig.max_login_failures,
                                                          ServerConfig.login_failure_window, ServerConfig.login_lockout)
