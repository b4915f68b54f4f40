"""Evaluating the rules of the virtual libraries over the catalog, and writing what they say.

`run` evaluates the configured `[virtual.CODE]` rules for some titles (all, those changed since
the last run, or those a load touched) and compares each verdict with the stored rule-built
holding (`index.store.rule_holdings`):

- eligible, none stored: **add** a holding with the rule's URLs;
- eligible, stored with the same URLs: **check**: the holding is re-confirmed, its `checked`
  date set (PICA 8002 `gepr`, as SWB marks re-checked LFER local records);
- eligible, stored with other URLs: **change** the URLs (and check);
- not eligible (no longer licence-free, no longer online, no URL/URN), stored: **remove**.

Evaluation reads first, then one transaction writes (a load waits for it, as for another load).
A title whose holdings changed is marked pending, so the index's library keys (the LFER
database) follow at the next index update; a check alone changes no key. A dry run writes
nothing. `after_load` is the loader's one hook: the titles it touched are those whose display
record changed since the load began (`titles.changed`), which covers new, updated, merged and
re-linked titles; titles the load deleted lose their rule-built holdings too. The hook and
`unikat lfer` also rewrite those titles' print/online edition links (`index.editions`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pymarc

from index import editions
from index.rules import lfer
from index.rules.config import VirtualLibraryConfig
from index.store import rule_holdings as table
from index.store import title_scans
from index.store.catalog import CatalogStore

__all__ = ["Change", "RunReport", "after_load", "run"]

LAST_RUN = "rules.last_run"   # meta key: when `unikat lfer` last evaluated (SQLite datetime, UTC)
_RULES: dict[str, Callable[[pymarc.Record], lfer.Decision]] = {"lfer": lfer.evaluate}


@dataclass(frozen=True)
class Change:
    """One thing a run does (or would do) to a rule-built holding."""

    kind: str                  # add, change, check, remove
    library: str
    isn: int
    title: str
    urls: tuple[str, ...]
    reason: str                # the rule's verdict: why eligible, or why not

    def line(self) -> str:
        sign = {"add": "+", "change": "~", "check": "=", "remove": "-"}[self.kind]
        urls = " ".join(self.urls)
        return f"{sign} {self.library} {self.isn} {self.title[:60]!r} {urls} ({self.reason})".replace("  ", " ")


@dataclass
class RunReport:
    evaluated: int = 0
    changes: list[Change] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    forgotten: int = 0         # holdings of deleted titles dropped

    def counts(self) -> Counter:
        return Counter(change.kind for change in self.changes)

    def summary(self) -> str:
        c = self.counts()
        rate = self.evaluated / self.seconds if self.seconds else 0.0
        would = "would be " if self.dry_run else ""
        return (f"{self.evaluated} titles evaluated in {self.seconds:.2f}s ({rate:,.0f} titles/s): {would}"
                f"{c['add']} added, {c['change']} changed, {c['check']} checked, {c['remove']} removed"
                + (f"; {self.forgotten} of deleted titles dropped" if self.forgotten else ""))


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


_NOTHING = lfer.Decision(False, "neither URL nor URN")


def _decide(display: bytes, bibtype: str, rules: set[str]) -> tuple[dict[str, lfer.Decision], str]:
    """The verdict of each rule on one title, and its title proper (for the report)."""
    if bibtype.startswith("z"):
        return {rule: lfer.Decision(False, "authority record") for rule in rules}, ""
    if b"\x1fu" not in display and b"urn:" not in display.lower():   # no URL, no URN: no rule can hold
        return {rule: _NOTHING for rule in rules}, ""
    record = pymarc.Record(data=display, to_unicode=True, force_utf8=True)
    title = " ".join(record["245"].get_subfields("a", "b")) if record["245"] is not None else ""
    return {rule: _RULES[rule](record) for rule in rules}, title


def run(store: CatalogStore, virtual: dict[str, VirtualLibraryConfig], isns: Sequence[int] | None = None, *,
        dry_run: bool = False, today: str | None = None) -> RunReport:
    """Evaluate the rules of `virtual` for `isns` (None: every title) and add, change, check and
    remove their holdings (module docstring). `today` (YYYY-MM-DD) dates new and checked ones."""
    started = time.monotonic()
    today = today or _today()
    report = RunReport(dry_run=dry_run)
    wanted = list(isns) if isns is not None else None
    stored = {code: table.rule_holdings(store, code, wanted) for code in virtual}
    rules = {library.rule for library in virtual.values()}
    for isn, display, bibtype in title_scans.titles(store, wanted):
        report.evaluated += 1
        verdicts, title = _decide(display, bibtype, rules)
        for code, library in virtual.items():
            change = _compare(code, isn, title, verdicts[library.rule], stored[code].get(isn))
            if change is not None:
                report.changes.append(change)
    if not dry_run:
        with store.transaction():
            report.forgotten = table.forget_deleted_titles(store)
            for change in report.changes:
                _write(store, change, virtual[change.library].rule, stored[change.library].get(change.isn), today)
    report.seconds = time.monotonic() - started
    return report


def _compare(code: str, isn: int, title: str, verdict: lfer.Decision,
             held: table.RuleHolding | None) -> Change | None:
    if not verdict.eligible:
        return Change("remove", code, isn, title, held.urls, verdict.reason) if held is not None else None
    if held is None:
        return Change("add", code, isn, title, verdict.urls, verdict.reason)
    kind = "check" if held.urls == verdict.urls else "change"
    return Change(kind, code, isn, title, verdict.urls, verdict.reason)


def _write(store: CatalogStore, change: Change, rule: str, held: table.RuleHolding | None, today: str) -> None:
    if change.kind == "remove":
        table.remove(store, change.isn, change.library)
    else:
        created = held.created if held is not None else today
        checked = today if held is not None else ""
        table.put(store, table.RuleHolding(change.isn, change.library, rule, change.urls, created, checked))
    if change.kind != "check":   # a check changes no search key nor what a harvester gets
        store.holdings_changed(change.isn)


def run_catalog(store: CatalogStore, virtual: dict[str, VirtualLibraryConfig], *, all_titles: bool = False,
                dry_run: bool = False) -> RunReport:
    """`unikat lfer`: every title (`all_titles`, or the first run), else those changed since the
    last run; the time of this run is kept for the next one (not by a dry run)."""
    now = title_scans.now(store)
    last = store.get_meta(LAST_RUN)
    isns = None if all_titles or not last else title_scans.changed_since(store, last)
    report = run(store, virtual, isns, dry_run=dry_run)
    if not dry_run:
        with store.transaction():   # the edition links of the same titles (a store from before they existed)
            editions.refresh(store, isns if isns is not None else title_scans.isns(store))
        store.set_meta(LAST_RUN, now)
    return report


def after_load(store: CatalogStore, virtual: dict[str, VirtualLibraryConfig], load_id: int) -> RunReport | None:
    """The loader's hook for the titles load `load_id` touched: their edition links
    (`index.editions`) and the virtual libraries' rules (None: no virtual library)."""
    started = title_scans.load_started(store, load_id)
    touched = title_scans.changed_since(store, started) if started is not None else []
    with store.transaction():
        editions.refresh(store, touched)
    return run(store, virtual, touched) if virtual else None
