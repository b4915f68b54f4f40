"""Fuzz target: reading ISO 18626 messages (zserver.iso18626): XML parsing without entities or
network, the schema check, and what each message's handler reads before the ILL service.

The input is the POSTed body. Every answer must be an HTTP status with a well-formed XML
confirmation; the ILL service is a stand-in that stops the message where the real one would
look up accounts and orders (reaching it is an answer too). Anything else raised is a crash.
"""

from __future__ import annotations

import atheris
from harness import run
from lxml import etree

with atheris.instrument_imports():
    from zserver.iso18626 import Iso18626Core

NS = "http://illtransactions.org/2013/iso18626"


class ReachedTheService(Exception):
    """The message was read and checked: the ILL service would take it from here."""


def _service():
    raise ReachedTheService


CORE = Iso18626Core(_service)


def test_one_input(data: bytes) -> None:
    try:
        answer = CORE.respond(data, staff_user="librarian", address="127.0.0.1")
    except ReachedTheService:
        return
    assert answer.status in (200, 400, 401), answer.status
    etree.fromstring(answer.body)


def _message(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><ISO18626Message xmlns="{NS}" xmlns:ill="{NS}"'
            f' ill:version="1.2">{body}</ISO18626Message>').encode()


def _header(request_id: str, supplier: str = "UNIKAT") -> str:
    def agency(name: str, value: str) -> str:
        return f"<{name}><agencyIdType>ISIL</agencyIdType><agencyIdValue>{value}</agencyIdValue></{name}>"
    return (f"<header>{agency('supplyingAgencyId', supplier)}{agency('requestingAgencyId', 'A')}"
            "<multipleItemRequestId></multipleItemRequestId><timestamp>2026-12-02T08:00:00Z</timestamp>"
            f"<requestingAgencyRequestId>{request_id}</requestingAgencyRequestId><requestingAgencyAuthentication>"
            "<accountId>4711</accountId><securityCode>geheim</securityCode></requestingAgencyAuthentication></header>")


SEEDS = [
    _message(f"<request>{_header('r1')}<bibliographicInfo><supplierUniqueRecordId>12</supplierUniqueRecordId>"
             "<title>T</title></bibliographicInfo><serviceInfo><serviceType>Loan</serviceType></serviceInfo></request>"),
    _message(f"<supplyingAgencyMessage>{_header('GBV-1', 'S1')}<messageInfo><reasonForMessage>StatusChange"
             "</reasonForMessage></messageInfo><statusInfo><status>Loaned</status>"
             "<lastChange>2026-12-02T09:00:00Z</lastChange></statusInfo></supplyingAgencyMessage>"),
    _message(f"<requestingAgencyMessage>{_header('r1')}<action>StatusRequest</action></requestingAgencyMessage>"),
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
]

if __name__ == "__main__":
    run(test_one_input, SEEDS)
