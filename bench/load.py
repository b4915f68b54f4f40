"""Load + index throughput, disk and peak memory: unikat against zebraidx on the same LC records.

    .venv/bin/python bench/load.py [--sizes 10000,100000] [--force] [--reuse-homes]

unikat's figure covers reading, validating, storing, consolidating, writing the search-key
files and building the Whoosh index (`unikat load`); Zebra's covers `zebraidx update` + `commit`.
Peak memory is given twice: the largest single process (the kernel's ru_maxrss) and the sampled
peak PSS of the whole process tree. The homes stay in bench/out/unikat-load-N and
bench/out/zebra-load-N for the search benchmarks.

A home is built again only when needed: each one keeps a stamp (bench-stamp.json) with the
digest of its record file, the code version (a digest of index/ and the Whoosh version, or
Zebra's version) and the figures measured when it was built. When both match, the stored
figures are reported (marked "reused") and nothing is loaded. `--reuse-homes` accepts a unikat
home built by other code from the same records; `--force` rebuilds everything.
Writes bench/out/load.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import (
    OUT,
    UNIKAT,
    ZEBRA_SETUP,
    Log,
    code_version,
    directory_size_mb,
    engine,
    file_digest,
    lc_subset,
    load_average,
    ratio,
    run_measured,
    unikat_dir,
    unikat_home,
    write_json,
    zebra_available,
    zebra_config,
    zebra_version,
)

STAMP = "bench-stamp.json"


def _stamped(directory: Path, records_digest: str, code: str | None) -> dict | None:
    """The figures stored in a home's stamp when it matches (code None: any code)."""
    try:
        stamp = json.loads((directory / STAMP).read_text())
    except (OSError, ValueError):
        return None
    if stamp.get("records") != records_digest or (code is not None and stamp.get("code") != code):
        return None
    return {**stamp["result"], "reused": True, "built": stamp.get("built", "?")}


def _stamp(directory: Path, records_digest: str, code: str, result: dict) -> dict:
    built = time.strftime("%Y-%m-%d %H:%M")
    (directory / STAMP).write_text(json.dumps({"records": records_digest, "code": code, "built": built,
                                               "result": result}, indent=1))
    return {**result, "reused": False, "built": built}


def load_unikat(records: Path, size: int, digest: str, *, force: bool = False, reuse_homes: bool = False,
                log: Callable[[str], None] = print) -> dict:
    """Build (or reuse) bench/out/unikat-load-<size>; returns its load figures."""
    directory, code = unikat_dir(size), code_version()
    if not force and (found := _stamped(directory, digest, None if reuse_homes else code)):
        log(f"unikat {size:,}: reusing {directory.name} (built {found['built']})")
        return found
    load_log = OUT / f"{directory.name}.log"
    log(f"unikat {size:,}: loading and indexing with the {engine()} engine (log: {load_log})")
    home = unikat_home(directory)
    load_log.unlink(missing_ok=True)
    measured = run_measured([str(UNIKAT), "--home", str(home), "load", "--library", "LC", str(records)],
                            log=load_log, progress=lambda line: log(f"unikat {size:,}: {line}"))
    disk = directory_size_mb(home) - (directory_size_mb(home / "rejects") if (home / "rejects").exists() else 0)
    result = {"seconds": measured.seconds, "records_per_second": size / measured.seconds,
              "peak_mb": measured.peak_mb, "tree_peak_mb": measured.tree_peak_mb, "disk_mb": disk,
              "cpu_seconds": measured.cpu_seconds, "load_average": load_average()}
    return _stamp(directory, digest, code, result)


def load_zebra(records: Path, size: int, digest: str, *, force: bool = False,
               log: Callable[[str], None] = print) -> dict:
    """Build (or reuse) bench/out/zebra-load-<size>; returns its load figures."""
    directory, code = OUT / f"zebra-load-{size}", f"{zebra_version()}, {ZEBRA_SETUP}"
    if not force and (found := _stamped(directory, digest, code)):
        log(f"zebra {size:,}: reusing {directory.name} (built {found['built']})")
        return found
    log(f"zebra {size:,}: zebraidx update + commit")
    config = zebra_config(directory)
    load_log = OUT / f"zebra-load-{size}.log"
    load_log.unlink(missing_ok=True)
    update = run_measured(["zebraidx", "-c", str(config), "update", str(records)], cwd=directory, log=load_log)
    commit = run_measured(["zebraidx", "-c", str(config), "commit"], cwd=directory, log=load_log)
    seconds = update.seconds + commit.seconds
    result = {"seconds": seconds, "records_per_second": size / seconds,
              "cpu_seconds": update.cpu_seconds + commit.cpu_seconds,
              "peak_mb": max(update.peak_mb, commit.peak_mb),
              "tree_peak_mb": max(update.tree_peak_mb, commit.tree_peak_mb),
              "disk_mb": directory_size_mb(directory / "reg"), "load_average": load_average()}
    return _stamp(directory, digest, code, result)


def run(sizes: list[int], *, force: bool = False, reuse_homes: bool = False,
        log: Callable[[str], None] = print) -> list[dict]:
    """Load every size into both systems (or reuse the homes); one dict per size."""
    results = []
    for size in sizes:
        records = lc_subset(size)
        digest = file_digest(records)
        ours = load_unikat(records, size, digest, force=force, reuse_homes=reuse_homes, log=log)
        theirs = load_zebra(records, size, digest, force=force, log=log) if zebra_available() else {}
        results.append({"records": size, "unikat": ours, "zebra": theirs})
        log(f"{size:,} records: unikat {ours['seconds']:.1f}s ({ours['records_per_second']:.0f} rec/s,"
            f" {ours['tree_peak_mb']:.0f} MB peak, {ours['disk_mb']:.0f} MB disk)"
            + (f"; zebra {theirs['seconds']:.1f}s ({theirs['records_per_second']:.0f} rec/s,"
               f" {theirs['tree_peak_mb']:.0f} MB peak, {theirs['disk_mb']:.0f} MB disk);"
               f" time unikat/zebra {ratio(ours['seconds'], theirs['seconds'])}" if theirs else "; no zebra"))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--force", action="store_true", help="rebuild even when a home's stamp matches")
    parser.add_argument("--reuse-homes", action="store_true",
                        help="reuse a unikat home built from the same records by other code")
    args = parser.parse_args()
    results = run([int(s) for s in args.sizes.split(",")], force=args.force, reuse_homes=args.reuse_homes,
                  log=Log("load"))
    write_json(OUT / "load.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
