"""ISO 18626 over HTTP: a small client POSTs Request, SupplyingAgencyMessage and
RequestingAgencyMessage documents to /iso18626 of a running `unikat serve` (both engines);
every message sent and every answer is valid against ISO-18626-v1_2.xsd."""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from illdata import ill_sample_home
from lxml import etree
from test_yaz_client import start_serving, stop_serving

pytestmark = pytest.mark.integration

XSD = Path("/work/shared/data/schemas/ISO-18626-v1_2.xsd")
NS = "http://illtransactions.org/2013/iso18626"
STAFF = "Basic " + base64.b64encode(b"librarian:secret").decode()


@pytest.fixture(scope="module")
def schema():
    path = XSD if XSD.exists() else Path(__file__).resolve().parents[2] / "zserver/iso18626/ISO-18626-v1_2.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="module")
def network(sample_home, tmp_path_factory):
    home, picks = ill_sample_home(sample_home, tmp_path_factory.mktemp("ill-iso") / "home")
    server = start_serving(home, workers=1)
    yield f"http://{server.host}:{server.port}/iso18626", picks
    stop_serving(server)


def agency(name: str, value: str) -> str:
    return f"<{name}><agencyIdType>ISIL</agencyIdType><agencyIdValue>{value}</agencyIdValue></{name}>"


def header(request_id: str, *, supplier: str = "UNIKAT", requester: str = "A", account: str = "",
           password: str = "") -> str:
    auth = (f"<requestingAgencyAuthentication><accountId>{account}</accountId>"
            f"<securityCode>{password}</securityCode></requestingAgencyAuthentication>") if account else ""
    return (f"<header>{agency('supplyingAgencyId', supplier)}{agency('requestingAgencyId', requester)}"
            f"<multipleItemRequestId></multipleItemRequestId><timestamp>2026-12-02T08:00:00Z</timestamp>"
            f"<requestingAgencyRequestId>{request_id}</requestingAgencyRequestId>{auth}</header>")


def message(body: str) -> bytes:
    # attributeFormDefault="qualified": the version attribute is in the namespace too
    return (f'<?xml version="1.0" encoding="UTF-8"?><ISO18626Message xmlns="{NS}" xmlns:ill="{NS}"'
            f' ill:version="1.2">{body}</ISO18626Message>').encode()


def request(request_id: str, isn: int | None, *, password: str = "geheim", title: str = "",
            account: str = "4711") -> bytes:
    record = f"<supplierUniqueRecordId>{isn}</supplierUniqueRecordId>" if isn is not None else ""
    return message(f"<request>{header(request_id, account=account, password=password)}"
                   f"<bibliographicInfo>{record}{f'<title>{title}</title>' if title else ''}</bibliographicInfo>"
                   f"<serviceInfo><serviceType>Loan</serviceType></serviceInfo></request>")


def supplying(order_number: str, library: str, status: str, *, reason: str = "", note: str = "") -> bytes:
    unfilled = f"<reasonUnfilled>{reason}</reasonUnfilled>" if reason else ""
    return message(f"<supplyingAgencyMessage>{header(order_number, supplier=library, requester='UNIKAT')}"
                   f"<messageInfo><reasonForMessage>StatusChange</reasonForMessage>"
                   f"{f'<note>{note}</note>' if note else ''}{unfilled}</messageInfo>"
                   f"<statusInfo><status>{status}</status><lastChange>2026-12-02T09:00:00Z</lastChange></statusInfo>"
                   f"</supplyingAgencyMessage>")


def requesting(request_id: str, action: str, account: str = "4711", password: str = "geheim") -> bytes:
    return message(f"<requestingAgencyMessage>{header(request_id, account=account, password=password)}"
                   f"<action>{action}</action></requestingAgencyMessage>")


def post(url: str, body: bytes, schema, *, authorization: str = "") -> tuple[int, etree._Element]:
    if b"<bogus" not in body and b"<notxml" not in body:   # the two broken ones on purpose
        schema.assertValid(etree.fromstring(body))
    headers = {"Content-Type": "application/xml"}
    if authorization:
        headers["Authorization"] = authorization
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as answer:
            status, data = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, data = error.code, error.read()
    answer = etree.fromstring(data)
    schema.assertValid(answer)
    return status, answer


def text(root: etree._Element, name: str) -> str:
    found = root.find(f".//{{{NS}}}{name}")
    return found.text if found is not None and found.text else ""


