"""Interlibrary loan against careless and hostile clients, over a running `unikat serve` (both
engines): ISO 18626 messages with title numbers int() cannot read, replayed requests, a
library's staff answering for another library, and a web order form sent twice. Each gets an
answer saying why, and no second order or second debit; the server logs no traceback."""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from illdata import ill_sample_home
from test_ill_iso18626 import NS, STAFF, post, request, status_of, supplying, text
from test_ill_iso18626 import schema as schema  # noqa: F401  (the fixture)
from test_yaz_client import start_serving, stop_serving

from index.home import Home

pytestmark = pytest.mark.integration

CLERK = "Basic " + base64.b64encode(b"clerk:secret").decode()   # staff of library B


@pytest.fixture(scope="module")
def served(sample_home, tmp_path_factory):
    home, picks = ill_sample_home(sample_home, tmp_path_factory.mktemp("ill-hostile") / "home")
    config = home.root / "unikat.toml"
    hashed = re.search(r'(?m)^password_hash = ".*"$', config.read_text(encoding="utf-8")).group(0)   # librarian's
    config.write_text(config.read_text(encoding="utf-8") + f'\n[users.clerk]\n{hashed}\nlibrary = "B"\n',
                      encoding="utf-8")
    server = start_serving(Home(home.root), workers=1)
    yield f"http://{server.host}:{server.port}", picks
    stop_serving(server)   # fails the tests on any traceback in the log


def balance(base: str, isn: int) -> int:
    body = urllib.parse.urlencode({"access": "5555", "password": "copy-pw", "action": "balance"}).encode()
    with urllib.request.urlopen(f"{base}/order/{isn}", body, timeout=30) as answer:
        return int(re.search(rb"Your balance: (\d+) units", answer.read()).group(1))


@pytest.mark.parametrize("record", ["\u00b2", "9" * 5000, "99999999999999999999999"])
def test_a_title_number_that_is_none_is_an_error_value(served, schema, record) -> None:
    base, _ = served
    body = request("H-NUM", None).replace(b"<bibliographicInfo>", b"<bibliographicInfo><supplierUniqueRecordId>"
                                          + record.encode() + b"</supplierUniqueRecordId>")
    code, answer = post(f"{base}/iso18626", body, schema)
    assert code == 200 and text(answer, "messageStatus") == "ERROR"
    assert "is not a title number" in text(answer, "errorValue")


def test_a_replayed_request_places_no_second_order(served, schema) -> None:
    base, picks = served
    code, first = post(f"{base}/iso18626", request("H-REPLAY", picks.lendable, account="5555", password="copy-pw"),
                       schema)
    assert text(first, "messageStatus") == "OK"
    before = balance(base, picks.lendable)
    code, again = post(f"{base}/iso18626", request("H-REPLAY", picks.lendable, account="5555", password="copy-pw"),
                       schema)
    assert text(again, "messageStatus") == "ERROR" and "placed already" in text(again, "errorValue")
    assert balance(base, picks.lendable) == before
    # another account may use the same id of its own, and does not hide the first account's order
    code, other = post(f"{base}/iso18626", request("H-REPLAY", picks.lendable), schema)
    assert text(other, "messageStatus") == "OK"
    mine = status_of(f"{base}/iso18626", schema, "H-REPLAY", "5555", "copy-pw")
    theirs = status_of(f"{base}/iso18626", schema, "H-REPLAY")
    assert text(mine, "supplyingAgencyRequestId") != text(theirs, "supplyingAgencyRequestId")


def test_a_librarys_staff_answer_only_for_their_library(served, schema) -> None:
    base, picks = served
    url = f"{base}/iso18626"
    post(url, request("H-SUPPLIER", picks.lendable, account="5555", password="copy-pw"), schema)
    status = status_of(url, schema, "H-SUPPLIER", "5555", "copy-pw")
    number = text(status, "supplyingAgencyRequestId")
    supplier = text(status.find(f".//{{{NS}}}supplyingAgencyId"), "agencyIdValue")
    assert supplier not in ("B", "")
    code, answer = post(url, supplying(number, supplier, "Loaned"), schema, authorization=CLERK)
    assert code == 403 and text(answer, "messageStatus") == "ERROR"
    assert text(answer, "errorValue") == f"user clerk answers for library B, not {supplier}"
    assert text(status_of(url, schema, "H-SUPPLIER", "5555", "copy-pw"), "status") == "RequestReceived"
    code, answer = post(url, supplying(number, supplier, "Loaned"), schema, authorization=STAFF)   # no library: any
    assert text(answer, "messageStatus") == "OK"


def test_the_web_form_sent_twice_places_one_order(served) -> None:
    base, picks = served
    with urllib.request.urlopen(f"{base}/order/{picks.lendable}", timeout=30) as answer:
        submission = re.search(rb'name="submission" value="([^"]+)"', answer.read()).group(1).decode()
    before = balance(base, picks.lendable)
    fields = {"access": "5555", "password": "copy-pw", "action": "order", "submission": submission}
    pages = []
    for _ in range(2):
        try:
            with urllib.request.urlopen(f"{base}/order/{picks.lendable}", urllib.parse.urlencode(fields).encode(),
                                        timeout=30) as answer:
                pages.append(answer.read().decode())
        except urllib.error.HTTPError as error:
            pages.append(error.read().decode())
    number = re.search(r'order-number">([^<]+)<', pages[0]).group(1)
    assert f"This order was placed already as {number}" in pages[1]
    assert balance(base, picks.lendable) == before - 2


def test_a_wrong_password_asking_the_balance_is_401(served) -> None:
    base, picks = served
    body = urllib.parse.urlencode({"access": "0815", "password": "not-it", "action": "balance"}).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/order/{picks.lendable}", body, timeout=30)
    assert refused.value.code == 401 and b"Wrong access number or password." in refused.value.read()
