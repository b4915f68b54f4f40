"""What the catalog store's own tables do not keep about loads, kept beside them in the same file:
which source profile a load used, and which member records were deleted when.

- `load_sources`: load id -> the `[sources.NAME]` profile it applied (`unikat load --source`);
  a load without one has no row.
- `deleted_records`: (library, source system, source id, time) of every member record deleted
  from the store, filled by a trigger, so deletions by any path (a load, an ES Update, a future
  tool) are logged without that code knowing. `unikat export --library X --since DATE` lists
  them. The trigger exists from the first opening of the store by a version that has this
  module; deletions before that were not logged.

`CatalogStore` makes tables and trigger (`ensure`, IF NOT EXISTS) when it opens a store, so an
older store gets them on first use and the store's schema file stays as it is. Each function takes the `CatalogStore` or
its connection (`index.store.connection`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.store.connection import Connection, connection, is_postgresql, no_such_table

if TYPE_CHECKING:
    from index.store.catalog import CatalogStore

__all__ = ["deleted_records", "ensure", "load_source", "set_load_source"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS load_sources (
    load_id  INTEGER PRIMARY KEY,
    source   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deleted_records (
    library        TEXT NOT NULL,
    source_system  TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    deleted        TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS deleted_records_time ON deleted_records(library, deleted);
"""
_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS records_deleted AFTER DELETE ON records BEGIN
    INSERT INTO deleted_records (library, source_system, source_id)
    VALUES (old.library, old.source_system, old.source_id);
END;
"""
_TRIGGER_POSTGRESQL = """
CREATE OR REPLACE FUNCTION record_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deleted_records (library, source_system, source_id)
    VALUES (old.library, old.source_system, old.source_id);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER records_deleted AFTER DELETE ON records FOR EACH ROW EXECUTE FUNCTION record_deleted();
"""


def ensure(store: Connection | CatalogStore) -> None:
    """Make the tables and the trigger if the store has none yet (outside a transaction)."""
    db = connection(store)
    if is_postgresql(db):
        db.executescript(_SCHEMA + _TRIGGER_POSTGRESQL)
    elif db.execute("SELECT 1 FROM sqlite_master WHERE name = 'records_deleted'").fetchone() is None:
        db.executescript(_SCHEMA + _TRIGGER)


def set_load_source(store: Connection | CatalogStore, load_id: int, source: str) -> None:
    connection(store).execute("INSERT INTO load_sources (load_id, source) VALUES (?, ?)"
                              " ON CONFLICT (load_id) DO UPDATE SET source = excluded.source", (load_id, source))


def load_source(store: Connection | CatalogStore, load_id: int) -> str:
    """The profile load `load_id` used ("" for none, or a store no load of this version wrote)."""
    try:
        row = connection(store).execute("SELECT source FROM load_sources WHERE load_id = ?", (load_id,)).fetchone()
    except no_such_table():
        return ""
    return row[0] if row else ""


def deleted_records(store: Connection | CatalogStore, library: str,
                    since: str = "") -> list[tuple[str, str, str]]:
    """(source system, source id, time) of `library`'s member records deleted since `since`
    (SQLite datetime text, "" for all) and not delivered again since, oldest first."""
    return connection(store).execute(
        "SELECT d.source_system, d.source_id, max(d.deleted) FROM deleted_records d WHERE d.library = ?"
        " AND d.deleted >= ? AND NOT EXISTS (SELECT 1 FROM records r WHERE r.library = d.library"
        " AND r.source_system = d.source_system AND r.source_id = d.source_id)"
        " GROUP BY d.source_system, d.source_id ORDER BY max(d.deleted), d.source_id", (library, since)).fetchall()
