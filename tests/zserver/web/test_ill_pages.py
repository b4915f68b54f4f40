"""The ILL web pages as a plain object (zserver.web.ill.IllPages) over a real store: form,
balance, order, status, refusals, and the login lockout shared with every other login."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from illdata import Clock, config_of, ill_home

from index.ill import IllService
from index.store.catalog import CatalogStore
from zserver.logins import LoginGuard, LoginPolicy
from zserver.web.ill import IllPages


@pytest.fixture
def pages(tmp_path):
    home, isns = ill_home(tmp_path)
    store = CatalogStore.of(home)
    service = IllService(store, config_of(home), Clock())
    service.create_account("1001", "pw-1001", "H", balance=4)
    guard = LoginGuard(LoginPolicy(max_failures=3, window=60, lockout=60))
    yield IllPages("test catalog", lambda: service, guard), isns
    store.close()


def post(pages, isn, address="10.0.0.1", **fields):
    body = urlencode(fields).encode()
    return pages.respond("POST", ["order", str(isn)], b"", body, "application/x-www-form-urlencoded", address)


def test_form_order_and_status(pages):
    pages, isns = pages
    form = pages.respond("GET", ["order", str(isns["BOOK"])], b"")
    assert form.status == 200 and b'name="isbd"' in form.body and "Müller, Anna: Die Fernleihe".encode() in form.body
    assert b"<script" not in form.body
    balance = post(pages, isns["BOOK"], access="1001", password="pw-1001", action="balance")
    assert b"Your balance: 4 units (an order costs 2)." in balance.body
    placed = post(pages, isns["BOOK"], access="1001", password="pw-1001", action="order")
    assert b"4 units before, 2 units after" in placed.body and b"GBV000000001" in placed.body
    status = pages.respond("GET", ["status", "GBV000000001"], b"")
    assert b"RequestReceived" in status.body and b"North One" in status.body
    assert pages.respond("GET", ["status"], b"number=GBV000000009").status == 404
    assert pages.respond("POST", ["status"], b"").status == 405
    assert pages.respond("GET", ["order", "x1"], b"").status == 404


def test_wrong_passwords_lock_the_access_number_out(pages):
    pages, isns = pages
    for _ in range(3):
        wrong = post(pages, isns["BOOK"], access="1001", password="guess", action="order")
        assert wrong.status == 401 and b"Wrong access number or password." in wrong.body
    locked = post(pages, isns["BOOK"], address="10.0.0.2", access="1001", password="pw-1001", action="order")
    assert locked.status == 401 and b"locked after 3 failed logins" in locked.body


def test_control_characters_get_400_not_500(pages):
    # lxml refuses them in a page: the status page and the order form had raised (HTTP 500)
    pages, isns = pages
    assert pages.respond("GET", ["status", "\x01"], b"").status == 400
    assert pages.respond("GET", ["status"], b"number=%01").status == 400
    refused = post(pages, isns["BOOK"], access="1001\x01", password="pw-1001", action="balance")
    assert refused.status == 400 and b"control characters" in refused.body
    assert post(pages, isns["BOOK"], access="1001", password="pw-1001", action="order",
                article_title="\x01x", article_author="y").status == 400
