"""`unikat clusters` given numbers that are none (superscript digits, past SQLite's integers):
one line saying so, exit status 2, no traceback, nothing changed."""

from __future__ import annotations

import pytest
from conftest import copy_home

from zserver.cli import main

HUGE = "9" * 23


@pytest.mark.parametrize(("arguments", "why"), [
    (["clusters", "\u00b2"], "unikat: clusters: unknown command '\u00b2'"),
    (["clusters", HUGE], f"unikat: clusters: unknown command '{HUGE}'"),
    (["clusters", "split", HUGE], f"unikat: clusters split: expected numbers, got '{HUGE}'"),
    (["clusters", "merge", "1", "\u0665"], "unikat: clusters merge: expected numbers, got '1 \u0665'"),
])
def test_a_number_that_is_none_is_one_line(sample_home, tmp_path, capsys, arguments, why) -> None:
    root = tmp_path / "home"
    copy_home(sample_home, root)
    status = main(["--home", str(root), *arguments])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and error == [error[-1]] and error[-1].startswith(why), error


@pytest.mark.parametrize("option", ["--delay", "--retries"])
def test_a_negative_harvest_delay_or_retry_count_is_one_line(home, capsys, option) -> None:
    status = main(["--home", str(home.root), "harvest", "--from", "sru", "http://127.0.0.1:9/", "--all",
                   option, "-5"])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and error == [f"unikat: {option} must be 0 or more, not -5" if option == "--retries"
                                     else f"unikat: {option} must be 0 or more, not -5.0"], error
