"""Load + index throughput and peak memory: unikat against zebraidx on the same LC records.

    .venv/bin/python bench/load.py [--sizes 10000,100000]

Prints a table and writes bench/out/load.json. unikat's figure covers reading, validating,
storing, writing the search-key files and building the Whoosh index (`unikat load`); Zebra's
covers `zebraidx update` + `commit`. Peak memory is the largest resident set of the process
tree's main process (Whoosh's writer sub-processes are counted separately by the OS and left out).
"""

from __future__ import annotations

import argparse
import json
import sys

from common import (
    OUT,
    REPO,
    directory_size_mb,
    lc_subset,
    ratio,
    run_measured,
    unikat_home,
    zebra_available,
    zebra_config,
)


def bench_unikat(records, size: int) -> dict:
    home = unikat_home(OUT / f"unikat-load-{size}")
    unikat = str(REPO / ".venv" / "bin" / "unikat")
    seconds, memory = run_measured([unikat, "--home", str(home), "load", "--library", "LC", str(records)],
                                   log=OUT / f"unikat-load-{size}.log")
    disk = directory_size_mb(home) - directory_size_mb(home / "rejects")
    return {"seconds": seconds, "records_per_second": size / seconds, "peak_mb": memory, "disk_mb": disk}


def bench_zebra(records, size: int) -> dict:
    directory = OUT / f"zebra-load-{size}"
    config = zebra_config(directory)
    log = OUT / f"zebra-load-{size}.log"
    s1, m1 = run_measured(["zebraidx", "-c", str(config), "update", str(records)], cwd=directory, log=log)
    s2, m2 = run_measured(["zebraidx", "-c", str(config), "commit"], cwd=directory, log=log)
    seconds = s1 + s2
    return {"seconds": seconds, "records_per_second": size / seconds, "peak_mb": max(m1, m2),
            "disk_mb": directory_size_mb(directory / "reg")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    results = []
    print(f"{'records':>8} | {'unikat s':>8} {'rec/s':>7} {'MB':>6} {'disk':>6} | {'zebra s':>8} {'rec/s':>7}"
          f" {'MB':>6} {'disk':>6} | time ratio (unikat/zebra)")
    for size in (int(s) for s in args.sizes.split(",")):
        records = lc_subset(size)
        ours = bench_unikat(records, size)
        theirs = bench_zebra(records, size) if zebra_available() else {}
        results.append({"records": size, "unikat": ours, "zebra": theirs})
        zebra_cells = (f"{theirs['seconds']:8.1f} {theirs['records_per_second']:7.0f} {theirs['peak_mb']:6.0f}"
                       f" {theirs['disk_mb']:6.0f}") if theirs else f"{'(no zebra)':>30}"
        print(f"{size:8} | {ours['seconds']:8.1f} {ours['records_per_second']:7.0f} {ours['peak_mb']:6.0f}"
              f" {ours['disk_mb']:6.0f} | {zebra_cells} | {ratio(ours['seconds'], theirs.get('seconds', 0))}",
              flush=True)
    (OUT / "load.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
