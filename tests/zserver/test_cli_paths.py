"""`unikat` commands given a path they cannot write (export --out, ejournals --out), or asking
for a password with no terminal and an empty stdin: one line saying why, no traceback."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from conftest import copy_home

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


def test_linkcheck_refuses_a_report_directory_it_cannot_make_before_checking(sample_home, tmp_path, capsys) -> None:
    root = tmp_path / "home"
    copy_home(sample_home, root)
    (tmp_path / "a-file").write_text("x")
    status = main(["--home", str(root), "linkcheck", "--report", str(tmp_path / "a-file")])
    assert status == 1 and capsys.readouterr().err.strip().endswith(f"unikat: File exists: {tmp_path / 'a-file'}")
    with sqlite3.connect(root / "catalog.sqlite") as db:   # no URL was checked (the sample's are not reachable)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "link_status" not in tables or not db.execute("SELECT count(*) FROM link_status").fetchone()[0]


@pytest.mark.parametrize("arguments", [["lfer", "--all"], ["index"], ["load", "--library", "A", "x.mrc"]])
def test_a_command_that_takes_the_load_lock_on_a_missing_home_says_so(tmp_path, capsys, arguments) -> None:
    """As every other command: no unikat.toml, exit 2; no load.lock (nor home directory) made."""
    home = tmp_path / "nowhere"
    assert main(["--home", str(home), *arguments]) == 2
    assert f"no unikat.toml in {home}" in capsys.readouterr().err and not home.exists()
