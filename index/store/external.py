"""The external-data catalog's own tables (SQLite), beside the catalog tables of `HOME/external/`.

This module owns the SQL of harvesting and nothing else; `index.external.store` decides what a
harvested record does (new, changed, unchanged, deleted) and calls it. Two tables, made on
first use (CREATE TABLE IF NOT EXISTS on the external catalog store's connection):

- `harvested`: per title, where it came from (source, the server's URL, the protocol, the query
  or set, the remote id), when it was first and last harvested, when it last changed, the
  digest of the record as stored (a harvest that meets it again unchanged writes nothing) and
  the run that last met it (what a complete harvest did not meet is deleted);
- `harvest_state`: per source, the harvest under way or last finished (`HarvestState` as JSON),
  so an interrupted harvest resumes and the next one can be incremental.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.store.catalog import CatalogStore

__all__ = ["HarvestState", "HarvestTables", "Provenance", "harvested_records"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS harvested (
    isn          INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    protocol     TEXT NOT NULL,
    url          TEXT NOT NULL,
    remote_id    TEXT NOT NULL,
    query        TEXT NOT NULL DEFAULT '',
    set_spec     TEXT NOT NULL DEFAULT '',
    first_seen   TEXT NOT NULL,
    harvested    TEXT NOT NULL,
    changed      TEXT NOT NULL,
    digest       BLOB NOT NULL,
    run          INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS harvested_key ON harvested (source, remote_id);
CREATE INDEX IF NOT EXISTS harvested_run ON harvested (source, query, set_spec, run);
CREATE TABLE IF NOT EXISTS harvest_state (
    source       TEXT PRIMARY KEY,
    state        TEXT NOT NULL
);
"""

_PROVENANCE = "isn, source, protocol, url, remote_id, query, set_spec, first_seen, harvested, changed"


@dataclass(frozen=True)
class Provenance:
    """Where an external title came from (a `harvested` row)."""

    isn: int
    source: str
    protocol: str
    url: str
    remote_id: str
    query: str
    set_spec: str
    first_seen: str
    harvested: str
    changed: str


@dataclass
class HarvestState:
    """A source's harvest: what was asked (`protocol`, `url`, `database`, `query`, `set_spec`,
    `mode`), how far it got (`position`: the next record, or the index into the ISBN list;
    `token`: an OAI-PMH resumption token), whether it ran to its end (`complete`), its run
    number, the OAI-PMH responseDate it began at (`began`) and the `began` of the last complete
    harvest (`since`, where an incremental OAI-PMH harvest starts)."""

    source: str
    protocol: str
    url: str
    database: str = ""
    query: str = ""
    set_spec: str = ""
    mode: str = "query"          # query, isbns, all
    position: int = 0
    token: str = ""
    complete: bool = False
    run: int = 0
    began: str = ""
    since: str = ""
    started: str = ""
    finished: str = ""

    def same_request(self, other: HarvestState) -> bool:
        return (self.protocol, self.url, self.database, self.query, self.set_spec, self.mode) == \
            (other.protocol, other.url, other.database, other.query, other.set_spec, other.mode)


class HarvestTables:
    """`harvested` and `harvest_state` on the external catalog store's connection (writes
    happen inside the caller's transaction)."""

    def __init__(self, store: CatalogStore) -> None:
        self.db = store.db
        self.db.executescript(_SCHEMA)

    # -- harvest_state ------------------------------------------------------------------------
    def state(self, source: str) -> HarvestState | None:
        row = self.db.execute("SELECT state FROM harvest_state WHERE source = ?", (source,)).fetchone()
        return HarvestState(**json.loads(row[0])) if row else None

    def save_state(self, state: HarvestState) -> None:
        self.db.execute("INSERT OR REPLACE INTO harvest_state (source, state) VALUES (?, ?)",
                        (state.source, json.dumps(state.__dict__, sort_keys=True)))

    def states(self) -> list[HarvestState]:
        return [HarvestState(**json.loads(row[0]))
                for row in self.db.execute("SELECT state FROM harvest_state ORDER BY source")]

    # -- harvested ----------------------------------------------------------------------------
    def digest(self, isn: int) -> bytes | None:
        """The digest of title `isn` as last stored (None: not a harvested title)."""
        row = self.db.execute("SELECT digest FROM harvested WHERE isn = ?", (isn,)).fetchone()
        return row[0] if row else None

    def met_again(self, isn: int, now: str, run: int, query: str, set_spec: str) -> None:
        """Title `isn` was harvested again (by `run`, found by `query` or in `set_spec`)."""
        self.db.execute("UPDATE harvested SET harvested = ?, run = ?, query = ?, set_spec = ? WHERE isn = ?",
                        (now, run, query, set_spec, isn))

    def changed(self, isn: int, digest: bytes, now: str) -> None:
        self.db.execute("UPDATE harvested SET digest = ?, changed = ? WHERE isn = ?", (digest, now, isn))

    def add(self, provenance: Provenance, digest: bytes, run: int) -> None:
        self.db.execute(
            f"INSERT INTO harvested ({_PROVENANCE}, digest, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (provenance.isn, provenance.source, provenance.protocol, provenance.url, provenance.remote_id,
             provenance.query, provenance.set_spec, provenance.first_seen, provenance.harvested,
             provenance.changed, digest, run))

    def forget(self, isn: int) -> None:
        self.db.execute("DELETE FROM harvested WHERE isn = ?", (isn,))

    def unseen(self, source: str, query: str, set_spec: str, run: int) -> list[tuple[int, int]]:
        """(isn, record id) of the titles of `source`, `query` and `set_spec` that no run since
        `run` met."""
        return self.db.execute(
            "SELECT h.isn, r.id FROM harvested h JOIN records r ON r.isn = h.isn WHERE h.source = ? AND h.query = ?"
            " AND h.set_spec = ? AND h.run < ?", (source, query, set_spec, run)).fetchall()

    def provenance(self, isn: int) -> Provenance | None:
        row = self.db.execute(f"SELECT {_PROVENANCE} FROM harvested WHERE isn = ?", (isn,)).fetchone()
        return Provenance(*row) if row else None

    def counts(self) -> dict[str, int]:
        """source -> records."""
        return dict(self.db.execute("SELECT source, count(*) FROM harvested GROUP BY source ORDER BY source"))


def harvested_records(store_path: Path, source: str | None = None) -> Iterator[tuple[Provenance, bytes]]:
    """(provenance, ISO 2709 record) of every external record (of one source), in ISN order, read
    on a connection of its own (a dump reads while the store's connection is free for others)."""
    reader = sqlite3.connect(str(store_path))
    try:
        columns = ", ".join(f"h.{column}" for column in _PROVENANCE.split(", "))
        rows = reader.execute(
            f"SELECT {columns}, t.display FROM harvested h JOIN titles t ON t.isn = h.isn"
            " WHERE ? IS NULL OR h.source = ? ORDER BY h.isn", (source, source))
        for row in rows:
            yield Provenance(*row[:10]), row[10]
    finally:
        reader.close()
