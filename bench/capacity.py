"""What a catalog of N titles would need, worked out from measured load figures.

    .venv/bin/python bench/capacity.py [--titles 100000000] [--cores 2] [--reload-hours 24]

Reads bench/out/load.json (`bench/load.py`, with CPU seconds) and the unikat homes it built
(bench/out/unikat-load-N-postings), and scales their per-record figures to `--titles`: disk
of the store and of the index, load CPU and wall time on hosts of `--cores` cores, and what the
load's memory did between the sizes measured. Every figure it prints says which measured
numbers it comes from; the assumptions are printed with it. A projection, not a measurement:
it assumes per-record costs stay what they were between the two largest sizes measured.
"""

from __future__ import annotations

import argparse
import json
import math

from common import OUT, directory_size_mb, unikat_dir


def _slope(low: dict, high: dict, figure: str) -> float:
    """Per-record growth of `figure` between two measured sizes."""
    return (high["unikat"][figure] - low["unikat"][figure]) / (high["records"] - low["records"])


def _home_split(size: int) -> tuple[float, float]:
    """MB of the catalog store (catalog*.sqlite*) and of everything else (index, key files)."""
    home = unikat_dir(size)
    store = sum(path.stat().st_size for path in home.glob("catalog*.sqlite*")) / 1e6
    return store, directory_size_mb(home) - store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=100_000_000)
    parser.add_argument("--cores", type=int, default=2, help="cores per loading host")
    parser.add_argument("--reload-hours", type=float, default=24.0,
                        help="how long a full reload of the catalog may take")
    args = parser.parse_args()
    rows = sorted(json.loads((OUT / "load.json").read_text()), key=lambda row: row["records"])
    rows = [row for row in rows if row["unikat"].get("cpu_seconds")]
    if len(rows) < 2:
        raise SystemExit("bench/out/load.json needs two sizes measured with CPU seconds:"
                         " .venv/bin/python bench/load.py --sizes 10000,100000 --force")
    low, high = rows[-2], rows[-1]
    n = args.titles
    cpu = _slope(low, high, "cpu_seconds")
    store_low, index_low = _home_split(low["records"])
    store_high, index_high = _home_split(high["records"])
    span = high["records"] - low["records"]
    store_per, index_per = (store_high - store_low) / span, (index_high - index_low) / span
    disk = store_per + index_per
    core_hours = cpu * n / 3600
    hosts = math.ceil(core_hours / (args.cores * args.reload_hours))
    memory = [(row["records"], row["unikat"]["tree_peak_mb"]) for row in rows]
    growth = math.log(memory[-1][1] / memory[-2][1]) / math.log(memory[-1][0] / memory[-2][0])
    print(f"Projection for {n:,} titles from measured loads of {low['records']:,} and {high['records']:,}"
          f" LC records (bench/out/load.json, per-record growth between them):")
    print(f"- load CPU: {cpu * 1000:.2f} ms per record ({high['unikat']['cpu_seconds']:.0f} CPU s for"
          f" {high['records']:,}) -> {core_hours:,.0f} core-hours;"
          f" {hosts} host(s) of {args.cores} cores for a full reload within {args.reload_hours:g} h"
          f" (assumes the load spreads over cores and hosts without loss; one host today: one store writer)")
    wall = _slope(low, high, "seconds")
    print(f"- one host as today ({args.cores} cores, one process writing the store): {wall * 1000:.2f} ms of wall"
          f" time per record -> {wall * n / 3600:,.0f} h for the whole catalog; new deliveries cost this per"
          f" record delivered, not per record held")
    if high["zebra"].get("cpu_seconds"):
        print(f"  Zebra in the same run: {high['zebra']['cpu_seconds'] / high['records'] * 1000:.2f} ms per record")
    print(f"- disk: {disk * n / 1e6:,.1f} TB for the home ({disk * 1e3:.1f} KB per record), of which"
          f" store {store_per * n / 1e6:,.1f} TB ({store_per * 1e3:.1f} KB) and index and key files"
          f" {index_per * n / 1e6:,.1f} TB ({index_per * 1e3:.1f} KB)")
    print(f"- load memory: peak {memory[-1][1]:.0f} MB at {memory[-1][0]:,} records, grown as N^{growth:.2f}"
          f" from {memory[-2][0]:,}; at that rate {memory[-1][1] * (n / memory[-1][0]) ** growth:,.0f} MB"
          f" at {n:,}")
    print("- assumptions: records like LC's (one holding each, ~1 KB of MARC); the per-record slope between"
          " the two largest sizes holds to N; SQLite's B-trees and the index merge stay O(N log N) with a"
          " small log factor (not measured beyond the largest size)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
