"""Smoke run of `make bench` (bench/run.py --quick) on 1,000 LC records with very short
measurements, into a temp dir: keeps the benchmark scripts working. It checks that the report
and the JSON are produced with every part, never the figures (benchmarks are not timed tests).
Skips with the reason when Zebra is not installed or the LC records are absent and cannot be
fetched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LC_RECORDS = Path.home() / ".cache" / "lc-books" / "BooksAll.2016.part01.utf8"
GET_LC_BOOKS = REPO.parent / "shared" / "scripts" / "get-lc-books"


def _lc_records_or_skip() -> None:
    if LC_RECORDS.exists():
        return
    if not GET_LC_BOOKS.exists():
        pytest.skip(f"LC records missing ({LC_RECORDS}) and no {GET_LC_BOOKS} to fetch them")
    try:
        subprocess.run([str(GET_LC_BOOKS)], check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"LC records missing and could not be fetched: {error}")


def test_quick_run_writes_a_report(tmp_path: Path) -> None:
    if shutil.which("zebraidx") is None or shutil.which("zebrasrv") is None:
        pytest.skip("Zebra (idzebra-2.0: zebraidx, zebrasrv) is not installed")
    _lc_records_or_skip()
    committed = REPO / "bench" / "RESULTS.md"
    before = committed.stat().st_mtime if committed.exists() else None

    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(tmp_path),
         "--seconds", "0.3", "--clients", "1,2"],
        capture_output=True, text=True, timeout=85, cwd=REPO)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = (tmp_path / "RESULTS.md").read_text()
    for heading in ("## The machine", "## Load and index", "## Z39.50, 1,000 records", "## SRU, 1,000 records",
                    "## Memory while serving", "## Growth", "<!-- keep:analysis -->"):
        assert heading in report
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["machine"]["nproc"] >= 1 and results["load_average_end"]
    assert [entry["records"] for entry in results["load"]] == [1000]
    z3950 = results["z3950"][0]
    assert {(row["clients"], row["mode"]) for row in z3950["runs"]} == {
        (clients, mode) for clients in (1, 2) for mode in ("search", "usmarc", "xml", "scan")}
    for row in z3950["runs"] + results["sru"][0]["runs"]:
        for name in ("unikat", "zebra"):
            assert row[name]["requests"] > 0 and row[name]["errors"] == 0, (row, name)
            assert row[name]["server_pss_mb"] > 0
    assert "title" in z3950["runs"][0]["unikat"]["by_kind"]
    assert (committed.stat().st_mtime if committed.exists() else None) == before
