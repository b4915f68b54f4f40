"""`unikat linkcheck`: checks the home's catalog URLs and prints a one-line summary.
`zserver.cli` parses the arguments and hands them here with its progress display."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from index.home import Home
from index.links.check import CheckSettings
from index.links.run import run_linkcheck
from index.store.catalog import CatalogStore

__all__ = ["known_libraries", "linkcheck", "settings_of"]


def settings_of(home: Home) -> CheckSettings:
    """The `[linkcheck]` section of the home's unikat.toml as the checker's settings."""
    return CheckSettings(**asdict(home.config().linkcheck))


def known_libraries(home: Home) -> dict[str, str]:
    """Library code -> name: the configured libraries and every code that holds something
    (a union delivery brings sigels of libraries that deliver nothing themselves)."""
    names = {code: library.name for code, library in home.config().libraries.items()}
    store = CatalogStore.of(home)
    try:
        for code in store.holding_libraries():
            names.setdefault(code, code)
    finally:
        store.close()
    return names


def linkcheck(home: Home, *, library: str | None, since_days: float | None, report_dir: Path | None,
              progress: Callable[[int, int], None] | None = None) -> int:
    """Run one link check of the home's catalog; 0 when it ran, 2 for a mistake in the call."""
    settings = settings_of(home)   # a wrong [linkcheck] stops here (ConfigError)
    if since_days is not None and since_days < 0:
        print(f"unikat: --since takes a number of days >= 0, not {since_days:g}", file=sys.stderr)
        return 2
    names = known_libraries(home)
    if library is not None and library not in names:
        print(f"unikat: library {library!r} neither configured nor holding anything (known: "
              f"{', '.join(sorted(names)) or 'none'})", file=sys.stderr)
        return 2
    report_dir = report_dir or home.root / "linkcheck"
    report_dir.mkdir(parents=True, exist_ok=True)   # a directory we cannot write fails now, not after the check
    summary = run_linkcheck(home, settings, report_dir, library=library, since_days=since_days,
                            names=names, progress=progress)
    states = ", ".join(f"{state} {summary.states.get(state, 0)}" for state in ("ok", "moved", "broken", "skipped"))
    left = summary.urls - summary.checked
    print(f"checked {summary.checked} of {summary.urls} URLs in {summary.seconds:.1f}s ({summary.rate:,.1f} URLs/s):"
          f" {states}" + (f"; {left} checked within {since_days:g} days left alone" if left else ""))
    broken = sum(report.broken for report in summary.reports)
    moved = sum(report.moved for report in summary.reports)
    print(f"reports of {len(summary.reports)} libraries ({broken} broken, {moved} moved links in all):"
          f" {report_dir / 'index.html'}")
    return 0
