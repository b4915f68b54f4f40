"""Peak memory of a `unikat` command by phase: the peak PSS of its whole process tree while each
progress label (`loading …`, `indexing`, `merging index runs`) was the last one on stderr.

    .venv/bin/python bench/phase_memory.py .venv/bin/unikat --home H load --library LC FILE

Samples every 0.2 s; prints one line per phase and the elapsed time. The command's stdout is
discarded. Say what else ran on the machine when quoting the figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time


def process_tree(root: int) -> set[int]:
    """`root` and every process below it."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    parents[int(name)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, grown = {root}, True
    while grown:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grown = bool(below)
    return tree


def pss_mb(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                total += sum(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
        except OSError:
            continue
    return total // 1024


def main(command: list[str]) -> int:
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    phase = "starting"

    def follow() -> None:
        nonlocal phase
        for line in process.stderr:
            label = line.strip().split(":")[0]
            if label:
                phase = label[:40]

    threading.Thread(target=follow, daemon=True).start()
    started = time.monotonic()
    peaks: dict[str, tuple[int, float]] = {}
    while process.poll() is None:
        used = pss_mb(process_tree(process.pid))
        if used > peaks.get(phase, (0, 0.0))[0]:
            peaks[phase] = (used, time.monotonic() - started)
        time.sleep(0.2)
    for name, (used, at) in peaks.items():
        print(f"{name:42} peak {used:5} MB at {at:6.1f} s")
    print(f"exit status {process.returncode} after {time.monotonic() - started:.1f} s")
    return process.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
