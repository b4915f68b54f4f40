"""A short run of every fuzz target in fuzz/ (`make fuzz` runs them longer).

Each target runs a few seconds under libFuzzer from its seed corpus; a crash fails the test
with the target's output and the crashing input's path. A crash found this way becomes a
regression test beside the code it concerns.

The test runs with a fixed random seed, so a run explores the same inputs each time (as far as
the seconds reach) and CI does not fail on luck; `make fuzz` draws a new seed each run and
goes further.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
TARGETS = sorted(path.stem for path in FUZZ.glob("*.py") if path.stem != "harness")
SECONDS = 4
SEED = 20261202

pytestmark = pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                                reason="atheris is not installed (pip install atheris): fuzz targets not run")


def test_every_target_is_run() -> None:
    assert set(TARGETS) == {"ber", "http_requests", "iso18626", "itemorder", "oai_tokens", "queries", "records"}


@pytest.mark.parametrize("target", TARGETS)
def test_target_runs_without_a_crash(target: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(FUZZ / f"{target}.py"), f"-max_total_time={SECONDS}", f"-seed={SEED}",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"],
        capture_output=True, text=True, timeout=180, cwd=FUZZ)
    output = "\n".join(line for line in (done.stdout + done.stderr).splitlines()
                       if not line.startswith("INFO: Instrumenting"))
    crashes = sorted(tmp_path.glob("crash-*"))
    assert done.returncode == 0 and not crashes, f"{target}: {crashes}\n{output[-4000:]}"
    assert "stat::number_of_executed_units" in output    # it really fuzzed
