"""`unikat lfer [--all] [--dry-run]`: the virtual libraries' rules over the catalog.

Prints one line per change (`+` added, `~` URLs changed, `-` removed; checks are counted, not
listed, unless `verbose`), then the summary, and brings the index up to date (the LFER
database's library keys). Refuses, with the reason, when unikat.toml has no `[virtual.CODE]`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from index.home import Home
from index.loading import indexing
from index.rules.run import run_catalog
from index.store.catalog import CatalogStore


def lfer(home: Home, *, all_titles: bool = False, dry_run: bool = False, verbose: bool = False,
         out: Callable[[str], None] = print) -> int:
    """Run the rules; returns the exit status (2: nothing configured)."""
    virtual = home.config().virtual
    if not virtual:
        print(f"unikat: no virtual library in {home.config_path}: add a [virtual.LFER] table (rule = \"lfer\")",
              file=sys.stderr)
        return 2
    store = CatalogStore.of(home)
    try:
        report = run_catalog(store, virtual, all_titles=all_titles, dry_run=dry_run)
        for change in report.changes:
            if change.kind != "check" or verbose:
                out(change.line())
        names = ", ".join(f"{code} ({library.rule})" for code, library in virtual.items())
        out(f"{names}: {report.summary()}")
        if not dry_run:
            written, removed = indexing.update(home, store)
            out(f"index updated: {written} titles written, {removed} removed")
    finally:
        store.close()
    return 0
