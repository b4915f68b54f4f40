"""An external-data catalog for tests of what uses it (backup, export, the web page): records of
library A's sample file stored as a harvest would store them (`index.external`), indexed."""

from __future__ import annotations

import pymarc
from conftest import SAMPLE_DATA

from index.external import ExternalRecord, ExternalStore, HarvestState
from index.external.store import preparer
from index.home import Home
from index.loading import indexing

SOURCE = "remote"
URL = "http://example.org/sru"
QUERY = "dc.title=history"


def harvested(home: Home, count: int = 40) -> None:
    """Store the first `count` records of lib-a.mrc in `home`'s external catalog, as source
    `SOURCE` harvested over SRU with `QUERY`, and build its index."""
    with (SAMPLE_DATA / "lib-a.mrc").open("rb") as source:
        reader = pymarc.MARCReader(source, to_unicode=True, force_utf8=True)
        records = [next(reader) for _ in range(count)]
    store = ExternalStore(home)
    try:
        state = HarvestState(SOURCE, "sru", URL, query=QUERY, run=1)
        check = preparer(SOURCE, "marcxml")
        with store.catalog.transaction():
            for number, record in enumerate(records):
                store.put(state, ExternalRecord(f"r{number}", pymarc.record_to_xml(record, namespace=True)), check)
        indexing.update(store.home, store.catalog)
    finally:
        store.close()
