"""Shared pieces of the benchmarks: LC record subsets, Zebra set-up, measured child processes.

Benchmarks compare unikat with Index Data's Zebra on the same records and queries in the same
run. They are never part of the test suite's timing; a smoke run on 1,000 records keeps them
working.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
LC_SCRIPT = REPO.parent / "shared" / "scripts" / "get-lc-books"
LC_DEFAULT = Path.home() / ".cache" / "lc-books" / "BooksAll.2016.part01.utf8"
ZEBRA_MODULES = "/usr/lib/x86_64-linux-gnu/idzebra-2.0/modules"


def lc_books() -> Path:
    """The 250,000 LC records, fetched with ../shared/scripts/get-lc-books when missing."""
    if LC_DEFAULT.exists():
        return LC_DEFAULT
    if not LC_SCRIPT.exists():
        raise SystemExit(f"LC records missing and {LC_SCRIPT} not found")
    path = subprocess.run([str(LC_SCRIPT)], check=True, capture_output=True, text=True).stdout.strip()
    return Path(path)


def lc_subset(count: int) -> Path:
    """A file with the first `count` LC records (cached in bench/out)."""
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"lc-{count}.mrc"
    if target.exists():
        return target
    # Streamed: holding the 240 MB file in this process would inflate every forked child's peak memory.
    with open(lc_books(), "rb") as source, open(target, "wb") as out:
        for _ in range(count):
            head = source.read(5)
            if len(head) < 5:
                break
            out.write(head + source.read(int(head) - 5))
    return target


def run_measured(command: list[str], *, cwd: Path | None = None, log: Path | None = None) -> tuple[float, float]:
    """Run a command; returns (wall seconds, peak resident memory in MB of the process and its children)."""
    started = time.monotonic()
    with open(log or os.devnull, "wb") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed (see {log})")
    return seconds, usage.ru_maxrss / 1024


def zebra_available() -> bool:
    return shutil.which("zebraidx") is not None and shutil.which("zebrasrv") is not None


def zebra_config(directory: Path) -> Path:
    """A zebra.cfg for MARC21 in `directory` (as ../shared/anchors/zebra.md verified)."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "reg").mkdir(parents=True)
    config = directory / "zebra.cfg"
    config.write_text(
        "profilePath: /usr/share/idzebra-2.0/tab\n"
        "attset: bib1.att\nattset: explain.att\n"
        "recordType: grs.marcxml.marc21\n"
        f"modulePath: {ZEBRA_MODULES}\n"
        f"register: {directory}/reg:4G\nshadow: {directory}/reg:1G\n"
    )
    return config


def directory_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def unikat_home(directory: Path, library: str = "LC") -> Path:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / "unikat.toml").write_text(
        f'[catalog]\nname = "benchmark"\n[libraries.{library}]\nsource_system = "LC"\nholdings = "record"\n'
    )
    return directory


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "-"
