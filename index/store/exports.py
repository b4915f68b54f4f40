"""The store's side of `unikat export` (`index.dumps`): one read snapshot of the whole store,
read in batches.

- a library's member records as it delivered them, each with the holdings it brought;
- the catalog's titles (not the authority file), each with every library's delivered holdings
  and the rule-built ones of virtual libraries (`index.store.rule_holdings`), except those of
  `hidden` libraries;
- since a time: records of loads started since then, titles changed since then or with a
  member so loaded, and what was deleted since then (`index.store.loadlog`, `deleted_titles`).

A snapshot is one read transaction (SQLite, or PostgreSQL's REPEATABLE READ) on a connection of
its own: a load running meanwhile is either wholly in the dump or not at all. Records come `BATCH` at a time, so memory
does not grow with the store. Which records go out and how they are written is `index.dumps`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from index.records.model import Holding
from index.store import loadlog, rule_holdings
from index.store.connection import is_postgresql

if TYPE_CHECKING:
    from index.store.catalog import CatalogStore

__all__ = ["BATCH", "Item", "Snapshot"]

BATCH = 500

Item = tuple[str, bytes, list[Holding]]
"""(id, ISO 2709 record, holdings) of one record to write."""


class Snapshot:
    """`with Snapshot(store) as snapshot:` reads one state of the store on the store's
    connection, which it closes at the end; it ends (commits the read transaction) when the
    block ends without an error."""

    def __init__(self, store: CatalogStore) -> None:
        self._db = store.db

    def __enter__(self) -> Snapshot:
        try:   # one snapshot for the whole dump (SQLite's WAL, PostgreSQL's MVCC: loads go on meanwhile)
            self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ" if is_postgresql(self._db) else "BEGIN")
        except BaseException:
            self._db.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if kind is None:
                self._db.execute("COMMIT")
        finally:
            self._db.close()

    def library_records(self, library: str, since: str) -> tuple[int, Iterator[list[Item]]]:
        """How many, and the batches of, `library`'s member records (all, or those stored by a
        load started at or after `since`): (source id, record, the holdings it brought)."""
        db = self._db
        condition = "r.library = ?"
        arguments: list = [library]
        if since:
            condition += " AND r.load_id IN (SELECT id FROM loads WHERE started >= ?)"
            arguments.append(since)
        total = db.execute(f"SELECT count(*) FROM records r WHERE {condition}", arguments).fetchone()[0]

        def batches() -> Iterator[list[Item]]:
            for rows in self._pages("r.id, r.source_id, r.marc FROM records r", "r.id", condition, arguments):
                held = self._holdings("r.id", [row[0] for row in rows])
                yield [(source_id, marc, held[record_id]) for record_id, source_id, marc in rows]

        return total, batches()

    def catalog_titles(self, since: str, hidden: frozenset[str]) -> tuple[int, Iterator[list[Item]]]:
        """How many, and the batches of, the catalog's titles (all, or those changed or with a
        member stored by a load started at or after `since`): (ISN, display record, holdings of
        libraries not `hidden`)."""
        db = self._db
        condition = "t.bibtype NOT LIKE 'z%'"   # the authority file is no part of the catalog's dump
        arguments: list = []
        if since:
            condition += (" AND (t.changed >= ? OR t.isn IN (SELECT r.isn FROM records r JOIN loads l"
                          " ON l.id = r.load_id WHERE l.started >= ?))")
            arguments += [since, since]
        total = db.execute(f"SELECT count(*) FROM titles t WHERE {condition}", arguments).fetchone()[0]

        def batches() -> Iterator[list[Item]]:
            for rows in self._pages("t.isn, t.display FROM titles t", "t.isn", condition, arguments):
                isns = [row[0] for row in rows]
                held = self._holdings("r.isn", isns)
                for isn, built in rule_holdings.holdings_of_titles(db, isns).items():   # LFER and its kind
                    held[isn] += built
                yield [(str(isn), display, [h for h in held[isn] if h.library not in hidden]) for isn, display in rows]

        return total, batches()

    def _pages(self, select: str, key: str, condition: str, arguments: list) -> Iterator[list[tuple]]:
        """The rows of `SELECT {select} WHERE {condition}`, `BATCH` at a time in the order of
        `key`, their first column: each page starts after the last key of the one before."""
        last = 0
        while True:
            rows = self._db.execute(f"SELECT {select} WHERE {condition} AND {key} > ? ORDER BY {key} LIMIT {BATCH}",
                                    [*arguments, last]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield rows

    def library_deletions(self, library: str, since: str) -> list[tuple[str, str, str]]:
        """(source system, source id, time) of `library`'s member records deleted since `since`."""
        return loadlog.deleted_records(self._db, library, since)

    def title_deletions(self, since: str) -> list[tuple[int, str]]:
        """(ISN, time) of the titles deleted since `since`, oldest first."""
        return self._db.execute("SELECT isn, deleted FROM deleted_titles WHERE deleted >= ? ORDER BY deleted, isn",
                                (since,)).fetchall()

    def _holdings(self, key_column: str, keys: list[int]) -> dict[int, list[Holding]]:
        """The delivered holdings of the records (`r.id`) or titles (`r.isn`) `keys`."""
        marks = ",".join("?" * len(keys))
        found: dict[int, list[Holding]] = {key: [] for key in keys}
        rows = self._db.execute(f"SELECT {key_column}, h.library, h.location, h.call_number, h.url, h.note, h.copies,"
                                f" h.lendable, h.source_id FROM holdings h JOIN records r ON r.id = h.record_id"
                                f" WHERE {key_column} IN ({marks}) ORDER BY {key_column}, h.library, h.id", keys)
        for key, *values in rows:
            values[6] = bool(values[6])
            found[key].append(Holding(*values))
        return found
