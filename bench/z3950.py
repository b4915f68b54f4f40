"""Z39.50 searches/s, presents/s and latency: unikat against zebrasrv on the same records and queries.

    .venv/bin/python bench/z3950.py [--records 100000] [--clients 1,20] [--seconds 10]

Needs the homes bench/load.py built for the same record count (it runs it when missing). Both
servers get the same query mix, drawn from the records themselves: title words, author names,
subject words, phrases, right truncation, booleans, year ranges. The load generator is
bench/zclient.py (our codec); before timing, every query's hit count is compared between
the two servers and differences are listed. Prints a table and writes bench/out/z3950.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pymarc
from common import OUT, REPO, lc_subset, ratio, zebra_available

from index.searchkeys.normalize import normalize


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def query_mix(records: Path, count: int = 200, seed: int = 7) -> list[str]:
    """PQF queries from the records: what users search for, supported by both servers."""
    rng = random.Random(seed)
    titles, authors, subjects, years = [], [], [], []
    with open(records, "rb") as handle:
        for position, record in enumerate(pymarc.MARCReader(handle, to_unicode=True, force_utf8=True)):
            if position > 5000:
                break
            if record is None:
                continue
            if record.get("245") is not None:
                words = [w for w in normalize(record["245"].get("a") or "").split() if len(w) > 3 and w.isascii()]
                if len(words) >= 2:
                    titles.append(words)
            if record.get("100") is not None:
                name = normalize(record["100"].get("a") or "").split()
                if name and name[0].isascii():
                    authors.append(name[0])
            for field in record.get_fields("650"):
                word = normalize(field.get("a") or "").split()
                if word and word[0].isascii():
                    subjects.append(word[0])
            f008 = record.get("008")
            if f008 is not None and (f008.data or "")[7:11].isdigit():
                years.append(int(f008.data[7:11]))
    queries = []
    for _ in range(count):
        kind = rng.randrange(8)
        words = rng.choice(titles)
        if kind == 0:
            queries.append(f"@attr 1=4 {rng.choice(words)}")
        elif kind == 1:
            queries.append(f"@attr 1=1003 {rng.choice(authors)}")
        elif kind == 2:
            queries.append(f"@attr 1=21 {rng.choice(subjects)}")
        elif kind == 3:
            queries.append(f'@attr 1=4 @attr 4=1 "{words[0]} {words[1]}"')
        elif kind == 4:
            queries.append(f"@attr 1=4 @attr 5=1 {rng.choice(words)[:4]}")
        elif kind == 5:
            queries.append(f"@and @attr 1=4 {words[0]} @attr 1=1003 {rng.choice(authors)}")
        elif kind == 6:
            queries.append(f"@or @attr 1=4 {words[0]} @attr 1=21 {rng.choice(subjects)}")
        else:
            year = rng.choice(years)
            queries.append(f"@and @attr 1=4 {words[0]} @attr 1=31 @attr 2=4 {year}")
    return queries


def _client_run(args) -> dict:
    port, database, queries, seconds, present = args
    sys.path.insert(0, str(Path(__file__).parent))
    from zclient import ZClient

    client = ZClient("127.0.0.1", port, database)
    latencies, presented, done = [], 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        query = queries[done % len(queries)]
        started = time.perf_counter()
        hits = client.search(query)
        if present and hits > 0:
            presented += client.present(1, min(10, hits), present)
        latencies.append(time.perf_counter() - started)
        done += 1
    client.close()
    return {"latencies": latencies, "presented": presented}


def measure(port: int, database: str, queries: list[str], clients: int, seconds: float, present: str | None) -> dict:
    started = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        runs = pool.map(_client_run, [(port, database, queries[i::clients] or queries, seconds, present)
                                      for i in range(clients)])
    elapsed = time.monotonic() - started
    latencies = sorted(x for run in runs for x in run["latencies"])
    quantile = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {
        "requests_per_second": len(latencies) / min(elapsed, seconds + 1),
        "records_per_second": sum(run["presented"] for run in runs) / min(elapsed, seconds + 1),
        "p50_ms": quantile[49] * 1000, "p95_ms": quantile[94] * 1000, "p99_ms": quantile[98] * 1000,
    }


def compare_hits(ports: dict[str, tuple[int, str]], queries: list[str]) -> list[str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from zclient import ZClient

    clients = {name: ZClient("127.0.0.1", port, db) for name, (port, db) in ports.items()}
    differences = []
    for query in queries:
        counts = {name: client.search(query) for name, client in clients.items()}
        if len(set(counts.values())) > 1:
            differences.append(f"{query}: {counts}")
    for client in clients.values():
        client.close()
    return differences


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (MB), from /proc."""
    total = 0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()] \
        if Path(f"/proc/{pid}/task/{pid}/children").exists() else [pid]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--clients", default="1,20")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    records = lc_subset(args.records)
    home = OUT / f"unikat-load-{args.records}"
    zebra_dir = OUT / f"zebra-load-{args.records}"
    if not home.exists() or (zebra_available() and not zebra_dir.exists()):
        subprocess.run([sys.executable, str(Path(__file__).with_name("load.py")), "--sizes", str(args.records)], check=True)
    queries = query_mix(records)
    servers, ports = {}, {}
    port = free_port()
    servers["unikat"] = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "unikat"), "--home", str(home), "serve", "--port", str(port),
         "--workers", str(args.workers)], stderr=open(OUT / "unikat-serve.log", "wb"))
    ports["unikat"] = (port, "unikat")
    if zebra_available():
        port = free_port()
        servers["zebra"] = subprocess.Popen(["zebrasrv", "-c", "zebra.cfg", "-l", str(OUT / "zebrasrv.log"),
                                             f"tcp:127.0.0.1:{port}"], cwd=zebra_dir)
        ports["zebra"] = (port, "Default")
    try:
        for port, _ in ports.values():
            wait_for_port(port)
        differences = compare_hits(ports, queries) if len(ports) > 1 else []
        results = {"records": args.records, "queries": len(queries), "hit_count_differences": differences, "runs": []}
        print(f"{len(queries)} queries; {len(differences)} with different hit counts between the servers")
        for line in differences[:10]:
            print("  ", line)
        header = f"{'clients':>7} {'mix':>12} | " + " | ".join(
            f"{name:>6} req/s  rec/s  p50ms  p95ms  p99ms" for name in ports) + " | req/s ratio"
        print(header)
        for clients in (int(c) for c in args.clients.split(",")):
            for present in (None, "usmarc", "xml"):
                row = {"clients": clients, "present": present or "search only"}
                for name, (port, database) in ports.items():
                    row[name] = measure(port, database, queries, clients, args.seconds, present)
                    row[name]["server_rss_mb"] = rss_mb(servers[name].pid)
                results["runs"].append(row)
                cells = " | ".join(
                    f"{row[n]['requests_per_second']:12.0f} {row[n]['records_per_second']:6.0f}"
                    f" {row[n]['p50_ms']:6.2f} {row[n]['p95_ms']:6.2f} {row[n]['p99_ms']:6.2f}" for n in ports)
                speed = ratio(row["unikat"]["requests_per_second"], row["zebra"]["requests_per_second"]) \
                    if "zebra" in row else "-"
                print(f"{clients:7} {row['present']:>12} | {cells} | {speed}", flush=True)
        (OUT / "z3950.json").write_text(json.dumps(results, indent=1))
    finally:
        for process in servers.values():
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    sys.exit(main())
