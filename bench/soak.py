"""Soak: many connections mixing Z39.50, SRU and hostile input for minutes, while loads run.

    .venv/bin/python bench/soak.py [--minutes 10] [--connections 200] [--records 10000]
    make soak                                        # the same, SOAK_MINUTES=10

Builds a fresh home in bench/out/soak-home from the first N LC records (library LC), starts
`unikat serve --workers 2` on it, and runs `--connections` client threads at once:
- Z39.50 (45%): init, searches of the bench query mix, presents of 1-10 MARC21 records, scans,
  and now and then a close and a new association (bench/zclient.py, our codec);
- SRU (45%): keep-alive HTTP/1.1, searchRetrieve with 0 or 10 MARCXML records, scan, explain,
  the web page;
- hostile (10%): garbage bytes, a PDU that announces a huge length and stalls, a PDU cut short
  and dropped, a slowloris HTTP header, a bad request line, deep indefinite-length nesting.
Meanwhile a delivery of library B (the next 500 LC records; every third one an earlier slice
again, so titles are replaced) is loaded every `--load-every` seconds, so the index changes
under the searches.

Every `--window` seconds it records the server tree's PSS and RSS, its open file descriptors,
and per client kind the requests, failures and p50/p95 latency. The report (bench/out/soak.md
and soak.json) has the table and a verdict: memory, descriptors and the good clients' p95 stay
flat (the last third of the windows against the first third after the first window), every
load succeeded and no good request failed. Refusals (the server's connection limits) are
counted apart from failures. Exit status 1 when the verdict is not flat.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from common import OUT, REPO, Log, free_port, lc_subset, query_mix, tree_memory_mb, wait_for_port
from common import process_tree as tree
from zclient import ZClient

UNIKAT = [str(REPO / ".venv" / "bin" / "python"), "-m", "zserver"]
SLICE = 500
HOSTILE = ("garbage", "stalled-length", "cut-short", "slowloris", "bad-request-line", "deep-nesting")


@dataclass
class Window:
    """What the clients saw in one window: latencies (s) and failures per kind."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)


