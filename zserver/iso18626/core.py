"""ISO 18626:2017 messages (schema version 1.2) in and out: the union catalog as the ILL broker.

This module owns reading an ISO18626Message POSTed to `/iso18626`, checking it against the
standard's schema (ISO-18626-v1_2.xsd beside this file, read with lxml), doing what it
asks through `index.ill.IllService` and writing the answer, itself checked against the schema
in the tests. Bytes in, (HTTP status, bytes) out; no Twisted (zserver.net.http routes to it).

The three messages and what they mean here:

- **request** (from a requesting library's system): a new order. The patron's account is
  `header/requestingAgencyAuthentication` (accountId = access number, securityCode =
  password); the title is `bibliographicInfo/supplierUniqueRecordId` (our ISN), or, without
  one, a free order described by title, author and publicationInfo; `titleOfComponent`,
  `authorOfComponent`, `pagesRequested`, `volume`, `issue` (and publicationDate as the year)
  make it a copy. `requestingAgencyRequestId` is kept with the order; the same account sending
  the same id again (a replay) places no second order (errorValue names the first). Answered with a
  requestConfirmation: messageStatus OK, or ERROR with errorData saying why.
- **supplyingAgencyMessage** (from a supplier library's system, answering an order unikat
  routed to it): `requestingAgencyRequestId` is unikat's order number (unikat requested it
  from the supplier), `supplyingAgencyId/agencyIdValue` the supplier's library code.
  statusInfo/status: ExpectToSupply and WillSupply (will supply), Loaned and CopyCompleted
  (shipped), Unfilled (with messageInfo/reasonUnfilled and note: passed to the next holder),
  LoanCompleted (the loan is back). It needs a staff login (HTTP Basic over `[users]`); a user
  with a `library` answers for that library only (HTTP 403 otherwise), one without for any.
  Answered with a supplyingAgencyMessageConfirmation.
- **requestingAgencyMessage** (from the requesting side): `requestingAgencyRequestId` is
  the requester's own id or unikat's order number, authenticated like a request; actions
  Received, ShippedReturn, Cancel; StatusRequest. unikat: a StatusRequest is answered at once,
  in the HTTP response, with a supplyingAgencyMessage (reasonForMessage StatusRequestResponse,
  the order number as supplyingAgencyRequestId), not with a confirmation and a later message:
  unikat keeps no callback addresses of requesting systems. Renew, ShippedForward and
  Notification get errorData UnsupportedActionType.

A message that is not well-formed or not valid against the schema gets HTTP 400 with a
confirmation of errorType BadlyFormedMessage naming the problem (for a request, a
requestConfirmation, since the kind of message may not be known). Every refusal of the ILL
service is messageStatus ERROR, errorType UnrecognisedDataValue, its reason as errorValue.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from index.ill import Article, IllRefused, IllService, Kind, Order, OrderRequest, Refusal, Status, iso_time
from zserver.ill_login import ill_account
from zserver.logins import LoginGuard

__all__ = ["ISO18626_PATH", "NAMESPACE", "Iso18626Answer", "Iso18626Core", "schema"]

ISO18626_PATH = "iso18626"
NAMESPACE = "http://illtransactions.org/2013/iso18626"
VERSION = "1.2"
SCHEMA_FILE = Path(__file__).with_name("ISO-18626-v1_2.xsd")
CONTENT_TYPE = "application/xml; charset=utf-8"
_N = f"{{{NAMESPACE}}}"
_SUPPLIED = {"Loaned", "CopyCompleted"}
_WILL_SUPPLY = {"ExpectToSupply", "WillSupply"}
_ACTIONS = {"Received": Status.RECEIVED, "ShippedReturn": Status.SHIPPED_RETURN, "Cancel": Status.CANCELLED}


@functools.cache
def schema() -> etree.XMLSchema:
    """The ISO 18626 v1.2 schema (read once per process)."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


@dataclass(frozen=True)
class Iso18626Answer:
    status: int
    body: bytes
    content_type: str = CONTENT_TYPE
    allow: str = ""   # with a 405: the methods allowed


class _Bad(Exception):
    """The message is not one we can read; `error_type` from type_errorType."""

    def __init__(self, error_type: str, value: str) -> None:
        super().__init__(value)
        self.error_type = error_type
        self.value = value


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(_path(path))
    return (found.text or "").strip() if found is not None else ""


