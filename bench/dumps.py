"""Export, backup and restore at scale: `unikat export` records/s per format, `unikat backup` and
`unikat restore` seconds, on the first N LC records (default 100,000) in one library.

    .venv/bin/python bench/dumps.py [--records 100000] [--rebuild]

The home is bench/load.py's (bench/out/unikat-load-N-postings: built with `unikat load`, reused
while the code that builds it is the same); dumps, backups and the restored home land beside it.
Results: bench/out/dumps.json and a table on stdout. Every step is the real command, timed from outside (`run_measured`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

import load
from common import OUT, UNIKAT, file_digest, lc_subset, run_measured

from index.dumps import FORMATS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="load the home again")
    args = parser.parse_args()
    records = lc_subset(args.records)
    load.load_unikat(records, args.records, file_digest(records), force=args.rebuild)
    home = load.unikat_dir(args.records)
    log = OUT / f"dumps-{args.records}.log"
    results: dict = {"records": args.records, "built": time.strftime("%Y-%m-%d %H:%M"), "export": {}}
    for what, library in (("library", ["--library", "LC"]), ("catalog", [])):
        for fmt in FORMATS:
            out = OUT / f"dump-{args.records}-{what}.{fmt}"
            measured = run_measured([str(UNIKAT), "--home", str(home), "export", *library, "--format", fmt,
                                     "--out", str(out)], log=log)
            results["export"][f"{what} {fmt}"] = {
                "seconds": round(measured.seconds, 2), "records_per_second": round(args.records / measured.seconds),
                "mb": round(out.stat().st_size / 1e6, 1), "peak_mb": round(measured.peak_mb)}
            print(f"export {what:7} {fmt:7}: {measured.seconds:6.1f}s  {args.records / measured.seconds:8,.0f}"
                  f" records/s  {out.stat().st_size / 1e6:7.1f} MB", flush=True)
            out.unlink()
    backups = OUT / f"dumps-backups-{args.records}"
    shutil.rmtree(backups, ignore_errors=True)
    measured = run_measured([str(UNIKAT), "--home", str(home), "backup", str(backups)], log=log)
    (made,) = backups.iterdir()
    size = sum(f.stat().st_size for f in made.iterdir()) / 1e6
    results["backup"] = {"seconds": round(measured.seconds, 2), "mb": round(size, 1)}
    print(f"backup: {measured.seconds:.1f}s, {size:.0f} MB", flush=True)
    restored = OUT / f"dumps-restored-{args.records}"
    shutil.rmtree(restored, ignore_errors=True)
    measured = run_measured([str(UNIKAT), "--home", str(restored), "restore", str(made)], log=log)
    results["restore"] = {"seconds": round(measured.seconds, 2), "peak_mb": round(measured.peak_mb)}
    print(f"restore into an empty home (checks, store copy, search-key files and index rebuilt):"
          f" {measured.seconds:.1f}s", flush=True)
    shutil.rmtree(restored, ignore_errors=True)
    (OUT / "dumps.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"results in {OUT / 'dumps.json'}")


if __name__ == "__main__":
    main()