def status_of(url, schema, request_id, account: str = "4711", password: str = "geheim") -> etree._Element:
    code, answer = post(url, requesting(request_id, "StatusRequest", account, password), schema)
    assert code == 200 and text(answer, "reasonForMessage") == "StatusRequestResponse"
    return answer


def test_request_answers_and_status_over_iso18626(network, schema):
    url, picks = network
    code, answer = post(url, request("A-REQ-1", picks.lendable), schema)
    assert code == 200 and text(answer, "messageStatus") == "OK", etree.tostring(answer)
    assert text(answer, "requestingAgencyRequestId") == "A-REQ-1"
    status = status_of(url, schema, "A-REQ-1")
    number, supplier = text(status, "supplyingAgencyRequestId"), text(status.find(f".//{{{NS}}}supplyingAgencyId"),
                                                                      "agencyIdValue")
    assert re.fullmatch(r"UNI\d{9}", number) and text(status, "status") == "RequestReceived" and supplier != "A"
    # the supplier's own system answers: without a staff login it is refused
    code, answer = post(url, supplying(number, supplier, "Loaned"), schema)
    assert code == 401 and text(answer, "messageStatus") == "ERROR" and "staff login" in text(answer, "errorValue")
    code, answer = post(url, supplying(number, "NOT-IT", "Loaned"), schema, authorization=STAFF)
    assert text(answer, "messageStatus") == "ERROR" and f"is not at NOT-IT but at {supplier}" in text(answer, "errorValue")
    code, answer = post(url, supplying(number, supplier, "ExpectToSupply"), schema, authorization=STAFF)
    assert text(answer, "messageStatus") == "OK" and text(answer, "reasonForMessage") == "StatusChange"
    assert text(status_of(url, schema, "A-REQ-1"), "status") == "ExpectToSupply"
    code, answer = post(url, supplying(number, supplier, "Loaned", note="parcel 4711"), schema, authorization=STAFF)
    assert text(answer, "messageStatus") == "OK"
    shipped = status_of(url, schema, "A-REQ-1")
    assert text(shipped, "status") == "Loaned" and text(shipped, "dateSent")
    code, answer = post(url, requesting("A-REQ-1", "Received"), schema)
    assert text(answer, "messageStatus") == "OK" and text(answer, "action") == "Received"


def test_unfilled_passes_on_and_refusals_say_why(network, schema):
    url, picks = network
    code, answer = post(url, request("A-REQ-2", picks.lendable), schema)
    assert text(answer, "messageStatus") == "OK"
    first = status_of(url, schema, "A-REQ-2")
    number = text(first, "supplyingAgencyRequestId")
    supplier = text(first.find(f".//{{{NS}}}supplyingAgencyId"), "agencyIdValue")
    post(url, supplying(number, supplier, "Unfilled", reason="NotOnShelf", note="missing"), schema,
         authorization=STAFF)
    after = status_of(url, schema, "A-REQ-2")
    assert text(after, "status") in ("RequestReceived", "Unfilled")
    assert f"{supplier}: unfilled (NotOnShelf; missing)" in (text(after, "reasonUnfilled") + text(after, "note")) \
        or text(after.find(f".//{{{NS}}}supplyingAgencyId"), "agencyIdValue") != supplier
    code, answer = post(url, request("A-REQ-3", picks.lendable, password="falsch"), schema)
    assert code == 401 and text(answer, "errorValue") == "Wrong access number or password."
    code, answer = post(url, request("A-REQ-4", picks.unlendable), schema)
    assert text(answer, "errorType") == "UnrecognisedDataValue" and "reference only" in text(answer, "errorValue")
    code, answer = post(url, request("A-REQ-5", None, title="Meier: Seltenes Heft"), schema)
    assert "balance is 0 units" in text(answer, "errorValue")        # two orders took 4711's 4 units
    code, answer = post(url, request("A-REQ-5", None, title="Meier: Seltenes Heft", account="5555",
                                     password="copy-pw"), schema)
    assert text(answer, "messageStatus") == "OK"
    assert text(status_of(url, schema, "A-REQ-5", "5555", "copy-pw"), "note").endswith("CentralDesk at ZFL")
    code, answer = post(url, requesting("A-REQ-5", "Renew", "5555", "copy-pw"), schema)
    assert text(answer, "errorType") == "UnsupportedActionType"
    code, answer = post(url, message("<request><bogus/></request>"), schema)
    assert code == 400 and text(answer, "errorType") == "BadlyFormedMessage" and "not valid" in text(answer, "errorValue")
    code, answer = post(url, b"<notxml", schema)
    assert code == 400 and "not well-formed" in text(answer, "errorValue")
