"""The ILL tables in the catalog store (SQLite): accounts, orders, suppliers tried, history.

This module owns the SQL of interlibrary loan and nothing else: it creates its tables beside
the catalog's (CREATE TABLE IF NOT EXISTS, on the catalog store's connection), reads rows into
`index.ill.model` values and writes what `index.ill.service` decided. It decides nothing: no rules, no
routing, no clock (times come in as ISO 8601 text).

Orders get their number from the table's AUTOINCREMENT id (never reused, also after a
deletion) with the network's prefix, so it is unique across every interface and process.
A balance can never go below zero (a CHECK), as a last guard behind the service's test.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict

from index.ill.model import Account, Article, Attempt, Event, Kind, Order, Status
from index.store.catalog import CatalogStore
from index.store.connection import Connection, no_such_table

__all__ = ["IllStore", "ill_account_exists"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ill_accounts (
    access_number TEXT PRIMARY KEY,           -- the library card number
    password_hash TEXT NOT NULL,              -- index.passwords: scrypt$N$r$p$salt$hash
    home_library  TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    balance       INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),   -- units
    quota         INTEGER CHECK (quota IS NULL OR quota >= 0),       -- orders left; NULL: no quota
    orders_placed INTEGER NOT NULL DEFAULT 0,
    created       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ill_orders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    number        TEXT UNIQUE,
    access_number TEXT NOT NULL REFERENCES ill_accounts(access_number),
    home_library  TEXT NOT NULL,
    isn           INTEGER,
    isbd          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    article       TEXT NOT NULL DEFAULT '{}',
    free          INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    supplier      TEXT NOT NULL DEFAULT '',
    deadline      TEXT NOT NULL DEFAULT '',
    units         INTEGER NOT NULL,
    created       TEXT NOT NULL,
    shipped       TEXT NOT NULL DEFAULT '',
    via           TEXT NOT NULL,
    external_id   TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ill_orders_supplier ON ill_orders(supplier, status, kind);
CREATE INDEX IF NOT EXISTS ill_orders_deadline ON ill_orders(status, deadline);
CREATE INDEX IF NOT EXISTS ill_orders_account ON ill_orders(access_number);
CREATE INDEX IF NOT EXISTS ill_orders_external ON ill_orders(external_id) WHERE external_id != '';
CREATE TABLE IF NOT EXISTS ill_attempts (
    order_id    INTEGER NOT NULL REFERENCES ill_orders(id),
    seq         INTEGER NOT NULL,
    library     TEXT NOT NULL,
    call_number TEXT NOT NULL DEFAULT '',
    sent        TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    answered    TEXT NOT NULL DEFAULT '',
    answer      TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (order_id, seq)
);
CREATE TABLE IF NOT EXISTS ill_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES ill_orders(id),
    time     TEXT NOT NULL,
    status   TEXT NOT NULL,
    library  TEXT NOT NULL DEFAULT '',
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ill_events_order ON ill_events(order_id);
"""

_ORDER_COLUMNS = ("id, number, access_number, home_library, isn, isbd, kind, article, free, status, supplier,"
                  " deadline, units, created, shipped, via, external_id, note")
_OPEN = tuple(status.value for status in Status if status.open)


