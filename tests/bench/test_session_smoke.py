"""Smoke run of bench/session.py (one yaz-client session against unikat and Zebra) on 1,000 LC
records, one timed session each, into a temp dir: keeps the script working. The unikat side is
started from a source directory (`--unikat-src`, the way "before" figures are taken), here this
checkout. It checks what the session answered and that the JSON and the report section are
written, never the figures. Skips with the reason when yaz-client or Zebra is not installed or
the LC records are absent and cannot be fetched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.test_bench_smoke import _lc_records_or_skip

REPO = Path(__file__).resolve().parents[2]


def test_session_against_both_servers(tmp_path: Path) -> None:
    for tool in ("yaz-client", "zebraidx", "zebrasrv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian packages yaz, idzebra-2.0)")
    _lc_records_or_skip()
    committed = REPO / "bench" / "RESULTS.md"
    before = committed.stat().st_mtime if committed.exists() else None

    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "session.py"), "--sizes", "1000", "--repetitions", "1",
         "--out", str(tmp_path), "--unikat-src", str(REPO), "--label", "smoke"],
        capture_output=True, text=True, timeout=150, cwd=REPO)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    entry, = json.loads((tmp_path / "results.json").read_text())["session"]
    assert (entry["records"], entry["label"], entry["searches"], entry["presents"]) == (1000, "smoke", 540, 100)
    for name in ("unikat", "zebra"):
        assert entry[name]["answered_all"] and entry[name]["diagnostics"] == 0, name
        assert entry[name]["seconds"] > 0 and entry[name]["server_cpu_seconds"] > 0, name
    log = (tmp_path / "session-1000-unikat.log").read_text()
    assert log.count("Search was a success.") == 540 and log.count("Records: 10\n") == 100
    report = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- keep:session -->\n## One yaz-client session" in report and "| 1,000 | smoke" in report
    assert (committed.stat().st_mtime if committed.exists() else None) == before
