"""The progress display: rate and ETA count from the start of the phase they describe."""

from __future__ import annotations

import pytest

from zserver import cli


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: now[0])
    return now


def test_a_display_counts_from_when_it_was_made(clock, capsys) -> None:
    progress = cli.Progress("indexing", "titles")
    clock[0] += 20
    progress(1000, 4000)
    line = capsys.readouterr().err
    assert "indexing:  25.0%  50 titles/s" in line and "20.0s elapsed" in line and "ETA    60s" in line


def test_a_later_phase_counts_from_its_first_report(clock, capsys) -> None:
    progress = cli.Progress("merging index runs", "terms", later=True)
    clock[0] += 45   # the phase before it
    progress(0, 1000)
    assert capsys.readouterr().err == ""
    clock[0] += 10
    progress(500, 1000)
    line = capsys.readouterr().err
    assert "50.0%  50 terms/s" in line and "10.0s elapsed" in line and "ETA    10s" in line
