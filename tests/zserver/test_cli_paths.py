"""`unikat` commands given a path they cannot write (export --out, ejournals --out), or asking
for a password with no terminal and an empty stdin: one line saying why, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zserver.cli import main


@pytest.mark.parametrize(("arguments", "why"), [
    (["export", "--out", "{tmp}/no/such/dir/all.mrc"], "No such file or directory: {tmp}/no/such/dir/all.mrc"),
    (["ejournals", "--out", "{tmp}/a-file"], "File exists: {tmp}/a-file"),
])
def test_a_path_that_cannot_be_written_is_one_line(sample_home, tmp_path, capsys, arguments, why) -> None:
    (tmp_path / "a-file").write_text("x")
    status = main(["--home", str(sample_home.root), *(a.format(tmp=tmp_path) for a in arguments)])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and error[-1].startswith("unikat: " + why.format(tmp=tmp_path)), error
    assert "Traceback" not in "\n".join(error)


@pytest.mark.parametrize("arguments", [["user", "set-password", "librarian"],
                                       ["ill", "account", "create", "4711", "--library", "A"]])
def test_a_password_prompt_without_a_terminal_is_one_line(home, arguments) -> None:
    done = subprocess.run([sys.executable, "-m", "zserver.cli", "--home", str(home.root), *arguments],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          start_new_session=True)   # no controlling terminal: getpass reads stdin
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and lines[-1].startswith("unikat: no password given: stdin ended"), done.stderr
    assert "Traceback" not in done.stderr