class Tally:
    """Thread-safe collection of the current window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = Window()

    def ok(self, kind: str, seconds: float) -> None:
        with self._lock:
            self._window.latencies.setdefault(kind, []).append(seconds)

    def failed(self, kind: str, refused: bool = False) -> None:
        with self._lock:
            counts = self._window.refusals if refused else self._window.failures
            counts[kind] = counts.get(kind, 0) + 1

    def take(self) -> Window:
        with self._lock:
            window, self._window = self._window, Window()
        return window


def _refused(error: Exception) -> bool:
    """A connection the server turned away (its limits), not a failure of a request."""
    return isinstance(error, ConnectionRefusedError | ConnectionResetError | BrokenPipeError) or \
        "init refused" in str(error) or "closed the connection" in str(error)


def z3950_client(port: int, queries: list, tally: Tally, stop: threading.Event, rng: random.Random) -> None:
    while not stop.is_set():
        try:
            client = ZClient("127.0.0.1", port, "unikat", timeout=60)
        except Exception as error:   # noqa: BLE001 - every failure is counted, the soak goes on
            tally.failed("z3950", refused=_refused(error))
            time.sleep(1)
            continue
        try:
            for _ in range(rng.randint(10, 80)):
                if stop.is_set():
                    break
                query = rng.choice(queries)
                started = time.perf_counter()
                hits = client.search(query.pqf)
                if hits < 0:
                    raise RuntimeError(f"diagnostic for {query.pqf}")
                if hits and rng.random() < 0.3:
                    client.present(1, min(hits, rng.randint(1, 10)))
                elif rng.random() < 0.1:
                    client.scan("@attr 1=4 " + query.pqf.split()[-1].strip('"'))
                tally.ok("z3950", time.perf_counter() - started)
            client.close()
        except Exception as error:   # noqa: BLE001
            tally.failed("z3950", refused=_refused(error))
            client.sock.close()


def sru_client(port: int, queries: list, tally: Tally, stop: threading.Event, rng: random.Random) -> None:
    cql = [query.cql for query in queries if query.cql]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not stop.is_set():
        choice = rng.random()
        if choice < 0.8:
            records = 0 if rng.random() < 0.5 else 10
            path = (f"/unikat?version=1.2&operation=searchRetrieve&query={quote(rng.choice(cql))}"
                    f"&maximumRecords={records}&recordSchema=marcxml")
        elif choice < 0.9:
            path = "/unikat?version=1.2&operation=scan&scanClause=dc.title%3Dhistory&maximumTerms=10"
        elif choice < 0.95:
            path = "/unikat"
        else:
            path = "/?q=" + quote(rng.choice(cql).split('"')[1])
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status} for {path}")
            tally.ok("sru", time.perf_counter() - started)
        except Exception as error:   # noqa: BLE001
            tally.failed("sru", refused=_refused(error) or "HTTP 503" in str(error))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            time.sleep(0.2)


def _hostile_bytes(kind: str, rng: random.Random) -> tuple[bytes, float]:
    """What a hostile client sends, and how long it then stays silent."""
    if kind == "garbage":
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 4000))), 0.0
    if kind == "stalled-length":
        return b"\xb4\x84\x7f\xff\xff\xff" + b"\x00" * 10, rng.uniform(5, 20)
    if kind == "cut-short":
        return b"\xb4\x80\x83\x01\x00\xa3\x03\x83\x01", 0.0
    if kind == "bad-request-line":
        return b"GET /\x00\x01 HTTP/9.9 \r\n\r\n", 0.0
    if kind == "deep-nesting":
        return b"\xb6\x80" + b"\xa1\x80" * 5000, 0.0
    return b"GET /unikat HTTP/1.1\r\nHost: x\r\n", 0.0     # slowloris: the rest trickles


def hostile_client(port: int, tally: Tally, stop: threading.Event, rng: random.Random) -> None:
    while not stop.is_set():
        kind = rng.choice(HOSTILE)
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                data, silence = _hostile_bytes(kind, rng)
                sock.sendall(data)
                if kind == "slowloris":
                    for _ in range(10):
                        if stop.wait(2):
                            break
                        sock.sendall(b"X")
                elif silence:
                    stop.wait(silence)
                sock.settimeout(5)
                try:
                    while sock.recv(65536):     # read the answer or the close
                        pass
                except (TimeoutError, ConnectionResetError):
                    pass
            tally.ok("hostile", time.perf_counter() - started)
        except Exception as error:   # noqa: BLE001
            tally.failed("hostile", refused=_refused(error))
            time.sleep(0.5)


def deliveries(source: Path, first: int) -> list[bytes]:
    """Slices of SLICE ISO 2709 records of `source`, starting after record `first`."""
    data, offset, count, slices, current = source.read_bytes(), 0, 0, [], bytearray()
    while offset < len(data):
        length = int(data[offset:offset + 5])
        if count >= first:
            current += data[offset:offset + length]
            if (count - first + 1) % SLICE == 0:
                slices.append(bytes(current))
                current = bytearray()
        offset += length
        count += 1
    return slices


def loader(home: Path, slices: list[bytes], every: float, stop: threading.Event, results: list[dict],
           log: Log) -> None:
    number = 0
    while not stop.wait(every):
        index = number % len(slices) if number % 3 != 2 else max(0, number // 3 - 1) % len(slices)
        path = home / "delivery.mrc"
        path.write_bytes(slices[index])
        started = time.monotonic()
        done = subprocess.run([*UNIKAT, "--home", str(home), "load", "--library", "B", str(path)],
                              capture_output=True, text=True, cwd=REPO)
        results.append({"slice": index, "seconds": round(time.monotonic() - started, 1), "status": done.returncode})
        log(f"delivery {number} (slice {index}): exit {done.returncode} in {results[-1]['seconds']} s")
        if done.returncode != 0:
            log(done.stderr[-2000:])
        number += 1


def open_descriptors(pid: int) -> int:
    count = 0
    for one in tree(pid):
        try:
            count += len(list(Path(f"/proc/{one}/fd").iterdir()))
        except OSError:
            continue
    return count


def summary(window: Window, elapsed: float, pid: int) -> dict:
    row: dict = {"t": round(elapsed), "pss_mb": round(tree_memory_mb(pid)[1], 1), "fds": open_descriptors(pid)}
    for kind in ("z3950", "sru", "hostile"):
        latencies = sorted(window.latencies.get(kind, []))
        row[kind] = {
            "requests": len(latencies),
            "failures": window.failures.get(kind, 0),
            "refusals": window.refusals.get(kind, 0),
            "p50_ms": round(1000 * statistics.median(latencies), 2) if latencies else None,
            "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        }
    return row


def verdict(rows: list[dict], loads: list[dict]) -> dict[str, bool]:
    """Flat: the last third of the windows against the first third (the first window left out)."""
    steady = rows[1:]
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    def p95(part: list[dict]) -> float:
        return mean([row[kind]["p95_ms"] for row in part for kind in ("z3950", "sru") if row[kind]["p95_ms"]])

    return {
        "memory flat (last third within 1.25x of the first)":
            mean([r["pss_mb"] for r in last]) <= 1.25 * mean([r["pss_mb"] for r in first]),
        "descriptors flat (within 1.25x)": mean([r["fds"] for r in last]) <= 1.25 * mean([r["fds"] for r in first]) + 5,
        "p95 flat (within 2x)": p95(last) <= 2 * p95(first),
        "no good request failed": all(r[k]["failures"] == 0 for r in rows for k in ("z3950", "sru")),
        "every load succeeded": bool(loads) and all(load["status"] == 0 for load in loads),
    }


def report(rows: list[dict], loads: list[dict], checks: dict[str, bool], settings: dict) -> str:
    lines = ["# Soak", "", f"Settings: {json.dumps(settings)}", "",
             "| t s | PSS MB | fds | Z39.50 req / fail / refused | p50 / p95 ms | SRU req / fail / refused |"
             " p50 / p95 ms | hostile done / fail / refused |", "|---:|---:|---:|---|---|---|---|---|"]
    for row in rows:
        z, s, h = row["z3950"], row["sru"], row["hostile"]
        lines.append(f"| {row['t']} | {row['pss_mb']} | {row['fds']} | {z['requests']} / {z['failures']} / "
                     f"{z['refusals']} | {z['p50_ms']} / {z['p95_ms']} | {s['requests']} / {s['failures']} / "
                     f"{s['refusals']} | {s['p50_ms']} / {s['p95_ms']} | {h['requests']} / {h['failures']} / "
                     f"{h['refusals']} |")
    lines += ["", f"Loads: {len(loads)}, " + ", ".join(f"{load['seconds']} s (exit {load['status']})" for load in loads),
              "", "Verdict:"] + [f"- {'yes' if ok else 'NO'}: {check}" for check, ok in checks.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--load-every", type=float, default=30)
    parser.add_argument("--window", type=float, default=10)
    args = parser.parse_args()
    log = Log("soak")
    home = OUT / "soak-home"
    source = lc_subset(args.records + 10 * SLICE)
    subprocess.run(["rm", "-rf", str(home)], check=True)
    home.mkdir(parents=True)
    (home / "unikat.toml").write_text(
        '[catalog]\nname = "soak"\n[libraries.LC]\nsource_system = "LC"\nholdings = "record"\n'
        '[libraries.B]\nsource_system = "B"\nholdings = "record"\n[index]\nengine = "postings"\n'
        # every client of the soak comes from 127.0.0.1: the per-address limit would refuse most
        f'[server]\nmax_connections_per_address = {2 * args.connections}\n')
    first = home / "first.mrc"
    data = source.read_bytes()
    offset = 0
    for _ in range(args.records):
        offset += int(data[offset:offset + 5])
    first.write_bytes(data[:offset])
    log(f"loading {args.records:,} records into {home}")
    subprocess.run([*UNIKAT, "--home", str(home), "load", "--library", "LC", str(first)], check=True,
                   capture_output=True, cwd=REPO)
    port = free_port()
    server_log = open(OUT / "soak-serve.log", "wb")
    server = subprocess.Popen([*UNIKAT, "--home", str(home), "serve", "--port", str(port), "--workers", "2"],
                              stdout=server_log, stderr=subprocess.STDOUT, cwd=REPO)
    wait_for_port(port, process=server)
    queries = query_mix(first)
    tally, stop, loads = Tally(), threading.Event(), []
    threads = []
    for number in range(args.connections):
        rng = random.Random(number)
        share = number % 20
        if share < 9:
            target, extra = z3950_client, (queries,)
        elif share < 18:
            target, extra = sru_client, (queries,)
        else:
            target, extra = hostile_client, ()
        threads.append(threading.Thread(target=target, args=(port, *extra, tally, stop, rng), daemon=True))
    threads.append(threading.Thread(target=loader, daemon=True, args=(
        home, deliveries(source, args.records), args.load_every, stop, loads, log)))
    log(f"{args.connections} connections for {args.minutes} minutes on port {port}")
    started = time.monotonic()
    for thread in threads:
        thread.start()
    rows = []
    try:
        while time.monotonic() - started < 60 * args.minutes:
            time.sleep(args.window)
            rows.append(summary(tally.take(), time.monotonic() - started, server.pid))
            row = rows[-1]
            log(f"t={row['t']}s PSS {row['pss_mb']} MB, {row['fds']} fds, z3950 {row['z3950']}, sru {row['sru']}, "
                f"hostile {row['hostile']}")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        server.terminate()
        server.wait(timeout=30)
    checks = verdict(rows, loads)
    settings = {"minutes": args.minutes, "connections": args.connections, "records": args.records,
                "load_every": args.load_every, "window": args.window}
    (OUT / "soak.json").write_text(json.dumps({"settings": settings, "windows": rows, "loads": loads,
                                               "verdict": checks}, indent=1))
    (OUT / "soak.md").write_text(report(rows, loads, checks, settings))
    log(f"report: {OUT / 'soak.md'}; " + "; ".join(f"{check}: {'yes' if ok else 'NO'}" for check, ok in checks.items()))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
