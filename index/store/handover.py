"""The side file where search keys a load worked out wait for the index phase.

`CatalogStore.offer_keys` keeps them in `pending_keys` of a database of their own, attached to
the store's connection as `handover` (`catalog.handover.sqlite` beside `catalog.sqlite`). They
used to live in the store itself: about 1.9 KB a title, written during a load and deleted once
the titles are indexed, they left that many free pages in the store (189 MB of 550 MB at 100k LC
records), interleaved with the titles' pages. The side file has `auto_vacuum = FULL`, so it
shrinks to a few pages as soon as the index phase has taken the keys, and the store keeps only
what it needs. (Incremental vacuum of the store was the other way: it works only for stores
created with it and has to move the store's pages into the holes.)

A transaction that writes the store and offers keys commits each file on its own (WAL). That is
safe: keys are taken only for a pending title whose display record and holdings still give the
keys' digest (`index.loading.handover`), so keys whose title did not commit are never used, and a
title whose keys did not commit is parsed again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index.store.connection import Connection, is_postgresql

SCHEMA = "handover"
"""The attached database's name; its table is `handover.pending_keys`."""


def side_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.stem + ".handover.sqlite")


_TABLE = f"CREATE TABLE IF NOT EXISTS {SCHEMA}.pending_keys (isn INTEGER PRIMARY KEY, digest BLOB NOT NULL, keys BLOB NOT NULL)"


def attach(db: Connection, store_path: Path) -> bool:
    """Attach the side file to the store's connection (created on first use); False when it
    cannot be (a read-only home: the store is only read there, and keys are then not offered).
    On PostgreSQL, `handover` is a schema of the store's database: free space there is the
    server's to reuse, and every loading host reaches it."""
    if is_postgresql(db):
        db.executescript(_TABLE + ";")
        return True
    try:
        db.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (str(side_path(store_path)),))
    except sqlite3.OperationalError:
        return False
    try:
        # auto_vacuum takes effect only before the first table is made
        db.execute(f"PRAGMA {SCHEMA}.auto_vacuum = FULL")
        db.execute(f"PRAGMA {SCHEMA}.journal_mode = WAL")
        db.execute(f"PRAGMA {SCHEMA}.synchronous = NORMAL")
        db.execute(_TABLE)
    except sqlite3.OperationalError:   # read-only file system, or the file is not ours to write
        db.execute(f"DETACH DATABASE {SCHEMA}")
        return False
    return True
