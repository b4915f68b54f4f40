"""Z39.50 codec: µs per decode and encode, asn1tools (reference) against fastber (fast).

    .venv/bin/python bench/codec.py [--seconds 0.5]

The PDUs of a session: a yaz-client initRequest, a one-word searchRequest and a
presentRequest (captured, tests/data/pdus/), a searchResponse without records and a
presentResponse of 10 MARC21 records from sample_data/lib-a.mrc (built as handler.py
builds them).  The server decodes the requests and encodes the responses; the other
direction is timed too, where the fast path declines at once and asn1tools does the work.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from pathlib import Path

from zserver.z3950.codec import decode_pdu, decode_pdu_reference, encode_pdu, encode_pdu_reference
from zserver.z3950.records import marc21_record, name_plus_record

ROOT = Path(__file__).resolve().parents[1]
PDUS = ROOT / "tests" / "data" / "pdus"


def _marc_records(count: int) -> list[bytes]:
    data = (ROOT / "sample_data" / "lib-a.mrc").read_bytes()
    records, offset = [], 0
    while len(records) < count:
        length = int(data[offset:offset + 5])
        records.append(data[offset:offset + length])
        offset += length
    return records


def cases() -> list[tuple[str, str, dict]]:
    """(label, PDU name, value) for each PDU measured."""
    found = []
    for label, stem in (("initRequest (yaz-client)", "init-plain-01-c-initRequest"),
                        ("initRequest (charset)", "init-idpass-charset-01-c-initRequest"),
                        ("searchRequest (one word)", "present-usmarc-03-c-searchRequest"),
                        ("presentRequest", "present-usmarc-05-c-presentRequest")):
        name, value = decode_pdu_reference((PDUS / f"{stem}.ber").read_bytes())
        found.append((label, name, value))
    found.append(("searchResponse (no records)", "searchResponse", {
        "resultCount": 1234, "numberOfRecordsReturned": 0, "nextResultSetPosition": 1, "searchStatus": True}))
    records = [name_plus_record(marc21_record(marc), "unikat") for marc in _marc_records(10)]
    found.append(("presentResponse (10 MARC21)", "presentResponse", {
        "numberOfRecordsReturned": 10, "nextResultSetPosition": 11, "presentStatus": 0,
        "records": ("responseRecords", records)}))
    return found


def per_call(first: Callable[[], object], second: Callable[[], object], seconds: float) -> tuple[float, float]:
    """µs per call of each function: the best of nine alternating runs, so that both see the
    same load (the machine is shared)."""
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < 0.02:
        first()
        calls += 1
    rounds = max(1, int(calls * seconds / 9 / 0.02))
    best = [float("inf"), float("inf")]
    for _ in range(9):
        for index, function in enumerate((first, second)):
            started = time.perf_counter()
            for _ in range(rounds):
                function()
            best[index] = min(best[index], (time.perf_counter() - started) / rounds)
    return best[0] * 1e6, best[1] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    seconds = parser.parse_args().seconds
    print(f"{'PDU':30} {'bytes':>6}  {'op':6} {'asn1tools µs':>12} {'fast µs':>8} {'ratio':>6}")
    for label, name, value in cases():
        data = encode_pdu_reference(name, value)
        assert encode_pdu(name, value) == data and decode_pdu(data) == decode_pdu_reference(data)
        server_side = "decode" if name.endswith("Request") else "encode"
        timed = (("decode", functools.partial(decode_pdu_reference, data), functools.partial(decode_pdu, data)),
                 ("encode", functools.partial(encode_pdu_reference, name, value),
                  functools.partial(encode_pdu, name, value)))
        for op, reference, fast in timed:
            slow_us, fast_us = per_call(reference, fast, seconds)
            mark = "*" if op == server_side else " "
            print(f"{label:30} {len(data):6}  {op:6} {slow_us:12.1f} {fast_us:8.1f} {slow_us / fast_us:5.1f}x{mark}")
    print("* the direction the server runs")


if __name__ == "__main__":
    main()
