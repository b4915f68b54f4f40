"""Counting connections and logging refusals, without Twisted (issue 16: no cap on connections)."""

from __future__ import annotations

import pytest

from zserver.net.admission import FD_RESERVE, Admission, ConnectionLimits, RefusalLog, fit_file_limit


def test_admission_limits_in_all_and_per_address():
    admission = Admission(ConnectionLimits(max_connections=3, max_connections_per_address=2))
    assert admission.admit("10.0.0.1") is None
    assert admission.admit("10.0.0.1") is None
    assert admission.admit("10.0.0.1") == "too many connections from 10.0.0.1 (2 open); try again later"
    assert admission.admit("10.0.0.2") is None
    assert admission.admit("10.0.0.3") == "too many connections (3 open); try again later"
    assert admission.admit(None) == "too many connections (3 open); try again later"
    assert admission.total == 3
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.3") is None
    admission.release("10.0.0.2")
    assert admission.admit(None) is None     # no address: only the total counts
    assert admission.total == 3


@pytest.mark.parametrize("soft, hard, expected", [
    (1024, 4096, (400, 1024, False)),     # room enough
    (256, 4096, (400, 500, False)),       # raise the soft limit to what is needed
    (256, -1, (400, 500, False)),         # hard unlimited (RLIM_INFINITY)
    (-1, -1, (400, -1, False)),
    (256, 300, (200, 300, True)),         # even the hard limit is low: fewer connections
    (50, 50, (1, 50, True)),
])
def test_fit_file_limit(soft, hard, expected):
    usable, new_soft, warning = fit_file_limit(400, soft, hard)
    assert (usable, new_soft, warning is not None) == expected
    if warning is not None:
        assert f"max_connections lowered from 400 to {usable}" in warning
        assert f"ulimit -n) to {400 + FD_RESERVE}" in warning


def test_refusal_log_counts_a_flood_instead_of_logging_it():
    lines: list[str] = []
    log = RefusalLog(lines.append, interval=10)
    assert log.refused(0.0, "10.0.0.1: too many") is False
    assert log.refused(1.0, "10.0.0.1: too many") is True     # first unlogged: arrange a flush
    for second in range(2, 9):
        assert log.refused(float(second), "10.0.0.1: too many") is False
    assert lines == ["refused: 10.0.0.1: too many"]
    log.flush(11.0)
    assert lines[1] == "refused 8 more connection(s) in the last 10s (not logged one by one)"
    log.flush(12.0)
    assert len(lines) == 2
    assert log.refused(15.0, "10.0.0.2: too many") is True     # within 10 s of the count line
    assert log.refused(22.0, "10.0.0.3: too many") is False    # 10 s after: logged, the count first
    assert lines[2:] == ["refused 1 more connection(s) in the last 10s (not logged one by one)",
                         "refused: 10.0.0.3: too many"]
