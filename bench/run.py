"""`make bench`: the whole unikat-against-Zebra comparison in one go, written to bench/RESULTS.md.

    .venv/bin/python bench/run.py [--sizes 100000,250000] [--growth 10000] [--clients 1,5,20]
                                  [--seconds 10] [--workers 2] [--quick] [--out DIR]
                                  [--force] [--reuse-homes]

Steps, each logging to bench/out/<step>.log and printing progress lines:
1. setup: installs Debian's idzebra-2.0 when zebraidx is missing (apt-get; without it the
   tables have no Zebra column) and fetches the LC records when they are absent.
2. load: load + index every size (the --sizes and the --growth sizes) into unikat and Zebra,
   reusing homes whose record file and code are unchanged (bench/load.py).
3. z3950 and sru, for each of --sizes: both servers on the same homes, hit counts compared,
   then throughput and latency with each client count (bench/z3950.py, bench/sru.py).
4. growth: the same Z39.50 search mix, one client, at every loaded size.
Results are saved after every step (bench/out/results.json, and bench/RESULTS.md through
bench/report.py), so an interrupted run still leaves a report of what finished. A full run
also copies results.json to bench/results.json. `--quick` is the smoke run: 1,000 records,
2-second measurements. `--out DIR` puts everything (homes, logs, JSON, RESULTS.md) in DIR and
leaves bench/ alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="record counts for load, Z39.50 and SRU (default 100000,250000)")
    parser.add_argument("--growth", help="further record counts for the growth table only (default 10000)")
    parser.add_argument("--clients", default="1,5,20", help="concurrent clients (default 1,5,20)")
    parser.add_argument("--seconds", type=float, help="seconds per measurement (default 10; 2 with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="unikat serve --workers (default 2)")
    parser.add_argument("--engine", default="postings", choices=("postings", "whoosh"),
                        help="unikat's search engine under measurement (default postings, the fastest)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 records, 2-second measurements")
    parser.add_argument("--out", type=Path, help="directory for everything; bench/RESULTS.md stays untouched")
    parser.add_argument("--force", action="store_true", help="rebuild homes even when their stamps match")
    parser.add_argument("--reuse-homes", action="store_true", help="reuse unikat homes built by other code")
    args = parser.parse_args()
    args.sizes = args.sizes or ("1000" if args.quick else "100000,250000")
    args.growth = args.growth if args.growth is not None else ("" if args.quick else "10000")
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    return args


def ensure_zebra(log) -> None:
    """apt-get install idzebra-2.0 when zebraidx is missing; say so either way it goes."""
    if shutil.which("zebraidx"):
        return
    log("zebraidx is missing: apt-get update && apt-get install -y idzebra-2.0")
    try:
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
        subprocess.run(["apt-get", "install", "-y", "-qq", "idzebra-2.0"], check=True, env=environment)
        log("installed idzebra-2.0")
    except (OSError, subprocess.CalledProcessError) as error:
        log(f"could not install idzebra-2.0 ({error}): the report will have no Zebra figures")


def main() -> int:
    args = _arguments()
    if args.out:
        os.environ["BENCH_OUT"] = str(args.out.resolve())
    os.environ["UNIKAT_BENCH_ENGINE"] = args.engine
    sys.path.insert(0, str(BENCH))
    import common
    import load
    import report
    import sru
    import z3950

    sizes = [int(s) for s in args.sizes.split(",") if s]
    loaded = sorted(set(sizes) | {int(s) for s in args.growth.split(",") if s})
    clients = [int(c) for c in args.clients.split(",")]
    log = common.Log("run")
    report_path = (args.out.resolve() if args.out else BENCH) / "RESULTS.md"
    started = time.monotonic()
    results: dict = {
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "command": ".venv/bin/python bench/run.py " + " ".join(sys.argv[1:]),
        "options": {"sizes": sizes, "loaded": loaded, "clients": clients, "seconds": args.seconds,
                    "workers": args.workers, "engine": args.engine},
        "load": [], "z3950": [], "sru": [], "growth": [], "steps": [], "errors": [],
    }

    def save() -> None:
        results["seconds"] = time.monotonic() - started
        results["load_average_end"] = common.load_average()
        common.write_json(common.OUT / "results.json", results)
        report.write(results, report_path)

    def step(name: str, into: str | None, function, *arguments, **keywords):
        """Run one step; its value goes to results[into] (a list) before everything is saved."""
        log(f"{name}: start (load average {common.load_average()})")
        began = time.monotonic()
        try:
            value = function(*arguments, **keywords)
        except (Exception, SystemExit) as error:   # one failed step must not lose the others' figures
            log(f"{name}: FAILED: {error!r}")
            with open(common.OUT / "run.log", "a") as handle:
                traceback.print_exc(file=handle)
            results["errors"].append(f"{name}: {error}")
            value = None
        if into and value:
            results[into] += value if isinstance(value, list) else [value]
        results["steps"].append({"step": name, "seconds": time.monotonic() - began,
                                 "load_average": common.load_average()})
        log(f"{name}: done in {time.monotonic() - began:.0f}s")
        save()
        return value

    ensure_zebra(log)
    log(f"LC records: {common.lc_books()}")
    results["machine"] = common.machine()
    log(f"sizes {sizes}, growth at {loaded}, clients {clients}, {args.seconds:g}s per measurement, "
        f"output in {common.OUT} and {report_path}")

    for size in loaded:
        step(f"load {size:,}", "load", load.run, [size], force=args.force, reuse_homes=args.reuse_homes,
             log=common.Log("load"))
    ready = {entry["records"] for entry in results["load"]}

    def searches(size: int) -> None:
        with common.serving(size, args.workers) as servers:
            if size in sizes:
                step(f"z3950 {size:,}", "z3950", z3950.run, size, servers, clients=clients, seconds=args.seconds,
                     log=common.Log("z3950"))
                step(f"sru {size:,}", "sru", sru.run, size, servers, clients=clients, seconds=args.seconds,
                     log=common.Log("sru"))
            step(f"growth {size:,}", "growth", growth, size, servers, args.seconds, common.Log("growth"))

    for size in loaded:
        if size in ready:
            step(f"servers {size:,}", None, searches, size)

    results["finished"] = time.strftime("%Y-%m-%d %H:%M")
    results["git_end"] = common.git_version()
    save()
    if not args.out:
        shutil.copyfile(common.OUT / "results.json", BENCH / "results.json")
    log(f"wrote {report_path} and {common.OUT / 'results.json'} in {(time.monotonic() - started) / 60:.1f} min")
    return 1 if results["errors"] else 0


def growth(size: int, servers: dict, seconds: float, log) -> dict:
    """The Z39.50 search mix, one client, search only, on each server."""
    import common
    import z3950

    queries = common.query_mix(common.lc_subset(size))
    entry: dict = {"records": size}
    for name, server in servers.items():
        entry[name] = z3950.measure(server, queries, 1, seconds, "search")
    entry["load_average"] = common.load_average()
    log(f"{size:,} records: " + " | ".join(f"{name} p50 {entry[name]['p50_ms']:.2f} ms p95 {entry[name]['p95_ms']:.2f}"
                                           f" ms {entry[name]['requests_per_second']:.0f} req/s" for name in servers))
    return entry


if __name__ == "__main__":
    sys.exit(main())
