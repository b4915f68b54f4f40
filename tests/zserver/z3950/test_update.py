"""Extended Services Update (zserver.z3950.update) without sockets: yaz-client's captured
`update` task packages (MARCXML from `update insert id1`, ISO 2709 from `update replace id2`,
`update delete none`, `update update none` and `update0 insert id2`; tests/data/pdus/capture.py),
read and refused; and the handler answering updates over a copy of the sample catalog on both
engines (the index run after the store write is `index.loading.catchup`'s, counted here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from updatedata import A_RECORD, iso2709, marcxml, record, update_home

from index.search import Catalog
from index.store.catalog import CatalogStore
from zserver.z3950 import update as es_update
from zserver.z3950.codec import decode_pdu, decode_type, encode_pdu, encode_type
from zserver.z3950.diagnostics import Z3950Diagnostic
from zserver.z3950.handler import Handler, Option
from zserver.z3950.pdus import ExtendedServicesResponse, IdPass, from_asn1, to_asn1
from zserver.z3950.records import Oid
from zserver.z3950.update import ES_UPDATE_0, read_update

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"


def captured(name: str):
    return from_asn1(*decode_pdu((PDUS / f"{name}.ber").read_bytes()))


@pytest.mark.parametrize(("name", "package", "action", "record_id", "starts"), [
    ("update-03-c-extendedServicesRequest", Oid.ES_UPDATE, "insert", "id1", b"<record"),
    ("update-marc21-03-c-extendedServicesRequest", Oid.ES_UPDATE, "replace", "id2", b"00097nam"),
    ("update-marc21-05-c-extendedServicesRequest", Oid.ES_UPDATE, "delete", None, b"00097nam"),
    ("update-marc21-07-c-extendedServicesRequest", Oid.ES_UPDATE, "upsert", None, b"00097nam"),
    ("update-marc21-09-c-extendedServicesRequest", ES_UPDATE_0, "insert", "id2", b"00097nam"),
])
def test_yaz_clients_update_task_packages(name, package, action, record_id, starts):
    wanted = read_update(captured(name))
    assert (wanted.package_type, wanted.action.value, wanted.record_id) == (package, action, record_id)
    assert wanted.database == "Default" and wanted.record.startswith(starts)
    assert wanted.record_oid == Oid.XML   # yaz-client labels ISO 2709 XML too: the format is judged from the bytes


def test_zebra_style_answer_of_yaz_ztest_reads_with_our_types():
    _, response = decode_pdu((PDUS / "update-marc21-04-s-extendedServicesResponse.ber").read_bytes())
    package = decode_type("TaskPackage", response["taskPackage"]["encoding"][1])
    kind, body = decode_type("Update", package["taskSpecificParameters"]["encoding"][1])
    assert kind == "taskPackage" and body["targetPart"]["updateStatus"] == 1
    assert body["originPart"] == {"action": 2, "databaseName": "Default"}


def with_update(value, **request_changes):
    """yaz-client's captured `update replace id2` with its Update replaced by `value`."""
    external = {"direct-reference": Oid.ES_UPDATE, "encoding": ("single-ASN1-type", encode_type("Update", value))}
    return dataclasses.replace(captured("update-marc21-03-c-extendedServicesRequest"),
                               task_specific_parameters=external, **request_changes)


def es_request(action: int, data: bytes | None, *, record_id: bytes | None = None, database: str = "unikat",
               oid: str = Oid.MARC21, records: int = 1):
    item: dict = {"record": {"direct-reference": oid, "encoding": ("octet-aligned", data or b"")}}
    if record_id is not None:
        item["recordId"] = ("opaque", record_id)
    return with_update(("esRequest", {"toKeep": {"action": action, "databaseName": database},
                                      "notToKeep": [item] * records}))


@pytest.mark.parametrize(("request_", "code", "words"), [
    (dataclasses.replace(captured("update-marc21-03-c-extendedServicesRequest"), function=3), 1040, "created"),
    (es_request(4, b"x"), 1044, "elementUpdate"),
    (es_request(6, b"x"), 1044, "action 6"),
    (es_request(1, b"x", records=2), 1046, "one record per update"),
    (es_request(1, b"x", oid=Oid.SUTRS), 1057, "MARC21 or MARCXML"),
    (dataclasses.replace(captured("update-marc21-03-c-extendedServicesRequest"), task_specific_parameters={
        "direct-reference": Oid.ES_UPDATE, "encoding": ("single-ASN1-type", b"\x30\x00")}), 1057, "Update"),
])
def test_unreadable_or_unsupported_updates_are_refused(request_, code, words):
    with pytest.raises(Z3950Diagnostic) as refused:
        read_update(request_)
    assert refused.value.code == code and words in refused.value.addinfo


# -- the handler over a catalog ------------------------------------------------------------------

@pytest.fixture(scope="module")
def home(sample_home, tmp_path_factory):
    return update_home(sample_home, tmp_path_factory.mktemp("es-update") / "home")


@pytest.fixture(scope="module")
def catalog(home):
    opened = Catalog(home)
    yield opened
    opened.close()


