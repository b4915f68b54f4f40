"""Copying a whole catalog store from one backend to the other (SQLite to PostgreSQL and back).

This module owns the copy and its proof, nothing else: it reads the table list, the columns and
the foreign keys from the databases' own catalogs, copies every row by column name, and checks
each table's row count and checksum on both sides before it commits. It knows no titles or
records beyond table names, and never decides which backend a home uses (its unikat.toml does;
`unikat migrate` only prints what to write there).

- The source is read in one snapshot (a read transaction), the target written in one transaction
  (`CatalogStore.transaction`): a refusal, a failed copy or a mismatch leaves the target as it was.
- The target must be empty: every table to be copied without rows (`MigrationRefused`).
- Offered search keys (`handover.pending_keys`, and the `pending_keys` table older stores still
  have) are not copied: they are transient, and a title without them is simply parsed again.
- Referenced tables are copied before the tables that refer to them (the target's foreign keys
  are checked row by row, on PostgreSQL as on SQLite).
- Numbers handed out stay handed out: PostgreSQL's identity sequences and SQLite's
  AUTOINCREMENT counters (`sqlite_sequence`) of the target continue after the highest number
  the source ever gave (an ILL order number is never reused, also after a deletion).
- The target gets the tables modules make on first use (ILL, link checks) as they make them;
  a table of a SQLite source that a PostgreSQL target still lacks is made from the source's
  definition, translated.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

import psycopg

from index.store.catalog import CatalogStore
from index.store.ill import IllStore
from index.store.links import LinkResults

__all__ = ["MigrationError", "MigrationRefused", "MigrationReport", "TableCopy", "migrate"]

BATCH = 1000
"""Rows read and written at a time."""

_TRANSIENT = frozenset({"pending_keys"})   # offered search keys of older stores: never copied
_CURSOR = "unikat_migrate_rows"            # PostgreSQL reads big tables through a server-side cursor

Progress = Callable[[str, int, int], None]
"""progress(step, rows done, rows in all): step is "copying TABLE" or "checking TABLE"."""


class MigrationError(Exception):
    """The copy failed or does not match its source; the target was left as it was."""


class MigrationRefused(MigrationError):
    """The target already holds rows; nothing was written."""


@dataclass(frozen=True)
class TableCopy:
    name: str
    rows: int
    checksum: str   # hex: the sum of the rows' SHA-256 digests modulo 2**256 (`_checksum`)


@dataclass(frozen=True)
class MigrationReport:
    source: str     # backend names: "sqlite" or "postgresql"
    target: str
    tables: tuple[TableCopy, ...]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    def summary(self) -> str:
        return (f"copied {len(self.tables)} tables, {self.rows} rows from {self.source} to {self.target}"
                f" in {self.seconds:.1f}s; row counts and checksums verified")


def migrate(source: CatalogStore, target: CatalogStore, *, progress: Progress | None = None) -> MigrationReport:
    """Copy every table of `source` into the empty store `target` and verify the copy (see the
    module docstring). Raises `MigrationRefused` when the target holds rows, `MigrationError`
    when a row cannot be written or a table's count or checksum differs on the target (the
    table named); the target is then unchanged."""
    started = time.monotonic()
    _make_tables(target)
    copies = []
    with _snapshot(source), target.transaction():
        tables = [table for table in _tables(source) if table not in _TRANSIENT]
        present = set(_tables(target))
        _refuse_unless_empty(target, [table for table in tables if table in present])
        for table in tables:
            if table not in present:
                _create(source, target, table)
        for table in _dependency_order(target, tables):
            copies.append(_copy(source, target, table, progress))
        _continue_numbering(source, target, tables)
        for copy in copies:   # before COMMIT: a mismatch rolls the whole copy back
            rows, checksum = _checksum(target, copy.name, _columns(source, copy.name), progress)
            if (rows, checksum) != (copy.rows, copy.checksum):
                raise MigrationError(f"table {copy.name}: the copy differs from its source ({rows} rows,"
                                     f" checksum {checksum[:16]}; source {copy.rows} rows, {copy.checksum[:16]});"
                                     " nothing written")
    return MigrationReport(source.backend, target.backend, tuple(copies), time.monotonic() - started)


def _make_tables(store: CatalogStore) -> None:
    """The tables modules make on first use, made as they make them (opening the store made the rest)."""
    IllStore(store)
    LinkResults(store.path, store.dsn).close()


@contextmanager
def _snapshot(store: CatalogStore) -> Iterator[None]:
    """Read `store` as it is at one moment, while a server may go on writing to it."""
    if store.backend == "postgresql":
        store.db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        store.db.execute("BEGIN")   # WAL: every read of the transaction sees the first one's moment
    try:
        yield
    finally:
        store.db.execute("ROLLBACK")   # read only: nothing to keep


# -- what the databases' catalogs say ----------------------------------------------------------
def _tables(store: CatalogStore) -> list[str]:
    """The store's own tables (not SQLite's internal ones, not the attached or separate `handover`)."""
    if store.backend == "postgresql":
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
               " AND table_type = 'BASE TABLE' ORDER BY table_name")
    else:
        sql = "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name"
    return [name for (name,) in store.db.execute(sql)]


def _columns(store: CatalogStore, table: str) -> list[str]:
    if store.backend == "postgresql":
        return [name for (name,) in store.db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? ORDER BY ordinal_position", (table,))]
    return [row[1] for row in store.db.execute(f"PRAGMA main.table_info({_quoted(table)})")]


def _references(store: CatalogStore, tables: Sequence[str]) -> dict[str, set[str]]:
    """Table -> the tables its foreign keys refer to."""
    found: dict[str, set[str]] = {table: set() for table in tables}
    if store.backend == "postgresql":
        rows = store.db.execute("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
                                " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace")
        for table, referenced in rows:
            found.setdefault(table, set()).add(referenced)
    else:
        for table in tables:
            found[table] |= {row[2] for row in store.db.execute(f"PRAGMA main.foreign_key_list({_quoted(table)})")}
    return found


def _dependency_order(target: CatalogStore, tables: Sequence[str]) -> list[str]:
    """`tables` with every referenced table before the tables referring to it."""
    wanted = set(tables)
    references = _references(target, tables)
    graph = {table: (references.get(table, set()) & wanted) - {table} for table in tables}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise MigrationError(f"tables refer to each other in a circle ({', '.join(error.args[1])});"
                             " no order to copy them in; nothing written") from None


# -- refusing, making tables --------------------------------------------------------------------
def _refuse_unless_empty(target: CatalogStore, tables: Sequence[str]) -> None:
    filled = []
    for table in tables:
        count = target.db.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0]
        if count:
            filled.append(f"{table} {count}")
    if filled:
        raise MigrationRefused(f"the target {target.backend} store is not empty (rows: {', '.join(filled)});"
                               " migrate copies into an empty store only; nothing written")


def _create(source: CatalogStore, target: CatalogStore, table: str) -> None:
    """Make `table` on a PostgreSQL target as the SQLite source has it, translated as the store's
    schema scripts are. The other way there is no such translation: a SQLite target has every
    table the application makes (`_make_tables`), and a PostgreSQL source's tables are those."""
    if source.backend != "sqlite" or target.backend != "postgresql":
        raise MigrationError(f"table {table}: the target has no such table and migrate cannot make it from the"
                             f" {source.backend} source's definition; nothing written")
    for (statement,) in source.db.execute(
            "SELECT sql FROM main.sqlite_master WHERE tbl_name = ? AND type IN ('table', 'index') AND sql IS NOT NULL"
            " ORDER BY type = 'index', name", (table,)).fetchall():
        target.db.executescript(statement + ";")


