"""A real zebrasrv for the tests (Z39.50 and SRU on one port), set up as bench/common.py sets
up the benchmark's: zebraidx over the given MARC records, then zebrasrv on a free port."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def bench_common() -> ModuleType:
    """bench/common.py (bench/ is no package: imported from its folder)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import common
    finally:
        sys.path.remove(str(REPO / "bench"))
    return common


def start_zebra(directory: Path, records: Path, abs_rules: str = "") -> tuple[int, subprocess.Popen]:
    """(port, process) of zebrasrv over `records` indexed in `directory`/db (`abs_rules`: lines
    added to the stock marc21.abs); skips the test with the reason when Zebra is not installed."""
    for tool in ("zebraidx", "zebrasrv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: Debian idzebra-2.0 (`make clients` installs it)")
    common = bench_common()
    config = common.zebra_config(directory / "db", abs_rules=abs_rules)
    for step in (["update", str(records)], ["commit"]):
        subprocess.run(["zebraidx", "-c", str(config), *step], cwd=directory / "db", check=True, capture_output=True)
    port = common.free_port()
    server = common.yazgfs_config(directory / "yazgfs.xml", directory / "db", port)
    process = subprocess.Popen(["zebrasrv", "-f", str(server), "-l", str(directory / "zebrasrv.log")],
                               cwd=directory / "db")
    try:
        common.wait_for_port(port, 30, process)
    except BaseException:
        stop_zebra(process)
        raise
    return port, process


def stop_zebra(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)
