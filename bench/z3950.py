"""Z39.50 throughput and latency: unikat against zebrasrv on the same records and queries.

    .venv/bin/python bench/z3950.py [--records 100000] [--clients 1,5,20] [--seconds 10]

Needs the homes bench/load.py builds for the same record count (it builds or reuses them).
Both servers get the same query mix, drawn from the records themselves (common.query_mix:
title words, author names, subject words, phrases, right truncation, AND, OR, a title word
in a year range) and a scan mix (ten terms from a title, author or subject word). Before
timing, every query's hit count is compared between the two servers and differences listed,
and our client's counts are checked against YAZ's zoomsh on the first 40 queries.

Each measured request is one search (search only), one search plus a present of up to ten
records in MARC21 (usmarc) or MARCXML (xml), or one scan; N client processes run the mix at
once for the given seconds, each on its own connection (bench/zclient.py, our codec). The
servers' memory (PSS of the process tree) is sampled while they serve. Prints a table and
writes bench/out/z3950.json with p50/p95/p99 overall and per query kind.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

from common import (
    Query,
    Server,
    lc_subset,
    load_average,
    measure_rows,
    protocol_main,
    query_mix,
    run_clients,
    scan_mix,
    summarize,
)
from zclient import ZClient

MODES = ("search", "usmarc", "xml", "scan")
"""What one measured request does: search only, search + present 10 in a syntax, scan."""


def _client(args: tuple) -> dict:
    port, database, queries, mode, start_at, deadline = args
    client = ZClient("127.0.0.1", port, database)
    samples, records, errors, done = [], 0, 0, 0
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    while time.time() < deadline:
        kind, pqf = queries[done % len(queries)]
        started = time.perf_counter()
        if mode == "scan":
            errors += client.scan(pqf, 10) == 0
        else:
            hits = client.search(pqf)
            errors += hits < 0
            if mode != "search" and hits > 0:
                returned = client.present(1, min(10, hits), mode)
                records += returned
                errors += returned < min(10, hits)
        samples.append((kind, time.perf_counter() - started))
        done += 1
    ended_at, cpu = time.time(), time.process_time() - cpu
    client.close()
    return {"samples": samples, "records": records, "errors": errors, "ended_at": ended_at, "cpu_seconds": cpu}


def measure(server: Server, queries: list[Query], clients: int, seconds: float, mode: str) -> dict:
    """Requests/s, records/s and latency of `clients` concurrent connections running `queries`
    (each client its own share of the mix) for `seconds`; the server's peak PSS meanwhile."""
    mix = [(q.kind, q.pqf) for q in queries]
    runs, monitor, start_at = run_clients(server, _client, mix, clients, seconds, mode)
    return summarize(runs, start_at, monitor)


def compare_hits(servers: dict[str, Server], queries: list[Query]) -> list[dict]:
    """Queries whose hit counts differ between the servers (-1: a diagnostic)."""
    clients = {name: ZClient("127.0.0.1", server.port, server.database) for name, server in servers.items()}
    differences = []
    for query in queries:
        counts = {name: client.search(query.pqf) for name, client in clients.items()}
        if len(set(counts.values())) > 1:
            differences.append({"kind": query.kind, "query": query.pqf, **counts})
    for client in clients.values():
        client.close()
    return differences


def zoomsh_counts(server: Server, queries: list[Query]) -> list[int]:
    """Hit counts of the queries by YAZ's zoomsh (-1: an error), to check our own client."""
    target = f"tcp:127.0.0.1:{server.port}/{server.database}"
    commands = [f"connect {target}"] + [f"search {q.pqf}" for q in queries] + ["quit"]
    output = subprocess.run(["zoomsh", *commands], capture_output=True, text=True, timeout=120).stdout
    answers = re.findall(rf"^{re.escape(target)}: (?:(\d+) hits|error)", output, re.M)
    return [int(count) if count else -1 for count in answers]


def check_client(servers: dict[str, Server], queries: list[Query]) -> dict:
    """Our client's hit counts against zoomsh's on the same queries, per server."""
    if not shutil.which("zoomsh"):
        return {"queries": 0, "mismatches": ["zoomsh not installed"]}
    mismatches = []
    for name, server in servers.items():
        client = ZClient("127.0.0.1", server.port, server.database)
        ours = [client.search(q.pqf) for q in queries]
        client.close()
        theirs = zoomsh_counts(server, queries)
        mismatches += [{"server": name, "query": q.pqf, "zclient": a, "zoomsh": b}
                       for q, a, b in zip(queries, ours, theirs + [None] * len(queries), strict=False) if a != b]
    return {"queries": len(queries), "servers": list(servers), "mismatches": mismatches}


def run(size: int, servers: dict[str, Server], *, clients: list[int], seconds: float,
        log: Callable[[str], None] = print) -> dict:
    """The whole Z39.50 comparison on running servers; the dict z3950.json holds."""
    records = lc_subset(size)
    queries, scans = query_mix(records), scan_mix(records)
    differences = compare_hits(servers, queries) if len(servers) > 1 else []
    checked = check_client(servers, queries[:40])
    log(f"{size:,} records: our client against zoomsh on {checked['queries']} queries:"
        f" {len(checked['mismatches'])} mismatches")
    log(f"{size:,} records: {len(queries)} queries, {len(differences)} with different hit counts")
    for difference in differences[:10]:
        log(f"  {difference}")
    result = {"records": size, "queries": [q.pqf for q in queries], "scans": [q.pqf for q in scans],
              "hit_count_differences": differences, "zoomsh_check": checked, "load_average_before": load_average()}
    return {**result, **measure_rows(
        servers, clients, MODES, "mode",
        lambda server, count, mode: measure(server, scans if mode == "scan" else queries, count, seconds, mode),
        lambda count, mode: f"{count:2} clients {mode:>6}", log)}


def main() -> int:
    return protocol_main("z3950", __doc__, run)


if __name__ == "__main__":
    sys.exit(main())
