"""The tables where a PostgreSQL store keeps published index snapshots (`index.replicas`).

`index_blobs` holds file contents once each, by SHA-256, in parts; `index_manifests` names the
files of each generation (relative path -> [digest, size], JSON), with the engine and the
publishing home's unikat.toml. What the files mean and how a home takes them is
`index.replicas`'s; this module only reads and writes the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from index.store.connection import Connection, connection, no_such_table

if TYPE_CHECKING:
    from index.store.catalog import CatalogStore

__all__ = ["Manifest", "add_manifest", "blob_parts", "create_tables", "held_digests", "latest_config",
           "newest", "prune", "put_part"]

_TABLES = """
CREATE TABLE IF NOT EXISTS index_blobs (
    digest TEXT NOT NULL,
    part INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (digest, part)
);
CREATE TABLE IF NOT EXISTS index_manifests (
    generation INTEGER NOT NULL PRIMARY KEY,
    engine TEXT NOT NULL,
    files TEXT NOT NULL,      -- JSON: relative path -> [digest, size]
    config TEXT NOT NULL,     -- the publishing home's unikat.toml
    published TEXT NOT NULL
);
"""

Manifest = tuple[int, str, dict[str, list]]
"""(generation, engine, relative path -> [digest, size])."""


def create_tables(store: Connection | CatalogStore) -> None:
    connection(store).executescript(_TABLES)


def held_digests(store: Connection | CatalogStore) -> set[str]:
    return {row[0] for row in connection(store).execute("SELECT DISTINCT digest FROM index_blobs")}


def put_part(store: Connection | CatalogStore, digest: str, part: int, data: bytes) -> None:
    connection(store).execute("INSERT INTO index_blobs (digest, part, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                              (digest, part, data))


def add_manifest(store: Connection | CatalogStore, engine: str, files: dict[str, list], config: str) -> int:
    """The next generation, naming `files`; returns its number."""
    db = connection(store)
    generation = db.execute("SELECT coalesce(max(generation), 0) + 1 FROM index_manifests").fetchone()[0]
    db.execute("INSERT INTO index_manifests (generation, engine, files, config, published)"
               " VALUES (?, ?, ?, ?, datetime('now'))", (generation, engine, json.dumps(files, sort_keys=True), config))
    return generation


def prune(store: Connection | CatalogStore, keep: int) -> None:
    """Drop the manifests older than the newest `keep`, and the blobs none of those left names."""
    db = connection(store)
    newest_kept = db.execute("SELECT coalesce(max(generation), 0) FROM index_manifests").fetchone()[0]
    db.execute("DELETE FROM index_manifests WHERE generation <= ?", (newest_kept - keep,))
    named = set()
    for (listing,) in db.execute("SELECT files FROM index_manifests"):
        named.update(digest for digest, _size in json.loads(listing).values())
    db.executemany("DELETE FROM index_blobs WHERE digest = ?", [(digest,) for digest in held_digests(db) - named])


def newest(store: Connection | CatalogStore) -> Manifest | None:
    """The newest generation (None: nothing published yet)."""
    row = _newest_row(store, "generation, engine, files")
    return (int(row[0]), row[1], json.loads(row[2])) if row else None


def latest_config(store: Connection | CatalogStore) -> str | None:
    """The unikat.toml that published the newest generation (None: nothing published yet)."""
    row = _newest_row(store, "config")
    return row[0] if row else None


def _newest_row(store: Connection | CatalogStore, columns: str) -> tuple | None:
    try:
        return connection(store).execute(
            f"SELECT {columns} FROM index_manifests ORDER BY generation DESC LIMIT 1").fetchone()
    except no_such_table():   # nothing was ever published
        return None


def blob_parts(store: Connection | CatalogStore, digest: str) -> Iterator[bytes]:
    """The stored parts of `digest` in order, one in memory at a time (none: not stored)."""
    db = connection(store)
    parts = [part for (part,) in db.execute("SELECT part FROM index_blobs WHERE digest = ? ORDER BY part", (digest,))]
    for part in parts:
        yield bytes(db.execute("SELECT data FROM index_blobs WHERE digest = ? AND part = ?",
                               (digest, part)).fetchone()[0])
