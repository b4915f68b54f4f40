"""Per-request cost of the server's common path, in process (no sockets): where a request's time goes.

    .venv/bin/python bench/request_cost.py [--home bench/out/unikat-load-10000-postings] [--runs 5000]

Z39.50: a one-word searchRequest (`@attr 1=4 history`) through the pieces a worker runs for it –
BER decode and typed PDU, the handler (query mapping, database, search, response), typed PDU and
BER encode, the log line – and through Session + Handler + codec together. SRU: a searchRetrieve
with maximumRecords=0 through `HttpCore.respond` (parameters, CQL, search, response XML). Each
row twice: every request searching, then given again from the kept searches and answers
(index.kept). Each
figure is the best of five runs in microseconds, so other work on the machine shows less.
Run it from another checkout with PYTHONPATH=DIR for before/after figures.
"""

from __future__ import annotations

import argparse
import os
import timeit
from collections.abc import Callable
from pathlib import Path

from index.home import Home
from index.kept import KeptAnswers
from index.search import Catalog
from zserver.net.http import HttpCore
from zserver.net.log import stderr_log
from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import rpn_to_asn1
from zserver.z3950.codec import decode_pdu, encode_pdu
from zserver.z3950.handler import Handler
from zserver.z3950.pdus import from_asn1, to_asn1
from zserver.z3950.session import Session

ROOT = Path(__file__).resolve().parents[1]
INIT = (ROOT / "tests" / "data" / "pdus" / "init-plain-01-c-initRequest.ber").read_bytes()
SRU = b"/unikat?version=1.2&operation=searchRetrieve&query=dc.title%3D%22history%22&maximumRecords=0"


def best_us(run: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(run, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "bench" / "out" / "unikat-load-10000-postings")
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()
    catalog = Catalog(Home(args.home))
    search = encode_pdu("searchRequest", {
        "smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
        "replaceIndicator": True, "resultSetName": "default", "databaseNames": [catalog.config.database],
        "query": ("type-1", rpn_to_asn1(parse_pqf("@attr 1=4 history")))})
    handler = Handler(catalog)
    handler.handle(from_asn1(*decode_pdu(INIT)))
    request = from_asn1(*decode_pdu(search))
    response = handler.handle(request).pdu
    session = Session()
    session.receive_data(INIT)
    session.send(handler.handle(session.next_event()).pdu)

    def whole() -> bytes:
        session.receive_data(search)
        return session.send(handler.handle(session.next_event()).pdu)

    core = HttpCore(catalog)
    rows = [
        ("Z39.50 BER decode + typed PDU", lambda: from_asn1(*decode_pdu(search))),
        ("Z39.50 handler (search, response)", lambda: handler.handle(request)),
        ("Z39.50 typed PDU + BER encode", lambda: encode_pdu(*to_asn1(response))),
        ("Z39.50 session + handler + codec", whole),
        ("SRU maximumRecords=0 (HttpCore)", lambda: core.respond("GET", SRU, host="127.0.0.1", port=2100)),
    ]
    kept = catalog.kept_searches, core.hit_counts
    figures = {}
    for caches in ((KeptAnswers(0), KeptAnswers(0)), kept):   # every request searches; then given again
        catalog.kept_searches, core.hit_counts = caches
        for label, run in rows:
            figures.setdefault(label, []).append(best_us(run, args.runs))
    print(f"{'':36s} {'searched':>8s} {'kept':>8s}")
    for label, (searched, given_again) in figures.items():
        print(f"{label:36s} {searched:8.1f} {given_again:8.1f} us")
    saved = os.dup(2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    try:
        log = best_us(lambda: stderr_log("127.0.0.1:5555 search db=unikat set=default hits=417 0.1ms"), args.runs)
    finally:
        os.dup2(saved, 2)
    print(f"{'log line':36s} {log:8.1f} us")


if __name__ == "__main__":
    main()
