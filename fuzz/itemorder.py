"""Fuzz target: the ItemOrder task package reader (zserver.z3950.itemorder) – its small BER
walker over ISO 10161 ILL requests, the XML item request and the ItemOrder around them.

The first byte picks what the rest is: an ILL-Request (the BER walker), an XML itemRequest, or
the ItemOrder's own BER (asn1tools). Reading must give an ItemOrderRequest or a
Z3950Diagnostic; anything else raised is a crash. A slow input (libFuzzer's -timeout) is one
too: the walker once took quadratic time over a long multi-byte tag.
"""

from __future__ import annotations

import dataclasses

import atheris
from harness import TEST_DATA, pick, run

with atheris.instrument_imports():
    from zserver.z3950.codec import decode_pdu, encode_type
    from zserver.z3950.diagnostics import Z3950Diagnostic
    from zserver.z3950.itemorder import ILL_APDU_OID, read_item_order
    from zserver.z3950.pdus import from_asn1
    from zserver.z3950.records import Oid

CAPTURED = from_asn1(*decode_pdu((TEST_DATA / "pdus" / "itemorder-05-c-extendedServicesRequest.ber").read_bytes()))


def _request(item_request: dict | None, body: bytes | None = None):
    if body is None:
        order = ("esRequest", {"toKeep": {}, "notToKeep": {"itemRequest": item_request}})
        body = encode_type("ItemOrder", order)
    external = {"direct-reference": Oid.ES_ITEM_ORDER, "encoding": ("single-ASN1-type", body)}
    return dataclasses.replace(CAPTURED, task_specific_parameters=external)


def test_one_input(data: bytes) -> None:
    choice, rest = pick(data, 3)
    if choice == 0:
        request = _request({"direct-reference": ILL_APDU_OID, "encoding": ("single-ASN1-type", rest)})
    elif choice == 1:
        request = _request({"direct-reference": Oid.XML, "encoding": ("octet-aligned", rest)})
    else:
        request = _request(None, rest)
    try:
        read_item_order(request)
    except Z3950Diagnostic:
        pass


def _seeds() -> list[bytes]:
    task = CAPTURED.task_specific_parameters["encoding"][1]
    ill = (b"\x61\x20\x80\x01\x02\xb0\x12\xaf\x08\x1b\x06Titles\xae\x06\x1b\x04Smit"
           b"\xae\x05\x1b\x03abc\xae\x00\xa0\x00")
    xml = b'<request><bibliographicInfo><title>A</title><pagesRequested>3-9</pagesRequested></bibliographicInfo></request>'
    return [b"\x00" + ill, b"\x01" + xml, b"\x02" + bytes(task)]


if __name__ == "__main__":
    run(test_one_input, _seeds())
