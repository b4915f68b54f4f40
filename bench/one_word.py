"""One client's one-word title searches over one connection, unikat and Zebra side by side: a word
asked again and again (what unikat's kept searches and answers give) and a new word each time.

    .venv/bin/python bench/one_word.py [--records 10000] [--searches 3000] [--rounds 2] [--workers 1]
                                       [--protocols z3950,sru] [--unikat-src DIR] [--reuse-homes]
                                       [--unikat-setting SECTION.KEY=VALUE] [--floor]

The words are the title words of the first records of the benchmark file (`common._pools`), each
searched once per round: Z39.50 `@attr 1=4 word` (a searchRequest; the client waits for the whole
searchResponse, TCP_NODELAY), SRU `dc.title=word` with maximumRecords=0 over one keep-alive HTTP
connection. The repeated word is "history". The first 200 searches of a round are not counted.
`--unikat-src DIR` serves the unikat code of another checkout (before/after figures). `--floor`
adds bench/floor.py's server, Twisted answering with unikat's bytes without decoding or searching:
the least a request to unikat can take, so what is left for unikat's own work under Zebra's time.

Reported: p50 and mean in ms per server, protocol and mode, best of the rounds, unikat/Zebra, and
the hits of all searches together (each server must answer every search with a result set). More
than 1,000 distinct words (unikat's `[index] kept_searches`, `[sru] hit_count_answers`) are never
answered from what unikat keeps. Written to bench/out/one_word.json.
"""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import common
import floor
import load

from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import rpn_to_asn1
from zserver.z3950.codec import decode_pdu, encode_pdu, find_pdu_end

INIT = (common.REPO / "tests" / "data" / "pdus" / "init-plain-01-c-initRequest.ber").read_bytes()
SKIPPED = 200


def _search(word: str, database: str) -> bytes:
    return encode_pdu("searchRequest", {
        "smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0, "replaceIndicator": True,
        "resultSetName": "default", "databaseNames": [database],
        "query": ("type-1", rpn_to_asn1(parse_pqf(f"@attr 1=4 {word}")))})


def _answer(connection: socket.socket) -> bytes:
    """One whole PDU from the server."""
    data = b""
    while find_pdu_end(data) is None:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def z3950_latencies(server: common.Server, words: list[str]) -> tuple[list[float], int]:
    """The time of each search but the first SKIPPED, and the hits of all (failed searches:
    SystemExit, so a server answering diagnostics quickly is not taken for a fast one)."""
    requests = [_search(word, server.database) for word in words]
    port = server.port
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(INIT)
        _answer(connection)
        times, answers = [], []
        for request in requests:
            started = time.perf_counter()
            connection.sendall(request)
            answers.append(_answer(connection))
            times.append(time.perf_counter() - started)
    hits = 0
    for answer in answers:
        name, value = decode_pdu(answer)
        if name != "searchResponse" or not value["searchStatus"]:
            raise SystemExit(f"port {port}: a search failed: {name} {value}")
        hits += value["resultCount"]
    return times[SKIPPED:], hits


_COUNT = re.compile(rb"<(?:\w+:)?numberOfRecords>(\d+)<")
_DIAGNOSTIC = re.compile(rb"<(?:\w+:)?diagnostic>")


def sru_latencies(server: common.Server, words: list[str]) -> tuple[list[float], int]:
    """As `z3950_latencies`, for SRU searchRetrieve with maximumRecords=0."""
    targets = [f"/{server.database}?version=1.2&operation=searchRetrieve&maximumRecords=0&query="
               + urllib.parse.quote(f"dc.title={word}") for word in words]
    connection = http.client.HTTPConnection("127.0.0.1", server.port)
    times, hits = [], 0
    try:
        for target in targets:
            started = time.perf_counter()
            connection.request("GET", target)
            body = connection.getresponse().read()
            times.append(time.perf_counter() - started)
            if (found := _COUNT.search(body)) is None or _DIAGNOSTIC.search(body):
                raise SystemExit(f"{server.name}: {target} failed: {body[:300]!r}")
            hits += int(found.group(1))
    finally:
        connection.close()
    return times[SKIPPED:], hits


PROTOCOLS = {"z3950": z3950_latencies, "sru": sru_latencies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--searches", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="unikat serve --workers")
    parser.add_argument("--protocols", default="z3950,sru")
    parser.add_argument("--unikat-src", type=Path, help="serve unikat from this checkout (before/after figures)")
    parser.add_argument("--reuse-homes", action="store_true", help="reuse unikat homes built by other code")
    parser.add_argument("--unikat-setting", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--floor", action="store_true",
                        help="measure bench/floor.py's server too: Twisted answering without working")
    args = parser.parse_args()
    log = common.Log("one_word")
    load.run([args.records], reuse_homes=args.reuse_homes, log=log)
    pool = common._pools(common.lc_subset(args.records))
    words = list(dict.fromkeys(word for title in pool.titles for word in title if len(word) > 2))
    if len(words) < args.searches:
        raise SystemExit(f"only {len(words)} distinct title words for {args.searches} searches")
    modes = {"repeated": ["history"] * args.searches, "distinct": words[:args.searches]}
    result: dict[str, dict] = {}
    with common.serving(args.records, args.workers, args.unikat_src and args.unikat_src.resolve(),
                        args.unikat_setting) as servers:
        if args.floor:   # its answers are unikat's for "history", whatever the word
            servers["floor"] = floor.start(servers["unikat"], "@attr 1=4 history", "dc.title=history", args.workers)
        for protocol in args.protocols.split(","):
            for mode, chosen in modes.items():
                figures = result.setdefault(f"{protocol} {mode}", {})
                for server in servers.values():
                    rounds = [PROTOCOLS[protocol](server, chosen) for _ in range(args.rounds)]
                    best = min((times for times, _hits in rounds), key=statistics.median)
                    figures[server.name] = {"p50_ms": statistics.median(best) * 1e3,
                                            "mean_ms": statistics.mean(best) * 1e3, "hits": rounds[0][1]}
                line = ", ".join(f"{name} p50 {row['p50_ms']:.3f} ms (mean {row['mean_ms']:.3f}, {row['hits']:,} hits)"
                                 for name, row in figures.items())
                for name in ("unikat", "floor") if "zebra" in figures else ():
                    if name in figures:
                        line += f"; {name}/zebra p50 {figures[name]['p50_ms'] / figures['zebra']['p50_ms']:.2f}x"
                log(f"{args.records:,} records, {protocol}, {mode} words: {line}")
    common.write_json(common.OUT / "one_word.json", {"records": args.records, "workers": args.workers,
                                                    "settings": args.unikat_setting,
                                                    "unikat_src": str(args.unikat_src or ""), **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
