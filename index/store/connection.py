"""The connection behind a store argument: SQLite's, or the PostgreSQL one that speaks like it.

The store's table modules (`rule_holdings`, `editions`, `loadlog`) take either the
`CatalogStore` (what code outside `index.store` holds: it never touches the connection) or the
connection itself (what `CatalogStore` and the store's own modules hold).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from index.store.postgresql import PostgresConnection, UndefinedTable

if TYPE_CHECKING:   # index.store.catalog imports the table modules that import this one
    from index.store.catalog import CatalogStore

__all__ = ["NO_SUCH_TABLE", "Connection", "connection", "is_postgresql"]

Connection = sqlite3.Connection | PostgresConnection

NO_SUCH_TABLE = (sqlite3.OperationalError, UndefinedTable)
"""What a read of a table that a module makes on first use raises while it is not there yet."""


def connection(where: Connection | CatalogStore) -> Connection:
    return where if isinstance(where, (sqlite3.Connection, PostgresConnection)) else where.db


def is_postgresql(where: Connection | CatalogStore) -> bool:
    return isinstance(connection(where), PostgresConnection)
