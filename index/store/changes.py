"""The catalog in change order: titles and deleted titles by the time they last changed.

For harvesters (OAI-PMH) and "changed since" dumps: one ordered list of `Change`s, live titles
by `titles.changed`, deleted ones by `deleted_titles.deleted`, both ordered by (time, ISN).
A page starts after a `Position` (the last change a harvester saw), so a listing needs no
memory between requests: a title changed while a harvest runs moves to a later time and is
met again further on, never skipped. Times are the store's own text, `YYYY-MM-DD HH:MM:SS`
in UTC (SQLite `datetime('now')`); bounds are inclusive, empty means none.

Authority records (bibtype `z…`) are not listed: they are the authority file, not titles.
Titles are read through the store's connection; it knows no protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from index.store.catalog import CatalogStore

__all__ = ["Change", "Position", "change_of", "changes", "earliest_change", "ensure_indexes", "libraries_of"]

# The listing walks these in (time, ISN) order and stops after one page: no sort of the catalog.
_INDEXES = ("CREATE INDEX IF NOT EXISTS titles_changed ON titles(changed, isn);"
            " CREATE INDEX IF NOT EXISTS deleted_titles_deleted ON deleted_titles(deleted, isn);")

# held by a member record's holding or a rule-built one (a virtual library's, index.rules)
_HELD_BY = ("(EXISTS (SELECT 1 FROM records r JOIN holdings h ON h.record_id = r.id"
            " WHERE r.isn = {table}.isn AND h.library = ?)"
            " OR EXISTS (SELECT 1 FROM rule_holdings x WHERE x.isn = {table}.isn AND x.library = ?))")


@dataclass(frozen=True, order=True)
class Position:
    """A place in change order: after the change at `time` of title `isn`."""

    time: str
    isn: int


START = Position("", 0)


@dataclass(frozen=True)
class Change:
    isn: int
    time: str          # YYYY-MM-DD HH:MM:SS (UTC)
    deleted: bool

    @property
    def position(self) -> Position:
        return Position(self.time, self.isn)


def ensure_indexes(store: CatalogStore) -> None:
    """The indexes that make `changes` walk instead of sort (made once; cheap when they exist)."""
    store.db.executescript(_INDEXES)


def changes(store: CatalogStore, *, after: Position = START, since: str = "", until: str = "",
            library: str | None = None, limit: int = 100) -> list[Change]:
    """At most `limit` changes after `after` with a time in [since, until], oldest first. With
    `library`, live titles are those it holds; deleted titles are listed whatever held them
    (nobody knows any more, and a harvester is better told of one deletion too many)."""
    found = [*_page(store, "titles", "changed", after, since, until, library, limit),
             *_page(store, "deleted_titles", "deleted", after, since, until, None, limit)]
    found.sort(key=lambda change: change.position)
    return found[:limit]


def _page(store: CatalogStore, table: str, column: str, after: Position, since: str, until: str,
          library: str | None, limit: int) -> list[Change]:
    where = [f"({column}, isn) > (?, ?)"]
    arguments: list[object] = [after.time, after.isn]
    if since:
        where.append(f"{column} >= ?")
        arguments.append(since)
    if until:
        where.append(f"{column} <= ?")
        arguments.append(until)
    if table == "titles":
        where.append("bibtype NOT LIKE 'z%'")
        if library is not None:
            where.append(_HELD_BY.format(table=table))
            arguments += [library, library]
    rows = store.db.execute(f"SELECT isn, {column} FROM {table} WHERE {' AND '.join(where)}"
                            f" ORDER BY {column}, isn LIMIT ?", (*arguments, limit))
    deleted = table == "deleted_titles"
    return [Change(isn, time, deleted) for isn, time in rows]


def change_of(store: CatalogStore, isn: int) -> Change | None:
    """The last change of title `isn` (its deletion, if deleted); None: no such title, or an
    authority record."""
    row = store.db.execute("SELECT changed, bibtype FROM titles WHERE isn = ?", (isn,)).fetchone()
    if row is not None:
        return None if row[1].startswith("z") else Change(isn, row[0], False)
    row = store.db.execute("SELECT deleted FROM deleted_titles WHERE isn = ?", (isn,)).fetchone()
    return Change(isn, row[0], True) if row is not None else None


def earliest_change(store: CatalogStore) -> str | None:
    """The time of the oldest change listed (None: an empty catalog that never had a title)."""
    times = [row[0] for row in (
        store.db.execute("SELECT min(changed) FROM titles WHERE bibtype NOT LIKE 'z%'").fetchone(),
        store.db.execute("SELECT min(deleted) FROM deleted_titles").fetchone()) if row[0] is not None]
    return min(times, default=None)


def libraries_of(store: CatalogStore, isns: Iterable[int]) -> dict[int, list[str]]:
    """ISN -> codes of the libraries holding it, sorted."""
    isns = list(isns)
    held: dict[int, list[str]] = {isn: [] for isn in isns}
    for start in range(0, len(isns), 500):
        chunk = isns[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for isn, library in store.db.execute(
                f"SELECT r.isn, h.library FROM records r JOIN holdings h ON h.record_id = r.id WHERE r.isn IN ({marks})"
                f" UNION SELECT isn, library FROM rule_holdings WHERE isn IN ({marks}) ORDER BY 1, 2", chunk + chunk):
            held[isn].append(library)
    return held