class IllStore:
    """The ILL tables on the catalog store's SQLite connection."""

    def __init__(self, store: CatalogStore) -> None:
        self.db = store.db
        self.db.executescript(_SCHEMA)

    # -- accounts -------------------------------------------------------------------------
    def add_account(self, access_number: str, password_hash: str, home_library: str, name: str, balance: int,
                    quota: int | None, now: str) -> None:
        self.db.execute("INSERT INTO ill_accounts (access_number, password_hash, home_library, name, balance, quota,"
                        " created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (access_number, password_hash, home_library, name, balance, quota, now))

    def account(self, access_number: str) -> Account | None:
        row = self.db.execute("SELECT access_number, home_library, name, balance, quota, orders_placed"
                              " FROM ill_accounts WHERE access_number = ?", (access_number,)).fetchone()
        return Account(*row) if row else None

    def password_hash(self, access_number: str) -> str | None:
        row = self.db.execute("SELECT password_hash FROM ill_accounts WHERE access_number = ?",
                              (access_number,)).fetchone()
        return row[0] if row else None

    def set_account(self, access_number: str, *, balance: int | None = None, quota: int | None = None,
                    clear_quota: bool = False, placed: int = 0) -> None:
        self.db.execute(
            "UPDATE ill_accounts SET balance = coalesce(?, balance),"
            " quota = CASE WHEN ? THEN NULL ELSE coalesce(?, quota) END, orders_placed = orders_placed + ?"
            " WHERE access_number = ?", (balance, clear_quota, quota, placed, access_number))

    # -- orders ---------------------------------------------------------------------------
    def add_order(self, prefix: str, *, access_number: str, home_library: str, isn: int | None, isbd: str,
                  kind: Kind, article: Article, free: bool, status: Status, units: int, now: str, via: str,
                  external_id: str, note: str) -> tuple[int, str]:
        """Insert an order; returns (id, number)."""
        cursor = self.db.execute(
            "INSERT INTO ill_orders (access_number, home_library, isn, isbd, kind, article, free, status, units,"
            " created, via, external_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (access_number, home_library, isn, isbd, kind.value, json.dumps(asdict(article), ensure_ascii=False),
             int(free), status.value, units, now, via, external_id, note))
        order_id = cursor.fetchone()[0]
        number = f"{prefix}{order_id:09d}"
        self.db.execute("UPDATE ill_orders SET number = ? WHERE id = ?", (number, order_id))
        return order_id, number

    def order_id(self, number: str) -> int | None:
        row = self.db.execute("SELECT id FROM ill_orders WHERE number = ?", (number.strip().upper(),)).fetchone()
        return row[0] if row else None

    def order_by_external(self, external_id: str, access_number: str | None = None) -> int | None:
        """The latest order with the requester's own id (of `access_number`'s orders, if given)."""
        if access_number is None:
            row = self.db.execute("SELECT id FROM ill_orders WHERE external_id = ? ORDER BY id DESC LIMIT 1",
                                  (external_id,)).fetchone()
        else:
            row = self.db.execute("SELECT id FROM ill_orders WHERE external_id = ? AND access_number = ?"
                                  " ORDER BY id DESC LIMIT 1", (external_id, access_number)).fetchone()
        return row[0] if row else None

    def set_order(self, order_id: int, *, status: Status, supplier: str | None = None, deadline: str | None = None,
                  shipped: str | None = None) -> None:
        self.db.execute("UPDATE ill_orders SET status = ?, supplier = coalesce(?, supplier),"
                        " deadline = coalesce(?, deadline), shipped = coalesce(?, shipped) WHERE id = ?",
                        (status.value, supplier, deadline, shipped, order_id))

    def add_attempt(self, order_id: int, library: str, call_number: str, sent: str, deadline: str) -> None:
        self.db.execute("INSERT INTO ill_attempts (order_id, seq, library, call_number, sent, deadline)"
                        " VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM ill_attempts WHERE order_id = ?),"
                        " ?, ?, ?, ?)", (order_id, order_id, library, call_number, sent, deadline))

    def close_attempt(self, order_id: int, library: str, answer: str, reason: str, now: str) -> None:
        self.db.execute("UPDATE ill_attempts SET answered = ?, answer = ?, reason = ? WHERE order_id = ? AND"
                        " library = ? AND answer = ''", (now, answer, reason, order_id, library))

    def add_event(self, order_id: int, now: str, status: Status, library: str = "", note: str = "") -> None:
        self.db.execute("INSERT INTO ill_events (order_id, time, status, library, note) VALUES (?, ?, ?, ?, ?)",
                        (order_id, now, status.value, library, note))

    def order(self, order_id: int) -> Order:
        row = self.db.execute(f"SELECT {_ORDER_COLUMNS} FROM ill_orders WHERE id = ?", (order_id,)).fetchone()
        attempts = tuple(Attempt(*r) for r in self.db.execute(
            "SELECT library, call_number, sent, deadline, answered, answer, reason FROM ill_attempts"
            " WHERE order_id = ? ORDER BY seq", (order_id,)))
        history = tuple(Event(time, Status(status), library, note) for time, status, library, note in self.db.execute(
            "SELECT time, status, library, note FROM ill_events WHERE order_id = ? ORDER BY id", (order_id,)))
        return _order(row, attempts, history)

    def order_ids(self, *, supplier: str | None = None, access_number: str | None = None,
                  statuses: Iterable[Status] | None = None, due_before: str | None = None) -> list[int]:
        """Ids of the orders matching every given condition, oldest first."""
        where, args = [], []
        if supplier is not None:
            where.append("supplier = ?")
            args.append(supplier)
        if access_number is not None:
            where.append("access_number = ?")
            args.append(access_number)
        if statuses is not None:
            values = [status.value for status in statuses]
            where.append(f"status IN ({','.join('?' * len(values))})")
            args.extend(values)
        if due_before is not None:
            where.append("deadline != '' AND deadline < ?")
            args.append(due_before)
        sql = "SELECT id FROM ill_orders" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [order_id for (order_id,) in self.db.execute(sql, args)]

    def open_orders(self, libraries: Iterable[str], kind: Kind) -> Mapping[str, int]:
        """library -> its orders of `kind` waiting for an answer (for routing's load)."""
        libraries = list(libraries)
        counts: dict[str, int] = {}
        marks = ",".join("?" * len(_OPEN))
        for start in range(0, len(libraries), 500):
            chunk = libraries[start:start + 500]
            rows = self.db.execute(
                f"SELECT supplier, count(*) FROM ill_orders WHERE supplier IN ({','.join('?' * len(chunk))})"
                f" AND status IN ({marks}) AND kind = ? GROUP BY supplier", (*chunk, *_OPEN, kind.value))
            counts.update(rows)
        return counts


def _order(row: tuple, attempts: tuple[Attempt, ...], history: tuple[Event, ...]) -> Order:
    (_, number, access_number, home_library, isn, isbd, kind, article, free, status, supplier, deadline, units,
     created, shipped, via, external_id, note) = row
    return Order(number, access_number, home_library, isn, isbd, Kind(kind), Article(**json.loads(article)),
                 bool(free), Status(status), supplier, deadline, units, created, shipped, via, external_id, note,
                 attempts, history)


def ill_account_exists(db: Connection, access_number: str) -> bool:
    """Whether `access_number` is an ILL account (False when the store has no ILL tables yet)."""
    try:
        return db.execute("SELECT 1 FROM ill_accounts WHERE access_number = ?", (access_number,)).fetchone() is not None
    except no_such_table():
        return False
