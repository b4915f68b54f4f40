"""Librarians' cluster overrides and retired title numbers, in the catalog store.

An override (split, merge, keep-apart, pin) names member records by maintenance key (library,
source system, record id), not by row id, so it survives a reload of the same or a changed
delivery and a full re-consolidation; `overrides()` resolves each key to the member record that
has it now (None when a delivery deleted it). Undoing keeps the row, marked undone, so the list
is also the history.

A redirect says that a title number retired by a merge answers as its successor. Redirects
always point at a live title: when the successor is itself merged away, older redirects follow.

What the overrides mean for clustering is `index.consolidation.overrides`' business; this module
only stores them (tables in clusters.sql, made by `CatalogStore.__init__`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.store.catalog import CatalogStore

__all__ = ["Override", "OverrideMember", "add_override", "add_redirect", "has_overrides", "overrides", "redirect",
           "redirects_to", "revive_title", "undo_override"]


@dataclass(frozen=True)
class OverrideMember:
    side: int                  # 0, or 1 for the other side of a split or keep-apart
    library: str
    source_system: str
    source_id: str
    version: str               # the record's version when the override was made
    record_id: int | None      # the member record with this key now (None: deleted since)
    current_version: str       # its version now ('' when deleted)
    isn: int | None            # its title when the override was made


@dataclass(frozen=True)
class Override:
    id: int
    action: str
    isns: tuple[int, ...]
    note: str
    made_by: str
    made: str
    verdicts: dict[str, bool]  # "record id,record id" -> matched, as the matcher said when it was made
    undone: str | None
    undone_by: str | None
    members: tuple[OverrideMember, ...]

    def side(self, number: int) -> list[OverrideMember]:
        return [m for m in self.members if m.side == number]


def add_override(store: CatalogStore, action: str, isns: list[int], note: str, made_by: str,
                 members: list[tuple[int, int]], verdicts: dict[str, bool]) -> int:
    """Store an override naming `members` ((side, record id) each); returns its number."""
    cursor = store.db.execute(
        "INSERT INTO cluster_overrides (action, isns, note, made_by, verdicts) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (action, json.dumps(isns), note, made_by, json.dumps(verdicts, sort_keys=True)))
    number = cursor.fetchone()[0]
    store.db.executemany(
        "INSERT INTO cluster_override_members (override_id, side, library, source_system, source_id, version, isn)"
        " SELECT ?, ?, library, source_system, source_id, version, isn FROM records WHERE id = ?",
        [(number, side, record_id) for side, record_id in members])
    return number


def has_overrides(store: CatalogStore) -> bool:
    """Whether any override is in force (the fast path of loading asks this for every record)."""
    return store.db.execute("SELECT 1 FROM cluster_overrides WHERE undone IS NULL LIMIT 1").fetchone() is not None


def overrides(store: CatalogStore, *, with_undone: bool = False, number: int | None = None) -> list[Override]:
    """The overrides in force (or all, or the one numbered `number`), oldest first, each member
    resolved to the record that has its maintenance key now."""
    where, params = [], []
    if not with_undone:
        where.append("undone IS NULL")
    if number is not None:
        where.append("id = ?")
        params.append(number)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.db.execute("SELECT id, action, isns, note, made_by, made, verdicts, undone, undone_by"
                            f" FROM cluster_overrides{clause} ORDER BY id", params).fetchall()
    result = []
    for row in rows:
        members = store.db.execute(
            "SELECT m.side, m.library, m.source_system, m.source_id, m.version, r.id, coalesce(r.version, ''), m.isn"
            " FROM cluster_override_members m LEFT JOIN records r ON r.library = m.library"
            " AND r.source_system = m.source_system AND r.source_id = m.source_id"
            " WHERE m.override_id = ? ORDER BY m.rowid", (row[0],)).fetchall()
        result.append(Override(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5],
                               json.loads(row[6]), row[7], row[8], tuple(OverrideMember(*m) for m in members)))
    return result


def undo_override(store: CatalogStore, number: int, by: str) -> bool:
    """Mark override `number` undone; False when there is no such override in force."""
    cursor = store.db.execute("UPDATE cluster_overrides SET undone = datetime('now'), undone_by = ?"
                              " WHERE id = ? AND undone IS NULL", (by, number))
    return cursor.rowcount == 1


def add_redirect(store: CatalogStore, old: int, new: int) -> None:
    """Title `old` was merged into `new`: it, and every number that answered as `old`, answer as `new`."""
    if old == new:
        return
    store.db.execute("UPDATE title_redirects SET new = ? WHERE new = ?", (new, old))
    store.db.execute("INSERT INTO title_redirects (old, new) VALUES (?, ?)"
                     " ON CONFLICT (old) DO UPDATE SET new = excluded.new, made = excluded.made", (old, new))
    store.db.execute("DELETE FROM title_redirects WHERE old = new")


def revive_title(store: CatalogStore, isn: int, bibtype: str) -> None:
    """Give retired number `isn` back to a title again (an undone merge): an empty title under it,
    its redirect gone."""
    store.db.execute("DELETE FROM title_redirects WHERE old = ?", (isn,))
    store.db.execute("DELETE FROM deleted_titles WHERE isn = ?", (isn,))
    store.db.execute("INSERT INTO titles (isn, display, bibtype) VALUES (?, ?, ?)", (isn, b"", bibtype))
    store.mark_pending(isn)


def redirect(store: CatalogStore, isn: int) -> int | None:
    """The title that retired number `isn` answers as (None: it is no retired number)."""
    row = store.db.execute("SELECT new FROM title_redirects WHERE old = ?", (isn,)).fetchone()
    return row[0] if row else None


def redirects_to(store: CatalogStore, isn: int) -> list[int]:
    """The retired numbers that answer as title `isn`."""
    return [old for (old,) in store.db.execute("SELECT old FROM title_redirects WHERE new = ? ORDER BY old", (isn,))]
