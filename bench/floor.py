"""What Twisted alone costs a request on this machine: a server that answers without working,
measured beside unikat and Zebra in the same run.

    .venv/bin/python bench/floor.py [--records 10000] [--clients 1,5,20] [--seconds 8]

The floor server runs what unikat's network side runs – Twisted's epoll reactor, `--workers`
processes adopting one listening socket, unikat's codec to find where a Z39.50 PDU ends, httptools
to parse HTTP, answers written at once with TCP_NODELAY as `zserver.net.sending` writes them – and
answers every request with bytes captured beforehand from unikat itself (its
Init and Search responses, and a whole SRU `maximumRecords=0` response with its head). Nothing is
decoded, searched, built or logged. What a request costs there is the least unikat could cost on
Twisted; the rest is unikat's own work. Measured: a one-word Z39.50 search (bench/z3950.py's mix,
mode `search`) with one client, and SRU `maximumRecords=0` (bench/sru.py's mix) with each client
count. Builds the homes when missing (bench/load.py), prints a table, writes bench/out/floor.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httptools
import sru
import z3950
from common import (
    OUT,
    Log,
    Server,
    describe,
    free_port,
    lc_subset,
    query_mix,
    ratio,
    serving,
    wait_for_port,
    write_json,
)
from zclient import ZClient

from zserver.z3950.codec import find_pdu_end

_ANSWERS = {b"\xb4": "init", b"\xb6": "search"}   # first byte (BER tag) of initRequest [20], searchRequest [22]


def capture(server: Server, pqf: str, cql: str) -> dict[str, bytes]:
    """unikat's answers as it sends them: Init and Search responses, and a hit-count SRU response."""
    client = ZClient("127.0.0.1", server.port, server.database)
    answers = {"init": client.last_answer}
    client.search(pqf)
    answers["search"] = client.last_answer
    client.close()
    path = sru.request_path(server.database, cql, 0).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n" % path)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < _http_length(answer):
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("unikat closed before answering")
            answer += data
    answers["sru"] = answer
    return answers


def _http_length(answer: bytes) -> int:
    head, _, _ = answer.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    return len(head) + 4 + length


# -- the floor server (a subprocess: `floor.py --serve PORT --answers DIR`) ----------------------

def serve(port: int, answers: dict[str, bytes], workers: int) -> None:
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    listener.setblocking(False)
    children = []
    for _ in range(workers - 1):   # forked before a reactor exists: each process makes its own epoll
        child = os.fork()
        if child == 0:
            children = []
            break
        children.append(child)

    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import reactor
    from twisted.internet.protocol import Factory, Protocol

    from zserver.net.app import sniff
    from zserver.net.sending import send

    class Floor(Protocol):
        """Answers as unikat sends (TCP_NODELAY, written at once), with bytes known in advance."""

        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)
            self.buffer = b""
            self.parser: httptools.HttpRequestParser | None = None

        def dataReceived(self, data: bytes) -> None:
            if self.parser is None and not self.buffer and sniff(data) == "http":   # as unikat tells them apart
                self.parser = httptools.HttpRequestParser(self)
            if self.parser is not None:
                self.parser.feed_data(data)
                return
            self.buffer += data
            while (end := find_pdu_end(self.buffer)) is not None:
                answer, self.buffer = _ANSWERS.get(self.buffer[:1]), self.buffer[end:]
                if answer is None:   # a Close, or anything else: done
                    self.transport.loseConnection()
                    return
                send(self.transport, answers[answer])

        def on_message_complete(self) -> None:   # httptools
            send(self.transport, answers["sru"])

    reactor.adoptStreamPort(listener.fileno(), socket.AF_INET, Factory.forProtocol(Floor))
    reactor.run()   # until SIGTERM
    for child in children:
        os.kill(child, signal.SIGTERM)


def start(unikat: Server, pqf: str, cql: str, workers: int) -> Server:
    """The floor server, answering with what `unikat` answers to `pqf` and `cql` (stopped with the
    servers of `common.serving`, which ends every process it lists)."""
    folder = OUT / "floor-answers"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in capture(unikat, pqf, cql).items():
        (folder / name).write_bytes(data)
    port = free_port()
    server = Server("floor", port, unikat.database, subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--answers", str(folder), "--workers", str(workers)]))
    wait_for_port(port, process=server.process)
    return server


def run(size: int, workers: int, clients: list[int], seconds: float, log: Log) -> dict:
    queries = query_mix(lc_subset(size))
    words = [q for q in queries if q.kind == "title"]
    with serving(size, workers) as servers:
        servers["floor"] = start(servers["unikat"], words[0].pqf, words[0].cql, workers)
        rows = [_row("Z39.50 search", 1, servers, lambda server: z3950.measure(server, words, 1, seconds, "search"), log)]
        rows += [_row("SRU maximumRecords=0", count, servers,
                      lambda server, count=count: sru.measure(server, queries, count, seconds, 0), log)
                 for count in clients]
    return {"records": size, "workers": workers, "seconds": seconds, "rows": rows}


def _row(request: str, clients: int, servers: dict[str, Server], measure, log: Log) -> dict:
    row = {"request": request, "clients": clients, **{name: measure(server) for name, server in servers.items()}}
    log(describe(f"{request}, {clients} clients", row, servers))
    return row


def table(rows: list[dict]) -> str:
    """req/s and server CPU ms per request of each server, and unikat's and the floor's against Zebra's."""
    lines = ["| request | clients | unikat | floor | Zebra | unikat/Zebra | floor/Zebra |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        cells = {name: f"{row[name]['requests_per_second']:,.0f} req/s, {row[name]['server_cpu_ms_per_request']:.2f} ms"
                 for name in ("unikat", "floor", "zebra")}
        speed = {name: row[name]["requests_per_second"] for name in ("unikat", "floor", "zebra")}
        lines.append(f"| {row['request']} | {row['clients']} | {cells['unikat']} | {cells['floor']} | {cells['zebra']} |"
                     f" {ratio(speed['unikat'], speed['zebra'])} | {ratio(speed['floor'], speed['zebra'])} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--clients", default="1,5,20")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--workers", type=int, default=2, help="unikat serve --workers, and the floor's")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--answers", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, {path.name: path.read_bytes() for path in args.answers.iterdir()}, args.workers)
        return 0
    import load  # load imports common

    log = Log("floor")
    load.run([args.records], reuse_homes=True, log=log)
    result = run(args.records, args.workers, [int(c) for c in args.clients.split(",")], args.seconds, log)
    write_json(OUT / "floor.json", result)
    print(table(result["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
