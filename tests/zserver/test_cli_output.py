"""`unikat` output to a reader that goes away (`| head`), and a record that is not there."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(home, *args: str, close_stdout: bool = False) -> tuple[int, str, str]:
    process = subprocess.Popen([sys.executable, "-m", "zserver.cli", "--home", str(home.root), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if close_stdout:   # the reader is gone before the first line: every write meets a closed pipe
        process.stdout.close()
        stderr = process.stderr.read()
        return process.wait(60), "", stderr
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


@pytest.mark.parametrize("command", [("stats",), ("clusters",), ("show", "1", "--format", "text"),
                                     ("show", "1", "--format", "marc")])
def test_a_closed_pipe_ends_quietly(sample_home, command) -> None:
    status, _, stderr = run(sample_home, *command, close_stdout=True)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert status == 141   # as a program killed by SIGPIPE


def test_show_of_a_missing_record_says_so(sample_home) -> None:
    missing = 99_999_999
    status, stdout, stderr = run(sample_home, "show", str(missing))
    assert status == 1 and stdout == ""
    assert stderr == f"unikat: no record {missing} (it may have been deleted)\n"