class Runs:
    def __init__(self) -> None:
        self.count = 0

    def wanted(self) -> None:
        self.count += 1


@pytest.fixture()
def index_runs(monkeypatch) -> Runs:
    runs = Runs()
    monkeypatch.setattr(es_update, "catch_up", lambda home: runs)
    return runs


def logged_in(catalog, user: str | None) -> Handler:
    handler = Handler(catalog)
    init = captured("init-plain-01-c-initRequest")
    if user is not None:
        init = dataclasses.replace(init, id_authentication=("idPass", IdPass(user_id=user, password="secret")))
    response = handler.handle(init).pdu
    assert response.result is True and Option.EXTENDED_SERVICES in response.options   # Init announces ES
    return handler


def answer(handler: Handler, request) -> ExtendedServicesResponse:
    response = handler.handle(request)
    assert from_asn1(*decode_pdu(encode_pdu(*to_asn1(response.pdu)))) == response.pdu
    return response.pdu


def refusal(response: ExtendedServicesResponse) -> tuple[int, str]:
    assert response.operation_status == 3, response
    (kind, diagnostic), = response.diagnostics
    return diagnostic["condition"], diagnostic["addinfo"][1]


def target_reference(response: ExtendedServicesResponse) -> str:
    assert response.operation_status == 1, response
    package = decode_type("TaskPackage", response.task_package["encoding"][1])
    kind, body = decode_type("Update", package["taskSpecificParameters"]["encoding"][1])
    assert (kind, package["taskStatus"], body["targetPart"]["updateStatus"]) == ("taskPackage", 2, 1)
    return package["targetReference"].decode()


def stored(home, library: str, control: str):
    store = CatalogStore.of(home)
    try:
        return store.find_record(library, f"{library}-ILS", control)
    finally:
        store.close()


def test_owner_inserts_replaces_and_deletes_a_record(catalog, home, index_runs):
    handler = logged_in(catalog, "alib")
    first = record("UPD-1", "Zwiebelkuchen im Herbst")
    reference = target_reference(answer(handler, es_request(1, iso2709(first), record_id=b"UPD-1")))
    assert reference.startswith("A:UPD-1 isn ") and reference.endswith(" new")
    assert stored(home, "A", "UPD-1") is not None and index_runs.count == 1
    code, words = refusal(answer(handler, es_request(1, iso2709(first))))
    assert code == 224 and "already has record UPD-1" in words
    changed = record("UPD-1", "Zwiebelkuchen im Winter")
    assert target_reference(answer(handler, es_request(2, marcxml(changed), oid=Oid.XML))).endswith(" updated")
    assert b"im Winter" in stored(home, "A", "UPD-1").marc
    assert target_reference(answer(handler, es_request(3, None, record_id=b"UPD-1"))).endswith(" deleted")
    assert stored(home, "A", "UPD-1") is None and index_runs.count == 3
    code, words = refusal(answer(handler, es_request(3, None, record_id=b"UPD-1")))
    assert code == 224 and "has no record UPD-1 to delete" in words


def test_another_librarys_record_is_refused_and_unchanged(catalog, home, index_runs):
    before = stored(home, "A", A_RECORD)
    handler = logged_in(catalog, "blib")
    theirs = record(A_RECORD, "Taken over", library="B")
    for action, data in ((2, iso2709(theirs)), (3, iso2709(theirs)), (3, None)):
        code, words = refusal(answer(handler, es_request(action, data, record_id=A_RECORD.encode())))
        assert code == 223 and f"record {A_RECORD} is library A's, not B's" in words
    code, words = refusal(answer(handler, es_request(1, iso2709(theirs), database="A")))
    assert code == 222 and "database A" in words
    assert stored(home, "A", A_RECORD) == before and index_runs.count == 0


@pytest.mark.parametrize(("user", "data", "code", "words"), [
    (None, iso2709(record("X-1", "Anonymous")), 1004, "log in"),
    ("reader", iso2709(record("X-1", "No library")), 222, "maintains no library"),
    ("alib", iso2709(record("X-1", "No holdings", holdings=False)), 224, "no holdings of library A"),
    ("alib", iso2709(record("", "No control number")), 224, "no control number"),
    ("alib", b"this is not a record", 224, "neither MARC21"),
    ("alib", iso2709(record("X-2", "Wrong id")), 224, "record id 'X-1' is not the record's control number"),
])
def test_refused_updates_say_why(catalog, index_runs, user, data, code, words):
    handler = logged_in(catalog, user)
    found, said = refusal(answer(handler, es_request(1, data, record_id=b"X-1")))
    assert found == code and words in said, said
    assert index_runs.count == 0


def test_an_older_record_does_not_replace_a_newer_one(catalog, index_runs):
    handler = logged_in(catalog, "alib")
    newer = record("UPD-2", "Version two", version="20260101120000.0")
    target_reference(answer(handler, es_request(5, iso2709(newer))))   # specialUpdate: insert
    older = record("UPD-2", "Version one", version="20200101120000.0")
    code, words = refusal(answer(handler, es_request(5, iso2709(older))))   # specialUpdate: replace
    assert code == 224 and "older than the stored record" in words