# -- copying and checking -----------------------------------------------------------------------
def _copy(source: CatalogStore, target: CatalogStore, table: str, progress: Progress | None) -> TableCopy:
    columns = _columns(source, table)
    missing = set(columns) - set(_columns(target, table))
    if missing:
        raise MigrationError(f"table {table}: the target has no column {', '.join(sorted(missing))};"
                             " nothing written")
    total = source.db.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0]
    insert = (f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, columns))})"
              f" VALUES ({', '.join('?' * len(columns))})")
    done, digests = 0, 0
    for batch in _batches(source, table, columns):
        try:
            target.db.executemany(insert, batch)
        except (sqlite3.Error, psycopg.Error) as error:   # the database's own words, with the table named
            raise MigrationError(f"table {table}: {error}; nothing written") from error
        digests += sum(_row_digest(row) for row in batch)
        done += len(batch)
        if progress:
            progress(f"copying {table}", done, total)
    if done != total:   # a snapshot does not change under us: a bug if it did
        raise MigrationError(f"table {table}: read {done} rows of {total}; nothing written")
    return TableCopy(table, done, _hex(digests))


def _checksum(store: CatalogStore, table: str, columns: Sequence[str], progress: Progress | None) -> tuple[int, str]:
    """(rows, checksum) of `columns` of `table`."""
    total = store.db.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0]
    done, digests = 0, 0
    for batch in _batches(store, table, columns):
        digests += sum(_row_digest(row) for row in batch)
        done += len(batch)
        if progress:
            progress(f"checking {table}", done, total)
    return done, _hex(digests)


