"""Regenerating bench/RESULTS.md keeps every section a person wrote: the committed report's
headings all come back when it is rendered again from the committed results."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import report  # noqa: E402


def test_the_committed_report_rendered_again_keeps_every_heading():
    committed = (REPO / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    again = report.render(json.loads((REPO / "bench" / "results.json").read_text()), committed)
    headings = re.compile(r"(?m)^#+ .*$")
    assert headings.findall(again) == headings.findall(committed)
    assert "## Interlibrary loan (bench/ill.py)" in again and "<!-- keep:other -->" in again
