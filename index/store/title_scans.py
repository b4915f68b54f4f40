"""Reading the titles table for batch jobs: titles in ISN order, titles changed since a time,
when a load began, and the store's own clock.

For `index.rules.run` (the virtual libraries' rules, edition links after a load) and the backup's
sample of titles to search. Times are the store's text, `YYYY-MM-DD HH:MM:SS` in UTC (SQLite
`datetime('now')`), the same clock that stamps `titles.changed` and `loads.started`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from index.store.catalog import CatalogStore

__all__ = ["catalog_isns", "changed_since", "isns", "load_started", "now", "titles"]

_CHUNK = 2000


def now(store: CatalogStore) -> str:
    """The store's time now (to compare with `changed` later)."""
    return store.db.execute("SELECT datetime('now')").fetchone()[0]


def changed_since(store: CatalogStore, since: str) -> list[int]:
    """ISNs of the titles whose display record changed at or after `since`, in ISN order."""
    return [isn for (isn,) in store.db.execute("SELECT isn FROM titles WHERE changed >= ? ORDER BY isn", (since,))]


def titles(store: CatalogStore, isns: Sequence[int] | None) -> Iterator[tuple[int, bytes, str]]:
    """(ISN, display record, bibtype) of the given titles, or of all, in ISN order."""
    if isns is None:
        yield from store.db.execute("SELECT isn, display, bibtype FROM titles ORDER BY isn")
        return
    for start in range(0, len(isns), _CHUNK):
        chunk = list(isns[start:start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        yield from store.db.execute(f"SELECT isn, display, bibtype FROM titles WHERE isn IN ({marks}) ORDER BY isn",
                                    chunk).fetchall()


def isns(store: CatalogStore) -> list[int]:
    """Every title's ISN, authority records too."""
    return [isn for (isn,) in store.db.execute("SELECT isn FROM titles")]


def catalog_isns(store: CatalogStore) -> list[int]:
    """The ISNs of the catalog's titles (not the authority file's, bibtype `z…`), in ISN order."""
    return [isn for (isn,) in store.db.execute("SELECT isn FROM titles WHERE bibtype NOT LIKE 'z%' ORDER BY isn")]


def load_started(store: CatalogStore, load_id: int) -> str | None:
    """When load `load_id` began (None: no such load)."""
    row = store.db.execute("SELECT started FROM loads WHERE id = ?", (load_id,)).fetchone()
    return row[0] if row else None