def _batches(store: CatalogStore, table: str, columns: Sequence[str]) -> Iterator[list[tuple]]:
    """The rows of `table` (`columns`, in no particular order), BATCH at a time."""
    select = f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(table)}"
    if store.backend == "sqlite":
        cursor = store.db.execute(select)
        while batch := cursor.fetchmany(BATCH):
            yield batch
        return
    # psycopg would fetch a whole result at once: a cursor on the server hands it out in batches
    store.db.execute(f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR {select}")
    while batch := store.db.execute(f"FETCH FORWARD {BATCH} FROM {_CURSOR}").fetchall():
        yield batch
    store.db.execute(f"CLOSE {_CURSOR}")   # (left early, the transaction's end closes it)


def _row_digest(row: Sequence[object]) -> int:
    """A row's SHA-256 as a number. Each value is typed and length-prefixed, so both backends'
    values read the same (ints as ints, text as UTF-8, BLOB and BYTEA as bytes) and no two rows
    run together. The table's checksum is the sum of its rows' digests modulo 2**256: it needs
    no ORDER BY (which would sort text by each server's collation) and no rows kept in memory."""
    digest = hashlib.sha256()
    for value in row:
        if value is None:
            kind, data = b"N", b""
        elif isinstance(value, int):
            kind, data = b"I", str(int(value)).encode()
        elif isinstance(value, float):
            kind, data = b"F", repr(value).encode()
        elif isinstance(value, str):
            kind, data = b"S", value.encode("utf-8", "surrogatepass")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            kind, data = b"B", bytes(value)
        else:
            raise MigrationError(f"a value of type {type(value).__name__} the checksum does not know: {value!r}")
        digest.update(kind + str(len(data)).encode() + b":" + data)
    return int.from_bytes(digest.digest(), "big")


def _hex(digests: int) -> str:
    return f"{digests % 2 ** 256:064x}"


# -- numbering ----------------------------------------------------------------------------------
def _continue_numbering(source: CatalogStore, target: CatalogStore, tables: Sequence[str]) -> None:
    """Let the target's generated numbers continue after the highest the source gave or holds."""
    given = _numbers_given(source, tables)
    if target.backend == "postgresql":
        for table, column in _identity_columns(target, tables):
            highest = target.db.execute(f"SELECT max({_quoted(column)}) FROM {_quoted(table)}").fetchone()[0] or 0
            last = max(highest, given.get(table, 0))
            if last > 0:
                target.db.execute("SELECT setval(pg_get_serial_sequence(?, ?), ?)", (_quoted(table), column, last))
        return
    counters = {name for (name,) in target.db.execute(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'")}
    for table in sorted(counters & given.keys()):   # SQLite already counts past the rows just inserted
        if target.db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?",
                             (given[table], table)).rowcount == 0:
            target.db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, given[table]))


def _numbers_given(store: CatalogStore, tables: Sequence[str]) -> dict[str, int]:
    """Table -> the last number its counter gave (rows deleted since may have held higher ones
    than the table now does); tables without a counter, or whose counter never counted, are absent."""
    if store.backend == "postgresql":
        given = {}
        for table, column in _identity_columns(store, tables):
            last = store.db.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(?, ?)::regclass)",
                                    (_quoted(table), column)).fetchone()[0]
            if last is not None:
                given[table] = last
        return given
    if store.db.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is None:
        return {}
    return {name: seq for name, seq in store.db.execute("SELECT name, seq FROM main.sqlite_sequence")
            if name in tables}


def _identity_columns(store: CatalogStore, tables: Sequence[str]) -> list[tuple[str, str]]:
    rows = store.db.execute("SELECT table_name, column_name FROM information_schema.columns"
                            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
                            " ORDER BY table_name, column_name").fetchall()
    return [(table, column) for table, column in rows if table in tables]


def _quoted(name: str) -> str:
    """An identifier as both databases read it (`offset` is a reserved word in PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'
