"""The connection behind a store argument: SQLite's, or the PostgreSQL one that speaks like it.

The store's table modules (`rule_holdings`, `editions`, `loadlog`) take either the
`CatalogStore` (what code outside `index.store` holds: it never touches the connection) or the
connection itself (what `CatalogStore` and the store's own modules hold).
"""

from __future__ import annotations

import sqlite3
import sys
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:   # index.store.catalog imports the table modules that import this one
    from index.store.catalog import CatalogStore
    from index.store.postgresql import PostgresConnection

__all__ = ["Connection", "connection", "is_postgresql", "no_such_table"]

# psycopg (about 20 MB and 80 ms a process) is imported only where a PostgreSQL store is used
Connection: TypeAlias = "sqlite3.Connection | PostgresConnection"


def no_such_table() -> tuple[type[Exception], ...]:
    """What a read of a table that a module makes on first use raises while it is not there yet
    (psycopg's error only once PostgreSQL is in use: nothing else can raise it)."""
    postgresql = sys.modules.get("index.store.postgresql")
    return (sqlite3.OperationalError,) if postgresql is None else (sqlite3.OperationalError, postgresql.UndefinedTable)


def connection(where: Connection | CatalogStore) -> Connection:
    from index.store.catalog import CatalogStore  # loaded by the time a store exists

    return where.db if isinstance(where, CatalogStore) else where


def is_postgresql(where: Connection | CatalogStore) -> bool:
    return not isinstance(connection(where), sqlite3.Connection)
