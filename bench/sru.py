"""SRU searchRetrieve throughput and latency: unikat against Zebra's SRU on the same records.

    .venv/bin/python bench/sru.py [--records 100000] [--clients 1,5,20] [--seconds 10]

The queries are the CQL forms of bench/z3950.py's mix (common.query_mix): `dc.title="w"`,
`dc.creator="a"`, `dc.subject="s"`, phrases `dc.title="a b"`, truncation `dc.title="abcd*"`,
`and`/`or` of two indexes. Year ranges are left out: Zebra's stock pqf.properties maps
dc.date to Bib-1 Use 30, which its marc21.abs does not index (SRU diagnostic 16), so the two
servers cannot be compared on them. Zebra serves SRU through the YAZ frontend with the stock
/usr/share/yaz/etc/pqf.properties (database Default); unikat on its own port (database unikat).

Each measured request is one SRU 1.2 searchRetrieve over HTTP GET, recordSchema marcxml, with
maximumRecords 0 (hit count only) or 10; N client processes (http.client, one keep-alive
connection each) run the mix at once. Hit counts are compared first and differences listed.
Prints a table and writes bench/out/sru.json.
"""

from __future__ import annotations

import http.client
import re
import sys
import time
from collections.abc import Callable
from urllib.parse import urlencode

from common import (
    Query,
    Server,
    lc_subset,
    load_average,
    measure_rows,
    protocol_main,
    query_mix,
    run_clients,
    summarize,
)

MAXIMUM_RECORDS = (0, 10)
_HITS = re.compile(rb"<(?:\w+:)?numberOfRecords>(\d+)<")
_POSITION = re.compile(rb"<(?:\w+:)?recordPosition>")
_DIAGNOSTIC = re.compile(rb"<(?:\w+:)?uri>info:srw/diagnostic/1/(\d+)<")


def request_path(database: str, cql: str, maximum: int) -> str:
    """The GET path of an SRU 1.2 searchRetrieve for MARCXML records."""
    return f"/{database}?" + urlencode({"version": "1.2", "operation": "searchRetrieve", "query": cql,
                                        "maximumRecords": maximum, "recordSchema": "marcxml"})


def parse(body: bytes) -> tuple[int, int]:
    """(hit count, records returned) of a searchRetrieve response; hit count -N for diagnostic N."""
    hits = _HITS.search(body)
    if hits:
        return int(hits.group(1)), len(_POSITION.findall(body))
    diagnostic = _DIAGNOSTIC.search(body)
    return -int(diagnostic.group(1)) if diagnostic else -1, 0


class SruClient:
    """One keep-alive HTTP/1.1 connection; reconnects once when the server closed it."""

    def __init__(self, port: int, database: str) -> None:
        self.port, self.database = port, database
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.reconnects = 0

    def search(self, cql: str, maximum: int) -> tuple[int, int]:
        path = request_path(self.database, cql, maximum)
        for attempt in (1, 2):
            try:
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                body = response.read()
                if response.status != 200:
                    return -response.status, 0
                return parse(body)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt == 2:
                    raise
                self.connection.close()
                self.reconnects += 1
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def _client(args: tuple) -> dict:
    port, database, queries, maximum, start_at, deadline = args
    client = SruClient(port, database)
    client.search(queries[0][1], 0)      # connect before the clock starts
    samples, records, errors, done = [], 0, 0, 0
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    while time.time() < deadline:
        kind, cql = queries[done % len(queries)]
        started = time.perf_counter()
        hits, returned = client.search(cql, maximum)
        samples.append((kind, time.perf_counter() - started))
        records += returned
        errors += hits < 0 or returned < min(maximum, hits)
        done += 1
    ended_at, cpu = time.time(), time.process_time() - cpu
    client.close()
    return {"samples": samples, "records": records, "errors": errors, "ended_at": ended_at, "cpu_seconds": cpu,
            "reconnects": client.reconnects}


def measure(server: Server, queries: list[Query], clients: int, seconds: float, maximum: int) -> dict:
    """Requests/s, records/s and latency of `clients` concurrent connections for `seconds`."""
    mix = [(q.kind, q.cql) for q in queries if q.cql]
    runs, monitor, start_at = run_clients(server, _client, mix, clients, seconds, maximum)
    return {**summarize(runs, start_at, monitor), "reconnects": sum(run["reconnects"] for run in runs)}


def compare_hits(servers: dict[str, Server], queries: list[Query]) -> list[dict]:
    """CQL queries whose hit counts differ between the servers (-N: SRU diagnostic N)."""
    clients = {name: SruClient(server.port, server.database) for name, server in servers.items()}
    differences = []
    for query in queries:
        if query.cql is None:
            continue
        counts = {name: client.search(query.cql, 0)[0] for name, client in clients.items()}
        if len(set(counts.values())) > 1:
            differences.append({"kind": query.kind, "query": query.cql, **counts})
    for client in clients.values():
        client.close()
    return differences


def run(size: int, servers: dict[str, Server], *, clients: list[int], seconds: float,
        log: Callable[[str], None] = print) -> dict:
    """The whole SRU comparison on running servers; the dict sru.json holds."""
    queries = [q for q in query_mix(lc_subset(size)) if q.cql]
    differences = compare_hits(servers, queries) if len(servers) > 1 else []
    log(f"{size:,} records: {len(queries)} CQL queries, {len(differences)} with different hit counts")
    for difference in differences[:10]:
        log(f"  {difference}")
    result = {"records": size, "queries": [q.cql for q in queries], "hit_count_differences": differences,
              "load_average_before": load_average()}
    return {**result, **measure_rows(
        servers, clients, MAXIMUM_RECORDS, "maximum_records",
        lambda server, count, maximum: measure(server, queries, count, seconds, maximum),
        lambda count, maximum: f"{count:2} clients max {maximum:2}", log)}


def main() -> int:
    return protocol_main("sru", __doc__, run)


if __name__ == "__main__":
    sys.exit(main())
