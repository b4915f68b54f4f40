"""Rule evaluation speed: the LFER rule over 100k LC titles (never part of the tests' timing).

Two figures, both in titles/s:
- `rule`: the rule alone on every record of `lc_subset(N)`, each parsed (pymarc) and evaluated
  (`index.rules.lfer.evaluate`), no store: the worst case, every title read in full;
- `run`: `index.rules.run.run` over a copy of the benchmark store of N titles (bench/load.py
  builds it; `unikat lfer --all` does the same): titles read from SQLite, those without a URL
  or URN skipped unparsed, verdicts compared with the table and written; run twice (the first
  adds, the second checks).

    .venv/bin/python bench/lfer.py [--size 100000]

Writes bench/out/lfer.json. Wall time depends on what else the machine runs: the CPU seconds of
this process are given beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pymarc  # noqa: E402
from common import OUT, lc_subset, unikat_dir  # noqa: E402

from index.rules.config import VirtualLibraryConfig  # noqa: E402
from index.rules.lfer import evaluate  # noqa: E402
from index.rules.run import run  # noqa: E402
from index.store.catalog import CatalogStore  # noqa: E402


def rule_alone(records: Path) -> dict:
    count = eligible = 0
    started, cpu = time.perf_counter(), time.process_time()
    with open(records, "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            if record is None:
                continue
            count += 1
            eligible += evaluate(record).eligible
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"titles": count, "eligible": eligible, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "titles_per_second": round(count / seconds), "titles_per_cpu_second": round(count / cpu)}


def store_runs(size: int) -> dict:
    source = unikat_dir(size) / "catalog.sqlite"
    if not source.exists():
        return {"skipped": f"no benchmark store {source}: run bench/load.py --size {size} first"}
    with tempfile.TemporaryDirectory(dir=OUT) as directory:
        copy = Path(directory) / "catalog.sqlite"
        shutil.copyfile(source, copy)
        store = CatalogStore(copy)
        virtual = {"LFER": VirtualLibraryConfig("LFER", "LFER", "lfer")}
        try:
            result = {}
            for name in ("first", "second"):
                cpu = time.process_time()
                report = run(store, virtual)
                cpu = time.process_time() - cpu
                result[name] = {"titles": report.evaluated, "seconds": round(report.seconds, 2),
                                "cpu_seconds": round(cpu, 2), "titles_per_second": round(report.evaluated / report.seconds),
                                "titles_per_cpu_second": round(report.evaluated / cpu), "changes": dict(report.counts())}
            return result
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    result = {"size": args.size, "rule": rule_alone(lc_subset(args.size)), "run": store_runs(args.size)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "lfer.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
