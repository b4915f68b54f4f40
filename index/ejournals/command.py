"""`unikat ejournals`: writes the e-journal lists of a home (HTML, Dublin Core XML, CSV)."""

from __future__ import annotations

from pathlib import Path

from index.ejournals.dcterms import write_dcterms
from index.ejournals.pages import write_csv, write_pages
from index.ejournals.select import electronic_serials
from index.home import Home
from index.store.catalog import CatalogStore
from index.store.links import LinkResults

__all__ = ["ejournals", "write_lists"]


def write_lists(home: Home, out: Path) -> tuple[int, list[Path]]:
    """Write every list into `out`; returns (titles, files written)."""
    config = home.config()
    store = CatalogStore.of(home)
    try:
        journals = list(electronic_serials(store))
    finally:
        store.close()
    results = LinkResults.of(home)
    try:
        statuses = results.statuses(url for journal in journals for url in journal.urls)
    finally:
        results.close()
    out.mkdir(parents=True, exist_ok=True)
    names = {code: library.name for code, library in config.libraries.items()}
    pages = write_pages(journals, statuses, out, config.name, names)
    write_csv(journals, statuses, out / "ejournals.csv")
    write_dcterms(journals, out / "ejournals-dcterms.xml")
    return len(journals), [*pages, out / "ejournals.csv", out / "ejournals-dcterms.xml"]


def ejournals(home: Home, out: Path | None) -> int:
    out = out or home.root / "ejournals"
    titles, files = write_lists(home, out)
    print(f"{titles} electronic serials: {len(files)} files in {out} (open {out / 'index.html'})")
    return 0
