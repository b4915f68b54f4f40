"""Fuzz target: Z39.50 BER framing and decoding, the fast path against asn1tools.

Any framing or decoding result must be a value or a CodecError; where asn1tools decodes a PDU,
the fast path must give the same value or decline; a decoded request must become a typed PDU.
"""

from __future__ import annotations

import atheris
from harness import TEST_DATA, run

with atheris.instrument_imports():
    from zserver.z3950 import codec, fastber
    from zserver.z3950.pdus import PDU_CLASSES, from_asn1

MAX_PDU = 1 << 20


def test_one_input(data: bytes) -> None:
    try:
        end = codec.find_pdu_end(data, MAX_PDU)
    except codec.CodecError:
        return
    if end is None:
        return
    pdu = data[:end]
    try:
        reference = codec.decode_pdu_reference(pdu)
    except codec.CodecError:
        reference = None
    try:
        fast = fastber.decode_pdu(pdu, "utf-8")
    except codec.CodecError:
        if reference is not None:
            raise
        fast = None
    if fast is not None and fast != reference:
        raise AssertionError(f"fast path {fast!r} != asn1tools {reference!r}")
    if reference is not None and reference[0] in PDU_CLASSES:
        from_asn1(*reference, wire_size=len(pdu))


if __name__ == "__main__":
    run(test_one_input, sorted((TEST_DATA / "pdus").glob("*.ber")))
