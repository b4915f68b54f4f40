"""One link-check run over a catalog: collect the URLs, check those due, keep the results,
write the reports. `unikat linkcheck` calls `run_linkcheck`; progress goes to a callback."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.home import Home
from index.links.check import CheckSettings, LinkCheck, check_urls
from index.links.collect import link_uses
from index.links.report import LibraryReport, write_reports

# The module, not the class: index.store.links imports index.links, so LinkResults may not exist yet.
from index.store import links as link_tables
from index.store.catalog import CatalogStore

__all__ = ["LinkcheckSummary", "run_linkcheck"]

_BATCH = 200   # checks kept per transaction: an interrupted run loses at most these


@dataclass
class LinkcheckSummary:
    urls: int                      # distinct URLs of the catalog (or of the library)
    checked: int                   # of them checked in this run
    seconds: float
    states: Counter = field(default_factory=Counter)   # state -> URLs checked in this run
    reports: list[LibraryReport] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.checked / self.seconds if self.seconds else 0.0


def run_linkcheck(home: Home, settings: CheckSettings, report_dir: Path, *, library: str | None = None,
                  since_days: float | None = None, names: dict[str, str] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> LinkcheckSummary:
    """Check the catalog's URLs (of `library` only, if given; with `since_days`, only those not
    checked within that many days), keep the results with their history, and write the
    per-library reports of broken and moved links into `report_dir`."""
    store = CatalogStore.of(home)
    try:
        uses = list(link_uses(store, library))
    finally:
        store.close()
    results = link_tables.LinkResults.of(home)
    try:
        urls = list(dict.fromkeys(use.url for use in uses))
        due = results.due(urls, since_days)
        summary = LinkcheckSummary(len(urls), len(due), 0.0)
        batch: list[LinkCheck] = []

        def keep(check: LinkCheck) -> None:
            batch.append(check)
            summary.states[check.state.value] += 1
            if len(batch) >= _BATCH:
                results.record(batch)
                batch.clear()

        started = time.monotonic()
        try:
            check_urls(due, settings, keep, progress)
        finally:
            results.record(batch)   # what was checked before an interrupt is kept
        summary.seconds = time.monotonic() - started
        summary.reports = write_reports(uses, results.statuses(urls), report_dir, names)
        return summary
    finally:
        results.close()
