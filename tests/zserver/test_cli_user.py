"""`unikat user set-password` and `unikat user migrate`: hashes written into unikat.toml, the
rest of the file kept; plaintext refused at start with the way out."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE_DATA

from index.config import parse_config
from index.home import Home
from zserver import cli


def unikat(home, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zserver.cli", "--home", str(home), *args],
                          input=stdin, capture_output=True, text=True, cwd=REPO)


@pytest.fixture()
def home(tmp_path) -> Home:
    home = Home(tmp_path / "home")
    home.init((SAMPLE_DATA / "unikat.toml").read_text(encoding="utf-8"))
    return home


def test_set_password_from_stdin_writes_a_hash_and_keeps_the_file(home) -> None:
    before = home.config_path.read_text(encoding="utf-8")
    result = unikat(home.root, "user", "set-password", "cataloguer", "--stdin", stdin="correct horse\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"set the password of cataloguer in {home.config_path};"
                             " a running `unikat serve` takes it up when restarted\n")
    after = home.config_path.read_text(encoding="utf-8")
    assert after.startswith(before) and "correct horse" not in after
    users = home.config().users
    assert users["cataloguer"].verify("correct horse") and users["librarian"].verify("secret")


def test_set_password_asks_twice_on_the_terminal(home, monkeypatch, capsys) -> None:
    answers = iter(["new secret", "new secret", "one", "other"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main(["--home", str(home.root), "user", "set-password", "librarian"]) == 0
    assert home.config().users["librarian"].verify("new secret")
    unchanged = home.config_path.read_text(encoding="utf-8")
    assert cli.main(["--home", str(home.root), "user", "set-password", "librarian"]) == 2
    assert "the two passwords differ; nothing changed" in capsys.readouterr().err
    assert home.config_path.read_text(encoding="utf-8") == unchanged


def test_an_empty_password_is_refused(home, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    before = home.config_path.read_text(encoding="utf-8")
    assert cli.main(["--home", str(home.root), "user", "set-password", "librarian", "--stdin"]) == 2
    assert "empty password refused" in capsys.readouterr().err
    assert home.config_path.read_text(encoding="utf-8") == before


def test_plaintext_stops_unikat_with_the_way_out_and_migrate_hashes_it(home) -> None:
    text = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(text.replace(
        text[text.index("password_hash"):text.index("\n", text.index("password_hash"))], 'password = "hunter2"'))
    refused = unikat(home.root, "stats")
    assert refused.returncode == 2 and "hunter2" not in refused.stderr
    assert "[users.librarian] password: plaintext passwords are refused; `unikat user migrate`" in refused.stderr
    migrated = unikat(home.root, "user", "migrate")
    assert migrated.returncode == 0 and migrated.stdout.startswith("hashed the plaintext passwords of librarian")
    assert "hunter2" not in home.config_path.read_text(encoding="utf-8")
    assert parse_config(home.config_path.read_text(encoding="utf-8")).users["librarian"].verify("hunter2")


def test_without_a_home_it_says_so(tmp_path) -> None:
    result = unikat(tmp_path / "none", "user", "set-password", "x", "--stdin", stdin="pw\n")
    assert result.returncode == 2 and "no unikat.toml in" in result.stderr
