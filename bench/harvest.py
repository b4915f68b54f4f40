"""Harvest records/s from a local Zebra: `unikat harvest` over Z39.50 (USMARC) and SRU (MARCXML).

    .venv/bin/python bench/harvest.py [--records 10000] [--page-size 50] [--engine postings]

Zebra (zebrasrv with Z39.50 and SRU on one port, on the home bench/load.py builds) serves the
first --records LC records; each protocol harvests all of them (`--all`, no politeness delay) into a
fresh home. Per protocol it gives three figures:
- fetch: the harvester's pages alone (the client and Zebra; nothing stored);
- harvest: fetch + check + store in the external catalog (`index.external`), as
  `unikat harvest` reports it;
- index: building the external catalog's index afterwards (search keys were worked out
  while storing, so this is the engine's writing).
Results go to bench/out/harvest.json (or $BENCH_OUT) and are printed as a table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import common  # noqa: E402

from index.home import Home  # noqa: E402
from zserver.harvest.run import HarvestRequest, _harvester, _new_state, harvest  # noqa: E402


def _zebra(records: Path, size: int, log) -> tuple[subprocess.Popen, int]:
    """zebrasrv on the Zebra home bench/load.py builds (or reuses) for these records."""
    import load  # load imports common

    load.load_zebra(records, size, common.file_digest(records), log=log)
    port = common.free_port()
    server = common.yazgfs_config(common.OUT / f"harvest-yazgfs-{size}.xml", common.OUT / f"zebra-load-{size}", port)
    process = subprocess.Popen(["zebrasrv", "-f", str(server), "-l", str(common.OUT / f"harvest-zebrasrv-{size}.log")],
                               cwd=common.OUT / f"zebra-load-{size}")
    common.wait_for_port(port, 60, process)
    return process, port


def _fetch_only(request: HarvestRequest) -> tuple[int, float]:
    """Records and seconds of the pages alone."""
    harvester = _harvester(request, _new_state(request))
    position, token, count = 0, "", 0
    began = time.monotonic()
    try:
        while True:
            page = harvester.page(position, token)
            count += len(page.records)
            position, token = page.position, page.token
            if page.done:
                return count, time.monotonic() - began
    finally:
        harvester.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--engine", default="postings", choices=("postings", "whoosh"))
    args = parser.parse_args()
    if not common.zebra_available():
        raise SystemExit("zebraidx/zebrasrv missing: apt-get install idzebra-2.0")
    log = common.Log("harvest")
    records = common.lc_subset(args.records)
    process, port = _zebra(records, args.records, log)
    results = {"command": ".venv/bin/python bench/harvest.py " + " ".join(sys.argv[1:]), "records": args.records,
               "page_size": args.page_size, "engine": args.engine, "machine": common.machine(),
               "git": common.git_version(), "protocols": {}}
    try:
        for protocol, url in (("z3950", f"tcp:127.0.0.1:{port}/Default"), ("sru", f"http://127.0.0.1:{port}/Default")):
            request = HarvestRequest(protocol, url, mode="all", delay=0.0, page_size=args.page_size, retries=0)
            fetched, fetch_seconds = _fetch_only(request)
            root = common.OUT / f"harvest-home-{args.records}-{protocol}"
            if root.exists():
                subprocess.run(["rm", "-rf", str(root)], check=True)
            home = Home(root)
            home.init(f'[index]\nengine = "{args.engine}"\n')
            began = time.monotonic()
            report = harvest(home, request)
            total = time.monotonic() - began
            entry = {"fetch_records": fetched, "fetch_seconds": round(fetch_seconds, 2),
                     "fetch_records_per_second": round(fetched / fetch_seconds),
                     "harvest_records": report.records, "harvest_seconds": round(report.seconds, 2),
                     "harvest_records_per_second": round(report.records / report.seconds),
                     "index_seconds": round(total - report.seconds, 2),
                     "overall_records_per_second": round(report.records / total), "requests": report.requests,
                     "new": report.counts["new"], "rejected": report.counts["rejected"]}
            results["protocols"][protocol] = entry
            log(f"{protocol}: fetch {entry['fetch_records_per_second']:,} records/s; harvest (fetch + check + store)"
                f" {entry['harvest_records_per_second']:,} records/s ({report.records:,} in {report.seconds:.1f}s,"
                f" {report.requests} requests); index {entry['index_seconds']:.1f}s;"
                f" overall {entry['overall_records_per_second']:,} records/s")
    finally:
        process.terminate()
        process.wait(10)
    common.write_json(common.OUT / "harvest.json", results)
    print("\n| protocol | fetch records/s | harvest records/s | index s | overall records/s |\n|---|---|---|---|---|")
    for protocol, entry in results["protocols"].items():
        print(f"| {protocol} | {entry['fetch_records_per_second']:,} | {entry['harvest_records_per_second']:,} |"
              f" {entry['index_seconds']} | {entry['overall_records_per_second']:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
