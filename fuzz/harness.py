"""Runs one fuzz target under libFuzzer (atheris), with a seed corpus from tests/data.

    .venv/bin/python fuzz/<target>.py [-max_total_time=60] [libFuzzer options] [CORPUS_DIR ...]

Without a corpus directory a temporary one is filled with the target's seeds, so libFuzzer
never writes into tests/data. A crash (an exception the target does not expect) stops the run
with exit status 1 and leaves the input as `crash-<sha1>` (see -artifact_prefix); turn it into a
regression test in tests/, then fix the code. `make fuzz` runs every target for a while; the
test suite runs each for a few seconds (tests/test_fuzz.py).

Why atheris: it is the maintained coverage-guided fuzzer for Python (libFuzzer underneath);
our targets only say what input means and which exceptions are answers, not crashes.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


def run(target: Callable[[bytes], None], seeds: Iterable[Path | bytes]) -> None:
    """Fuzz `target` (bytes -> None; raising is a crash) until libFuzzer's limits stop it.
    `seeds` are files or the bytes of inputs."""
    args = list(sys.argv)
    if not any(not argument.startswith("-") for argument in args[1:]):
        corpus = Path(tempfile.mkdtemp(prefix="unikat-fuzz-"))
        for number, seed in enumerate(seeds):
            (corpus / f"seed-{number}").write_bytes(seed if isinstance(seed, bytes) else seed.read_bytes())
        args.append(str(corpus))
    atheris.Setup(args, target)
    atheris.Fuzz()


def pick(data: bytes, choices: int) -> tuple[int, bytes]:
    """The first byte chooses one of `choices` (a parser, a split point), the rest is input."""
    if not data:
        return 0, b""
    return data[0] % choices, data[1:]
