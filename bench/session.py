"""One real yaz-client session against unikat and Zebra, side by side (issue 11's first goal).

    .venv/bin/python bench/session.py [--sizes 10000,100000] [--repetitions 9] [--workers 2]
                                      [--engine postings] [--unikat-src DIR] [--label NAME] [--reuse-homes] [--force]
                                      [--out DIR]

    # before/after the protocol renewal, on the same homes:
    git worktree add /work/before 564cb72
    .venv/bin/python bench/session.py --reuse-homes --unikat-src /work/before --label before
    .venv/bin/python bench/session.py --reuse-homes --label after

One `yaz-client -f script` process runs 540 PQF searches (the 200 queries of common.query_mix,
cycled) and, after about every fifth search, `show 1+10` of MARC21 records (`format usmarc`,
`elements F`): 100 presents of 10 records. The shows follow searches that found at least ten
records on both servers, so every present returns ten. `--skip-kinds year` leaves a kind out
(Zebra's year ranges grow with the catalog and dominate its session at 100k). Both servers serve the homes bench/load.py
builds (built or reused here, as bench/run.py does), unikat with `serve --workers N` and the
postings engine unless `--engine whoosh`; `--unikat-src DIR` runs the unikat
code of another checkout (PYTHONPATH=DIR, cwd DIR, this venv's Python) on the same home.

Per server: an untimed search-only session (hit counts, and a warm-up), an untimed full session,
then `--repetitions` timed sessions, the servers taking turns. Reported: the median wall time of
the session (yaz-client started to exited) and the fastest one, the server process tree's CPU
during it (from /proc), CPU per request (searches + presents), the unikat/Zebra ratios,
yaz-client's own per-request "Elapsed": p50 of one-word searches and of presents, time per query
kind; the 1-minute load average after every session; and a check that every search succeeded,
without a diagnostic, and every show returned ten records.

The last timed session's output is bench/out/session-<size>-<server>.log and its script
bench/out/session-<size>-<server>.txt (the same for both but for the address). Results are
merged into bench/results.json ("session", one entry per size, label and `--skip-kinds`, a newer
run replacing an older one) and its section of bench/RESULTS.md is written again (report.write_session);
with `--out DIR` everything goes to DIR instead and bench/ stays untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SEARCHES, PRESENTS, PRESENT_SIZE = 540, 100, 10
TIMEOUT = 120
"""Seconds one yaz-client session may take (they take about one)."""
ONE_WORD = ("title", "author", "subject")
"""The query kinds of a one-word search (the issue's p50 goal)."""


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="record counts (default 10000,100000)")
    parser.add_argument("--repetitions", type=int, default=9, help="timed sessions per server (default 9)")
    parser.add_argument("--workers", type=int, default=2, help="unikat serve --workers (default 2)")
    parser.add_argument("--engine", default="postings", choices=("postings", "whoosh"),
                        help="unikat's search engine, i.e. which home (default postings)")
    parser.add_argument("--unikat-src", type=Path, help="serve unikat from this checkout (e.g. /work/before)")
    parser.add_argument("--label", help="name of the unikat code in the report (default: its commit)")
    parser.add_argument("--unikat-setting", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="serve unikat with this unikat.toml setting (TOML value), e.g. index.kept_searches=0")
    parser.add_argument("--skip-kinds", default="", help="query kinds left out of the mix, e.g. year (default none)")
    parser.add_argument("--reuse-homes", action="store_true", help="reuse unikat homes built by other code")
    parser.add_argument("--force", action="store_true", help="rebuild homes even when their stamps match")
    parser.add_argument("--out", type=Path, help="directory for everything; bench/ stays untouched")
    return parser.parse_args()


# --- the script and yaz-client's output ------------------------------------------------------------

def searches(queries: list) -> list:
    """The session's searches: the query mix cycled to SEARCHES."""
    return [queries[number % len(queries)] for number in range(SEARCHES)]


