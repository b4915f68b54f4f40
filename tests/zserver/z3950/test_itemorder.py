"""Reading an ItemOrder task package (zserver.z3950.itemorder) without sockets: yaz-client's
captured `itemorder ill 1`, and ILL requests with item-id data built here in BER."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from zserver.z3950.codec import decode_pdu, encode_type
from zserver.z3950.diagnostics import Z3950Diagnostic
from zserver.z3950.itemorder import ILL_APDU_OID, _read_ill, read_item_order
from zserver.z3950.pdus import from_asn1
from zserver.z3950.records import Oid

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"


def captured():
    return from_asn1(*decode_pdu((PDUS / "itemorder-05-c-extendedServicesRequest.ber").read_bytes()))


def tlv(tag: int, content: bytes, *, constructed: bool = True, tag_class: int = 2) -> bytes:
    first = (tag_class << 6) | (0x20 if constructed else 0)
    head = bytes([first | tag]) if tag < 31 else bytes([first | 0x1F, tag])
    return head + bytes([len(content)]) + content


def ill_string(tag: int, text: str) -> bytes:
    return tlv(tag, tlv(27, text.encode(), constructed=False, tag_class=0))   # [n] EXPLICIT GeneralString


def with_ill_request(ill: bytes):
    order = ("esRequest", {"toKeep": {}, "notToKeep": {
        "itemRequest": {"direct-reference": ILL_APDU_OID, "encoding": ("single-ASN1-type", ill)}}})
    external = {"direct-reference": Oid.ES_ITEM_ORDER, "encoding": ("single-ASN1-type", encode_type("ItemOrder", order))}
    return dataclasses.replace(captured(), task_specific_parameters=external)


def test_yaz_clients_itemorder_ill():
    wanted = read_item_order(captured())
    assert (wanted.result_set, wanted.item, wanted.form) == ("1", 1, "ill")
    assert not wanted.article and wanted.title_text == ""


def test_item_id_fields_make_an_article_or_a_free_order():
    item_id = (ill_string(15, "On loans") + ill_string(14, "Smith, A.") + ill_string(16, "3-9")
               + ill_string(10, "12") + ill_string(13, "1999") + ill_string(4, "Journal of ILL"))
    ill = tlv(1, tlv(0, b"\x02", constructed=False) + tlv(16, item_id) + ill_string(46, "urgent"), tag_class=1)
    wanted = read_item_order(with_ill_request(ill))
    assert wanted.form == "ill" and wanted.result_set is None and wanted.note == "urgent"
    assert (wanted.article.title, wanted.article.author, wanted.article.pages) == ("On loans", "Smith, A.", "3-9")
    assert (wanted.article.volume, wanted.article.year, wanted.title_text) == ("12", "1999", "Journal of ILL")


@pytest.mark.parametrize(("change", "code"), [
    ({"function": 2}, 1040),
    ({"task_specific_parameters": None}, 1008),
    ({"task_specific_parameters": {"direct-reference": "1.2.3", "encoding": ("single-ASN1-type", b"\x30\x00")}}, 1057),
])
def test_requests_we_cannot_read_get_es_diagnostics(change, code):
    with pytest.raises(Z3950Diagnostic) as error:
        read_item_order(dataclasses.replace(captured(), **change))
    assert error.value.code == code


def test_broken_ill_request_and_unknown_oid():
    with pytest.raises(Z3950Diagnostic) as error:
        read_item_order(with_ill_request(b"\x61\x04\xb0\x02\x84\x05"))   # item-id member runs past its end
    assert error.value.code == 1057 and error.value.addinfo   # the BER fails to decode, and says where
    order = ("esRequest", {"notToKeep": {"itemRequest": {"direct-reference": "1.2.840.99",
                                                         "encoding": ("octet-aligned", b"x")}}})
    external = {"direct-reference": Oid.ES_ITEM_ORDER, "encoding": ("single-ASN1-type", encode_type("ItemOrder", order))}
    with pytest.raises(Z3950Diagnostic) as error:
        read_item_order(dataclasses.replace(captured(), task_specific_parameters=external))
    assert error.value.code == 1009



@pytest.mark.parametrize(("ill", "why"), [
    (b"\x61\x0f\xbf" + b"\x81" * 12 + b"\x01\x00", "tag number longer than 4 bytes"),   # grew without end
    (b"\x61\x0c\xb0\x8a" + b"\x00" * 9 + b"\x01", "length of 10 bytes"),
    (b"\x61\x04\xb0\x02\x84\x05", "runs past its end"),
])
def test_the_ill_walker_keeps_the_codecs_limits(ill, why):
    """The codec checks an ItemOrder's BER, ANY content included, before the walker reads it
    (so these come back as 1057 'malformed BER'); the walker keeps the same limits itself, as
    it would otherwise take quadratic time over a long tag number (160 KB: 2 s)."""
    with pytest.raises(ValueError, match=why):
        _read_ill(ill)