def _path(path: str) -> str:
    return "/".join(_N + part for part in path.split("/"))


def _agency(parent: etree._Element, name: str, value: str) -> None:
    agency = etree.SubElement(parent, _N + name)
    etree.SubElement(agency, _N + "agencyIdType").text = "unikat"
    etree.SubElement(agency, _N + "agencyIdValue").text = value or "-"


class Iso18626Core:
    """Answers ISO 18626 messages over one catalog store (`service` opens the ILL service)."""

    def __init__(self, service: Callable[[], IllService], *, agency: str = "UNIKAT",
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 guard: LoginGuard | None = None, user_libraries: Mapping[str, str] | None = None) -> None:
        self.guard = guard or LoginGuard()   # the worker's: failed logins lock out (zserver.ill_login)
        self.user_libraries = user_libraries or {}   # [users.NAME] library: whose orders a staff user answers
        self._open_service = service
        self._opened: IllService | None = None
        self.agency = agency
        self.clock = clock

    def service(self) -> IllService:
        """The ILL service, opened at the first message (the ILL tables are made then)."""
        if self._opened is None:
            self._opened = self._open_service()
        return self._opened

    def http(self, method: str, body: bytes, *, body_too_large: bool = False, staff_user: str | None = None,
             address: str | None = None) -> Iso18626Answer:
        """The answer to one HTTP request to /iso18626: only POST, a body within the limit."""
        if method != "POST":
            return Iso18626Answer(405, b"ISO 18626 messages are POSTed to /iso18626\n", "text/plain; charset=utf-8",
                                  allow="POST")
        if body_too_large:
            return Iso18626Answer(413, b"the message is too large\n", "text/plain; charset=utf-8")
        return self.respond(body, staff_user=staff_user, address=address)

    def respond(self, body: bytes, *, staff_user: str | None = None, address: str | None = None) -> Iso18626Answer:
        """The answer to one POSTed message; `staff_user` is the HTTP Basic user, if any;
        `address` the client's (for the login lockout)."""
        received = iso_time(self.clock())
        try:
            root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as error:
            return self._confirmation("requestConfirmation", None, received, "BadlyFormedMessage",
                                      f"not well-formed XML: {error}", status=400)
        message = root[0] if len(root) and root.tag == _N + "ISO18626Message" else None
        kind = etree.QName(message).localname if message is not None else "request"
        confirmation = {"request": "requestConfirmation",
                        "supplyingAgencyMessage": "supplyingAgencyMessageConfirmation",
                        "requestingAgencyMessage": "requestingAgencyMessageConfirmation"}.get(kind)
        checker = schema()
        valid = checker.validate(root)
        if not valid or confirmation is None:
            error = None if valid else next(iter(checker.error_log), None)
            reason = error.message if error is not None else f"{kind} is not a message a client sends"
            # libxml2 writes elements of a default namespace as "*": a path of those says nothing
            where = f" at {error.path}" if error is not None and error.path.strip("/*") else ""
            return self._confirmation(confirmation or "requestConfirmation", message, received,
                                      "BadlyFormedMessage", f"not valid ISO 18626 v1.2: {reason}{where}", status=400)
        handler = {"request": self._request, "supplyingAgencyMessage": self._supplying,
                   "requestingAgencyMessage": self._requesting}[kind]
        try:
            return handler(message, received, staff_user, address)
        except _Bad as bad:
            return self._confirmation(confirmation, message, received, bad.error_type, bad.value)
        except IllRefused as refused:
            status = 401 if refused.reason is Refusal.BAD_CREDENTIALS else 200
            return self._confirmation(confirmation, message, received, "UnrecognisedDataValue", refused.message,
                                      status=status)

    # -- the messages ------------------------------------------------------------------------
    def _request(self, message: etree._Element, received: str, staff_user: str | None,
                 address: str | None) -> Iso18626Answer:
        header = message.find(_N + "header")
        access = _text(header, "requestingAgencyAuthentication/accountId")
        password = _text(header, "requestingAgencyAuthentication/securityCode")
        if not access:
            raise _Bad("UnrecognisedDataValue", "header/requestingAgencyAuthentication/accountId (the access"
                       " number) and securityCode (its password) are required")
        info = message.find(_N + "bibliographicInfo")
        record_id = _text(info, "supplierUniqueRecordId")
        if record_id and not (record_id.isascii() and record_id.isdigit() and len(record_id) <= 12):
            raise _Bad("UnrecognisedDataValue", f"supplierUniqueRecordId {record_id[:40]!r} is not a title number (ISN)")
        year = _text(message, "publicationInfo/publicationDate")
        article = Article(_text(info, "titleOfComponent"), _text(info, "authorOfComponent"),
                          _text(info, "pagesRequested"), year if _text(info, "titleOfComponent") else "",
                          _text(info, "volume"), _text(info, "issue"))
        title = ". ".join(p for p in (_text(info, "author"), _text(info, "title"), year) if p)
        external = _text(header, "requestingAgencyRequestId")
        account = ill_account(self.service(), self.guard, access, password, address)
        self.service().place_order(OrderRequest(access, password, int(record_id) if record_id else None, article,
                                                 free=True, title_text=title, via="iso18626", external_id=external,
                                                 note=_text(message, "serviceInfo/note")), account=account)
        return self._confirmation("requestConfirmation", message, received)

    def _supplying(self, message: etree._Element, received: str, staff_user: str | None,
                   address: str | None) -> Iso18626Answer:
        if staff_user is None:
            return self._confirmation("supplyingAgencyMessageConfirmation", message, received,
                                      "UnrecognisedDataValue", "a supplier's message needs a staff login"
                                      " (HTTP Basic)", status=401)
        header = message.find(_N + "header")
        number = _text(header, "requestingAgencyRequestId")
        library = _text(header, "supplyingAgencyId/agencyIdValue")
        own = self.user_libraries.get(staff_user)
        if own is not None and own != library:   # a library's staff answer for their own library only
            return self._confirmation("supplyingAgencyMessageConfirmation", message, received, "UnrecognisedDataValue",
                                      f"user {staff_user} answers for library {own}, not {library}", status=403)
        status = _text(message, "statusInfo/status")
        note = _text(message, "messageInfo/note")
        service = self.service()
        if status in _WILL_SUPPLY:
            service.answer(number, library, supplied=False, expect=True, reason=note)
        elif status in _SUPPLIED:
            service.answer(number, library, supplied=True, reason=note)
        elif status == "Unfilled":
            reason = "; ".join(p for p in (_text(message, "messageInfo/reasonUnfilled"), note) if p)
            service.answer(number, library, supplied=False, reason=reason or "unfilled (no reason given)")
        elif status == "LoanCompleted":
            order = service.order(number)
            if order.supplier != library:
                raise IllRefused(Refusal.NOT_SUPPLIER, f"Order {order.number} was not supplied by {library}.")
            service.requester_action(number, Status.LOAN_COMPLETED, note)
        else:
            raise _Bad("UnrecognisedDataValue", f"status {status} is not taken by unikat (ExpectToSupply, WillSupply,"
                       " Loaned, CopyCompleted, Unfilled, LoanCompleted)")
        return self._confirmation("supplyingAgencyMessageConfirmation", message, received,
                                  reason=_text(message, "messageInfo/reasonForMessage"))

    def _requesting(self, message: etree._Element, received: str, staff_user: str | None,
                    address: str | None) -> Iso18626Answer:
        header = message.find(_N + "header")
        action = _text(message, "action")
        order = self._own_order(header, address)
        if action == "StatusRequest":
            return self._status_message(message, order)
        if action not in _ACTIONS:
            raise _Bad("UnsupportedActionType", f"{action} is not supported (Received, ShippedReturn, Cancel,"
                       " StatusRequest)")
        self.service().requester_action(order.number, _ACTIONS[action], _text(message, "note"))
        return self._confirmation("requestingAgencyMessageConfirmation", message, received, action=action)

    def _own_order(self, header: etree._Element, address: str | None) -> Order:
        """The order a requesting message is about, its account's password checked."""
        service = self.service()
        access = _text(header, "requestingAgencyAuthentication/accountId")
        account = ill_account(service, self.guard, access,
                              _text(header, "requestingAgencyAuthentication/securityCode"), address)
        wanted = _text(header, "requestingAgencyRequestId")
        order = service.order_by_external(wanted, account.access_number) if wanted else None
        if order is None or order.access_number != account.access_number:
            try:
                order = service.order(wanted)
            except IllRefused:
                order = None
        if order is None or order.access_number != account.access_number:
            raise IllRefused(Refusal.UNKNOWN_ORDER, f"account {account.access_number} has no order {wanted}")
        return order

    # -- writing -------------------------------------------------------------------------------
    def _message(self) -> etree._Element:
        return etree.Element(_N + "ISO18626Message", {_N + "version": VERSION}, nsmap={None: NAMESPACE})

    def _confirmation(self, kind: str, message: etree._Element | None, received: str, error_type: str = "",
                      error: str = "", *, status: int = 200, action: str = "", reason: str = "") -> Iso18626Answer:
        root = self._message()
        confirmation = etree.SubElement(root, _N + kind)
        header = etree.SubElement(confirmation, _N + "confirmationHeader")
        theirs = message.find(_N + "header") if message is not None else None
        supplier = _text(theirs, "supplyingAgencyId/agencyIdValue") or self.agency
        requester = _text(theirs, "requestingAgencyId/agencyIdValue")
        _agency(header, "supplyingAgencyId", supplier)
        if requester:
            _agency(header, "requestingAgencyId", requester)
        etree.SubElement(header, _N + "timestamp").text = iso_time(self.clock())
        request_id = _text(theirs, "requestingAgencyRequestId")
        if request_id:
            etree.SubElement(header, _N + "requestingAgencyRequestId").text = request_id
        etree.SubElement(header, _N + "timestampReceived").text = received
        etree.SubElement(header, _N + "messageStatus").text = "ERROR" if error_type else "OK"
        if reason and kind == "supplyingAgencyMessageConfirmation":
            etree.SubElement(confirmation, _N + "reasonForMessage").text = reason
        if action and kind == "requestingAgencyMessageConfirmation":
            etree.SubElement(confirmation, _N + "action").text = action
        if error_type:
            data = etree.SubElement(confirmation, _N + "errorData")
            etree.SubElement(data, _N + "errorType").text = error_type
            etree.SubElement(data, _N + "errorValue").text = error
        return Iso18626Answer(status if error_type else 200, etree.tostring(root, encoding="utf-8",
                                                                             xml_declaration=True))

    def _status_message(self, message: etree._Element, order: Order) -> Iso18626Answer:
        theirs = message.find(_N + "header")
        root = self._message()
        supplying = etree.SubElement(root, _N + "supplyingAgencyMessage")
        header = etree.SubElement(supplying, _N + "header")
        _agency(header, "supplyingAgencyId", order.supplier or self.agency)
        _agency(header, "requestingAgencyId", _text(theirs, "requestingAgencyId/agencyIdValue") or order.home_library)
        etree.SubElement(header, _N + "multipleItemRequestId").text = ""
        etree.SubElement(header, _N + "timestamp").text = iso_time(self.clock())
        etree.SubElement(header, _N + "requestingAgencyRequestId").text = order.external_id or order.number
        etree.SubElement(header, _N + "supplyingAgencyRequestId").text = order.number
        info = etree.SubElement(supplying, _N + "messageInfo")
        etree.SubElement(info, _N + "reasonForMessage").text = "StatusRequestResponse"
        etree.SubElement(info, _N + "note").text = _note(order)
        if order.status is Status.RETURNED:
            etree.SubElement(info, _N + "reasonUnfilled").text = "; ".join(order.reasons) or "no holder left"
        status_info = etree.SubElement(supplying, _N + "statusInfo")
        etree.SubElement(status_info, _N + "status").text = _iso_status(order)
        if order.deadline:
            etree.SubElement(status_info, _N + "expectedDeliveryDate").text = order.deadline
        etree.SubElement(status_info, _N + "lastChange").text = order.history[-1].time if order.history else order.created
        if order.shipped:
            delivery = etree.SubElement(supplying, _N + "deliveryInfo")
            etree.SubElement(delivery, _N + "dateSent").text = order.shipped
        return Iso18626Answer(200, etree.tostring(root, encoding="utf-8", xml_declaration=True))


def _iso_status(order: Order) -> str:
    """type_status for an order: unikat's own states in the standard's words."""
    if order.status is Status.CENTRAL_DESK:
        return "RequestReceived"
    if order.status is Status.RETURNED:
        return "Unfilled"
    if order.status in (Status.RECEIVED, Status.SHIPPED_RETURN):
        return "CopyCompleted" if order.kind is Kind.COPY else "Loaned"
    return order.status.value


def _note(order: Order) -> str:
    where = f"at {order.supplier}" if order.supplier else "at no library"
    left = "; left the network" if order.left_network else ""
    return f"order {order.number}: {order.status.value} {where}{left}"
