"""Load and index counters, read from the catalog store when /metrics is scraped.

Loads run in their own processes (`unikat load`, `unikat index`), not in the server, so what
they did is read where they write it: the store's `loads` table (records read, new, updated,
unchanged, deleted, rejected, merged, summed over all loads), titles and deleted titles, and
the titles waiting for the index (`pending`). A few SQL counts over small tables and indexes,
paid by the scrape, never by a request.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from index.search import Catalog

__all__ = ["CatalogCollector"]

_OUTCOMES = ("read", "new", "updated", "unchanged", "deleted", "rejected", "merged")


class CatalogCollector(Collector):
    """The catalog's loads, titles and index backlog, as of the scrape."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def collect(self) -> Iterator[object]:
        db = self.catalog.store.db
        row = db.execute("SELECT count(*), count(finished), " + ", ".join(f"coalesce(sum({o}), 0)" for o in _OUTCOMES)
                         + " FROM loads").fetchone()
        loads = CounterMetricFamily("unikat_loads", "Loads started (unikat load), by state", labels=("state",))
        loads.add_metric(("finished",), row[1])
        loads.add_metric(("unfinished",), row[0] - row[1])
        yield loads
        records = CounterMetricFamily("unikat_load_records", "Records of all loads, by outcome", labels=("outcome",))
        for outcome, count in zip(_OUTCOMES, row[2:], strict=True):
            records.add_metric((outcome,), count)
        yield records
        titles = GaugeMetricFamily("unikat_titles", "Titles in the catalog (authority records included)")
        titles.add_metric((), db.execute("SELECT count(*) FROM titles").fetchone()[0])
        yield titles
        deleted = CounterMetricFamily("unikat_titles_deleted", "Titles deleted (reported by OAI-PMH)")
        deleted.add_metric((), db.execute("SELECT count(*) FROM deleted_titles").fetchone()[0])
        yield deleted
        pending = GaugeMetricFamily("unikat_index_pending_titles",
                                    "Titles changed or deleted in the store and not yet in the index")
        pending.add_metric((), db.execute("SELECT count(*) FROM pending").fetchone()[0])
        yield pending
