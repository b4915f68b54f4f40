"""The catalog store on SQLite against PostgreSQL: load + index time, CPU and memory, and the time
of a search with its first ten records, on the same LC records, with zebraidx in the same run.

    .venv/bin/python bench/stores.py [--records 10000] [--searches 400]

PostgreSQL is a throwaway server on this machine (`tests/pgserver.py`: a Unix socket, fsync off
as in the tests, so the figure shows the cost of the client/server round trips and of
PostgreSQL's own work, not of a disk flush per commit). Both homes use the postings engine.
The search figure is in-process (`index.search.Catalog`: the query mix of the protocol
benchmarks, parsed from PQF, searched, and the first ten display records with their holdings
read from the store in one batch, as a Z39.50 present or an SRU answer reads them):
what a Z39.50 or SRU worker does per request, without the network.
Writes bench/out/stores.json.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

from common import OUT, REPO, UNIKAT, file_digest, lc_subset, load_average, query_mix, ratio, run_measured, write_json
from load import load_zebra

sys.path[:0] = [str(REPO)]                # the project's `index` before tests/index
sys.path.append(str(REPO / "tests"))
from pgserver import PostgresServer  # noqa: E402  (the tests' throwaway server)


def _home(directory: Path, store: str) -> Path:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / "unikat.toml").write_text('[catalog]\nname = "benchmark"\n[libraries.LC]\nsource_system = "LC"\n'
                                           f'holdings = "record"\n[index]\nengine = "postings"\n{store}')
    return directory


def _searches(home: Path, records: Path, count: int) -> dict:
    from index.home import Home
    from index.search import Catalog
    from zserver.cli import _parse_pqf

    catalog = Catalog(Home(home))
    try:
        database = catalog.database("unikat")
        mix = [_parse_pqf(query.pqf) for query in query_mix(records)]
        for node in mix:   # warm: page cache, lexicon rows, prepared statements
            catalog.search(node, database)
        times = []
        for number in range(count):
            started = time.perf_counter()
            result = catalog.search(mix[number % len(mix)], database)
            catalog.shown(catalog.records(result.isns()[:10], with_holdings=True), signed_in=True)   # as a present does
            times.append(time.perf_counter() - started)
        times.sort()
        return {"searches": count, "p50_ms": 1000 * statistics.median(times),
                "p95_ms": 1000 * times[int(0.95 * len(times))], "mean_ms": 1000 * statistics.fmean(times)}
    finally:
        catalog.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=400)
    args = parser.parse_args()
    records = lc_subset(args.records)
    server = PostgresServer.start()
    if server is None:
        print(f"no PostgreSQL: {PostgresServer.unavailable}", file=sys.stderr)
        return 2
    results: dict = {"records": args.records, "load_average_before": load_average()}
    try:
        stores = {"sqlite": "", "postgresql": f'[store]\nbackend = "postgresql"\ndsn = "{server.new_database()}"\n'}
        for name, section in stores.items():
            home = _home(OUT / f"stores-{name}-{args.records}", section)
            log = OUT / f"stores-{name}-{args.records}.log"
            log.unlink(missing_ok=True)
            print(f"{name}: loading {args.records:,} records (log: {log})", flush=True)
            measured = run_measured([str(UNIKAT), "--home", str(home), "load", "--library", "LC", str(records)],
                                    log=log)
            results[name] = {"load_seconds": measured.seconds, "load_cpu_seconds": measured.cpu_seconds,
                             "tree_peak_mb": measured.tree_peak_mb,
                             "search": _searches(home, records, args.searches)}
            print(f"{name}: load {measured.seconds:.1f} s, search p50 {results[name]['search']['p50_ms']:.2f} ms",
                  flush=True)
        results["zebra"] = load_zebra(records, args.records, file_digest(records), force=True)   # in this run
    finally:
        server.stop()
    results["load_average_after"] = load_average()
    sqlite, postgresql, zebra = results["sqlite"], results["postgresql"], results["zebra"]
    print(f"load: PostgreSQL/SQLite {ratio(postgresql['load_seconds'], sqlite['load_seconds'])},"
          f" SQLite/Zebra {ratio(sqlite['load_seconds'], zebra['seconds'])},"
          f" PostgreSQL/Zebra {ratio(postgresql['load_seconds'], zebra['seconds'])};"
          f" search + 10 records p50: PostgreSQL/SQLite"
          f" {ratio(postgresql['search']['p50_ms'], sqlite['search']['p50_ms'])}")
    write_json(OUT / "stores.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
