"""The SQLite connection behind a store argument.

The store's table modules (`rule_holdings`, `editions`, `loadlog`) take either the
`CatalogStore` (what code outside `index.store` holds: it never touches the connection) or the
connection itself (what `CatalogStore` and the store's own modules hold).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # index.store.catalog imports the table modules that import this one
    from index.store.catalog import CatalogStore

__all__ = ["connection"]


def connection(where: sqlite3.Connection | CatalogStore) -> sqlite3.Connection:
    return where if isinstance(where, sqlite3.Connection) else where.db