def show_after(hits: dict[str, list[int]]) -> list[int]:
    """Indexes of the searches followed by a show: PRESENTS of those that found PRESENT_SIZE
    records on every server, evenly spread over them (so about every fifth search)."""
    enough = [i for i in range(SEARCHES) if all(counts[i] >= PRESENT_SIZE for counts in hits.values())]
    if len(enough) < PRESENTS:
        raise SystemExit(f"only {len(enough)} searches with {PRESENT_SIZE}+ hits to show after")
    return [enough[number * len(enough) // PRESENTS] for number in range(PRESENTS)]


def script(target: str, pqfs: list[str], shows: list[int]) -> str:
    """yaz-client commands: connect to `target` (yaz-client reads the whole command file before it
    opens an address given on its command line), MARC21, full records, each search and the shows
    after the chosen ones."""
    lines = [f"open {target}", "format usmarc", "elements F"]
    wanted = set(shows)
    for number, pqf in enumerate(pqfs):
        lines.append(f"find {pqf}")
        if number in wanted:
            lines.append(f"show 1+{PRESENT_SIZE}")
    return "\n".join(lines + ["quit", ""])


def parse(output: str) -> dict:
    """What a yaz-client session answered: hit counts, successes, diagnostics, records per show,
    and yaz-client's "Elapsed" seconds of every search and every present, in order."""
    elapsed: dict[str, list[float]] = {"search": [], "present": []}
    current = None
    for line in output.splitlines():
        if line.startswith("Sent searchRequest"):
            current = "search"
        elif line.startswith("Sent presentRequest"):
            current = "present"
        elif line.startswith("Elapsed:") and current:
            elapsed[current].append(float(line.split()[1]))
            current = None
    return {
        "hits": [int(n) for n in re.findall(r"^Number of hits: (\d+)", output, re.M)],
        "successes": output.count("Search was a success."),
        "diagnostics": output.count("Diagnostic message"),
        "records": [int(n) for n in re.findall(r"^Records: (\d+)", output, re.M)],
        "elapsed": elapsed,
    }


def answered_all(parsed: dict, shows: int) -> bool:
    return (parsed["successes"] == len(parsed["hits"]) == SEARCHES and not parsed["diagnostics"]
            and parsed["records"] == [PRESENT_SIZE] * shows)


# --- running sessions ----------------------------------------------------------------------------

def target(server) -> str:
    return f"tcp:127.0.0.1:{server.port}/{server.database}"


def run_session(server, commands: Path, output: Path, common) -> dict:
    """One yaz-client process running the `commands` file against `server`, its output in `output`:
    wall time, the server tree's CPU, yaz-client's CPU and the rest of the machine's, and what it
    answered."""
    with open(output, "wb") as sink, common.Monitor(server.process.pid, interval=1.0) as monitor:
        started = time.perf_counter()
        process = subprocess.Popen(["yaz-client", "-f", str(commands)], stdout=sink,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        # A blocking wait4 (yaz-client's own CPU, no polling delay in the wall time); a server that
        # stops answering must not hang the benchmark.
        watchdog = threading.Timer(TIMEOUT, process.kill)
        watchdog.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        watchdog.cancel()
        time.sleep(0.2)     # Zebra's child for this connection ends and is reaped: its CPU is counted
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"yaz-client failed or took over {TIMEOUT} s against {server.name} (see {output})")
    client = usage.ru_utime + usage.ru_stime
    return {"seconds": seconds, "server_cpu_seconds": monitor.cpu_seconds, "client_cpu_seconds": client,
            "others_cpu_cores": max(0.0, monitor.busy_seconds - monitor.cpu_seconds - client) / monitor.seconds,
            "load_average": common.load_average(),
            **parse(output.read_text(encoding="utf-8", errors="replace"))}


def _median_ms(values: list[float]) -> float | None:
    return statistics.median(values) * 1000 if values else None


def summarize(runs: list[dict], kinds: list[str], shows: int) -> dict:
    """The median timed session of one server, and every session's figures."""
    requests = SEARCHES + shows
    seconds = statistics.median(run["seconds"] for run in runs)
    cpu = statistics.median(run["server_cpu_seconds"] for run in runs)
    one_word = [value for run in runs for kind, value in zip(kinds, run["elapsed"]["search"], strict=True)
                if kind in ONE_WORD]
    by_kind: list[dict[str, float]] = []
    for run in runs:
        spent = {"present": sum(run["elapsed"]["present"]) * 1000}
        for kind, value in zip(kinds, run["elapsed"]["search"], strict=True):
            spent[kind] = spent.get(kind, 0.0) + value * 1000
        by_kind.append(spent)
    return {
        "seconds": seconds,
        "fastest_seconds": min(run["seconds"] for run in runs),     # the least disturbed by others' work
        "server_cpu_seconds": cpu,
        "server_cpu_ms_per_request": cpu * 1000 / requests,
        "client_cpu_seconds": statistics.median(run["client_cpu_seconds"] for run in runs),
        "others_cpu_cores": statistics.median(run["others_cpu_cores"] for run in runs),
        "one_word_search_p50_ms": _median_ms(one_word),
        "search_p50_ms": _median_ms([v for run in runs for v in run["elapsed"]["search"]]),
        "present_p50_ms": _median_ms([v for run in runs for v in run["elapsed"]["present"]]),
        "elapsed_ms_by_kind": {kind: statistics.median(spent[kind] for spent in by_kind) for kind in by_kind[0]},
        "answered_all": all(answered_all(run, shows) for run in runs),
        "diagnostics": sum(run["diagnostics"] for run in runs),
        "sessions": [{key: run[key] for key in ("seconds", "server_cpu_seconds", "client_cpu_seconds",
                                                "others_cpu_cores", "load_average")} for run in runs],
        "load_average": [run["load_average"][0] for run in runs],
    }


def measure(size: int, repetitions: int, workers: int, unikat_src: Path | None, skip: list[str],
            log: Callable[[str], None], settings: Sequence[str] = ()) -> dict:
    """Both servers on the homes of `size` records: hit counts, warm-up, timed sessions; the
    query mix without the kinds in `skip`."""
    import common

    queries = [q for q in common.query_mix(common.lc_subset(size)) if q.kind not in skip]
    session = searches(queries)
    pqfs, kinds = [q.pqf for q in session], [q.kind for q in session]
    with common.serving(size, workers, unikat_src, settings) as servers:
        hits, commands = {}, {name: common.OUT / f"session-{size}-{name}.txt" for name in servers}
        for name, server in servers.items():
            commands[name].write_text(script(target(server), pqfs, []))
            answer = run_session(server, commands[name], common.OUT / f"session-{size}-{name}.log", common)
            if not answered_all(answer, 0):
                raise SystemExit(f"{name} did not answer every search (see session-{size}-{name}.log)")
            hits[name] = answer["hits"]
        differences = [pqfs[i] for i in range(len(queries)) if len({counts[i] for counts in hits.values()}) > 1]
        log(f"{size:,} records: {len(queries)} queries, {len(differences)} with different hit counts")
        shows = show_after(hits)
        runs: dict[str, list[dict]] = {name: [] for name in servers}
        for name, server in servers.items():     # warm-up: the presents' records once
            commands[name].write_text(script(target(server), pqfs, shows))
            run_session(server, commands[name], common.OUT / f"session-{size}-{name}.log", common)
        for repetition in range(repetitions):
            order = list(servers) if repetition % 2 == 0 else list(reversed(servers))
            for name in order:
                run = run_session(servers[name], commands[name], common.OUT / f"session-{size}-{name}.log", common)
                runs[name].append(run)
                log(f"{size:,} records, {name}, session {repetition + 1}/{repetitions}: {run['seconds']:.3f} s,"
                    f" server CPU {run['server_cpu_seconds']:.2f} s,"
                    f" {'answered all' if answered_all(run, len(shows)) else 'NOT ALL ANSWERED'},"
                    f" load {run['load_average'][0]}")
    entry = {name: summarize(server_runs, kinds, len(shows)) for name, server_runs in runs.items()}
    return {"records": size, "skip_kinds": skip, "searches": SEARCHES, "presents": len(shows), "present_size": PRESENT_SIZE,
            "repetitions": repetitions, "hit_count_differences": len(differences), **entry}


def merge(path: Path, entries: list[dict]) -> dict:
    """`entries` into the "session" list of the results file at `path` (one per size, label and mix)."""
    results = json.loads(path.read_text()) if path.exists() else {}

    def key(entry: dict) -> tuple:
        return entry["records"], entry["label"], tuple(entry.get("skip_kinds", ()))

    fresh = {key(e) for e in entries}
    kept = [e for e in results.get("session", []) if key(e) not in fresh]
    results["session"] = sorted(kept + entries, key=lambda e: (e["records"], e["measured"]))
    return results


def main() -> int:
    args = _arguments()
    if args.out:
        os.environ["BENCH_OUT"] = str(args.out.resolve())
    os.environ["UNIKAT_BENCH_ENGINE"] = args.engine
    sys.path.insert(0, str(BENCH))
    import common
    import load
    import report

    source = args.unikat_src.resolve() if args.unikat_src else None
    code = common.git_version(source or common.REPO)
    label = args.label or code.split()[0]
    skip = sorted(kind for kind in args.skip_kinds.split(",") if kind)
    if unknown := set(skip) - set(common.QUERY_KINDS):
        raise SystemExit(f"unknown query kinds {sorted(unknown)}; the kinds are {', '.join(common.QUERY_KINDS)}")
    log = common.Log("session")
    log(f"unikat code: {source or common.REPO} ({code}), label {label!r}, engine {common.engine()}")
    entries = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        load.run([size], force=args.force, reuse_homes=args.reuse_homes, log=common.Log("load"))
        measured = time.strftime("%Y-%m-%d %H:%M")
        entry = {"label": label, "unikat_src": str(source or common.REPO), "unikat_code": code,
                 "engine": common.engine(), "workers": args.workers, "measured": measured,
                 "command": ".venv/bin/python bench/session.py " + " ".join(sys.argv[1:]),
                 "main_code": common.git_version(),
                 **measure(size, args.repetitions, args.workers, source, skip, log, args.unikat_setting)}
        u, z = entry["unikat"], entry.get("zebra")
        log(f"{size:,} records: unikat {u['seconds']:.3f} s, {u['server_cpu_ms_per_request']:.3f} CPU ms/request"
            + (f"; zebra {z['seconds']:.3f} s, {z['server_cpu_ms_per_request']:.3f} CPU ms/request;"
               f" time unikat/zebra {common.ratio(u['seconds'], z['seconds'])},"
               f" CPU unikat/zebra {common.ratio(u['server_cpu_seconds'], z['server_cpu_seconds'])}" if z else ""))
        entries.append(entry)
        base = args.out.resolve() if args.out else BENCH
        results = merge(base / "results.json", entries)
        common.write_json(base / "results.json", results)
        common.write_json(common.OUT / "session.json", entries)
        report.write_session(results["session"], base / "RESULTS.md")
    log(f"wrote {(args.out.resolve() if args.out else BENCH) / 'RESULTS.md'}")
    return 0 if all(e["unikat"]["answered_all"] and e.get("zebra", {}).get("answered_all", True)
                    for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main())
