"""The external-data catalog's store: records harvested from other servers, kept apart.

It is a catalog home of its own inside the main one (`HOME/external/`: `catalog.sqlite`,
`searchkeys/`, the index), read with the main home's configuration. Each harvested record is a
title with one member record there, so the search keys, both engines and every record format
work on it unchanged; nothing in it ever takes part in consolidation, and nothing of it is in
the union catalog's store, index, OAI-PMH lists or counts.

A member record's maintenance key is (source, "harvest", remote id). Beside the catalog tables
this module keeps two of its own:

- `harvested`: per title, where it came from (source, the server's URL, the protocol, the query
  or set, the remote id), when it was first and last harvested, when it last changed, and the
  digest of the record as stored, so a harvest that meets it again unchanged writes nothing;
- `harvest_state`: per source, the harvest under way or last finished (what was asked, how far
  it got, the OAI-PMH responseDate it started at), so an interrupted harvest resumes and the
  next one can be incremental.

It knows no protocol: `zserver.harvest` fetches, this module stores.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

from index.config import Config, LibraryConfig
from index.home import Home
from index.loading.prepare import Prepared, Preparer
from index.records.model import RawRecord
from index.store.catalog import CatalogStore

__all__ = ["SOURCE_SYSTEM", "ExternalHome", "ExternalRecord", "ExternalStore", "HarvestState", "Provenance",
           "StoreOutcome", "iso2709_control_number"]

SOURCE_SYSTEM = "harvest"   # the source-system part of every external record's maintenance key

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


class ExternalHome(Home):
    """`HOME/external/`, a home read with the configuration of the main home `main`."""

    def __init__(self, main: Home) -> None:
        super().__init__(main.root / "external")
        self.main = main

    def exists(self) -> bool:
        return self.store_path.exists()

    def config(self) -> Config:
        return self.main.config()


@dataclass(frozen=True)
class ExternalRecord:
    """One record as a harvester got it: `data` is MARCXML (one `record` element) or ISO 2709
    (`fmt` "marcxml" or "marc21"); `remote_id` is the server's id for it (OAI identifier, 001,
    SRU recordIdentifier); `deleted`: the server says it is gone (OAI-PMH); `query`: the query
    that found it when it is not the harvest's own (one ISBN of a list)."""

    remote_id: str
    data: bytes = b""
    fmt: str = "marcxml"
    deleted: bool = False
    query: str = ""


@dataclass(frozen=True)
class Provenance:
    """Where an external title came from (`harvested`)."""

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


@dataclass(frozen=True)
class StoreOutcome:
    """What storing one record did: new, changed, unchanged, deleted, gone (a deletion of a
    record we do not have) or rejected (`reason` says why)."""

    kind: str
    isn: int = 0
    reason: str = ""


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


class ExternalStore:
    """The external catalog's store, opened (and made) in `HOME/external/`."""

    def __init__(self, main: Home) -> None:
        self.home = ExternalHome(main)
        self.home.root.mkdir(parents=True, exist_ok=True)
        self.catalog = CatalogStore(self.home.store_path)
        self.db = self.catalog.db
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.catalog.close()

    # -- state -------------------------------------------------------------------------------
    def state(self, source: str) -> HarvestState | None:
        row = self.db.execute("SELECT state FROM harvest_state WHERE source = ?", (source,)).fetchone()
        return HarvestState(**json.loads(row[0])) if row else None

    def save_state(self, state: HarvestState) -> None:
        self.db.execute("INSERT OR REPLACE INTO harvest_state (source, state) VALUES (?, ?)",
                        (state.source, json.dumps(state.__dict__, sort_keys=True)))

    def states(self) -> list[HarvestState]:
        return [HarvestState(**json.loads(row[0]))
                for row in self.db.execute("SELECT state FROM harvest_state ORDER BY source")]

    # -- records -----------------------------------------------------------------------------
    def put(self, state: HarvestState, record: ExternalRecord, preparer: Preparer) -> StoreOutcome:
        """Store, replace or delete one harvested record (inside the caller's transaction).
        A record without 001 gets its remote id as 001, as a maintenance key needs one."""
        existing = self.catalog.find_record(state.source, SOURCE_SYSTEM, record.remote_id)
        if record.deleted:
            if existing is None:
                return StoreOutcome("gone")
            self._delete(existing.id, existing.isn)
            return StoreOutcome("deleted", existing.isn)
        prepared = preparer.prepare(RawRecord(_with_control_number(record), 0, 0))
        if prepared.reject:
            return StoreOutcome("rejected", reason=prepared.reject)
        now, query = _now(), record.query or state.query
        if existing is not None:
            digest = self.db.execute("SELECT digest FROM harvested WHERE isn = ?", (existing.isn,)).fetchone()
            self.db.execute("UPDATE harvested SET harvested = ?, run = ?, query = ?, set_spec = ? WHERE isn = ?",
                            (now, state.run, query, state.set_spec, existing.isn))
            if digest is not None and digest[0] == prepared.digest:
                return StoreOutcome("unchanged", existing.isn)
            self.catalog.replace_record(existing.id, prepared.marc, prepared.version, 0, None, ())
            self.catalog.set_display(existing.isn, prepared.marc, existing.id)
            self._offer(existing.isn, prepared)
            self.db.execute("UPDATE harvested SET digest = ?, changed = ? WHERE isn = ?",
                            (prepared.digest, now, existing.isn))
            return StoreOutcome("changed", existing.isn)
        isn = self.catalog.add_title(prepared.marc, prepared.bibtype)
        record_id = self.catalog.add_record(isn, state.source, SOURCE_SYSTEM, record.remote_id, prepared.marc,
                                            prepared.version, 0, None, ())
        self.catalog.set_display(isn, prepared.marc, record_id)
        self._offer(isn, prepared)
        self.db.execute(
            "INSERT INTO harvested (isn, source, protocol, url, remote_id, query, set_spec, first_seen, harvested,"
            " changed, digest, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (isn, state.source, state.protocol, state.url, record.remote_id, query, state.set_spec, now, now,
             now, prepared.digest, state.run))
        return StoreOutcome("new", isn)

    def _offer(self, isn: int, prepared: Prepared) -> None:
        if prepared.keys is not None:   # the index phase takes these keys instead of parsing again
            self.catalog.offer_keys(isn, prepared.digest, prepared.keys)

    def _delete(self, record_id: int, isn: int) -> None:
        self.catalog.delete_record(record_id)
        self.db.execute("DELETE FROM harvested WHERE isn = ?", (isn,))

    def delete_unseen(self, state: HarvestState) -> int:
        """After a complete harvest of a query or set: delete the records an earlier harvest of
        the same source, query and set brought that this run (`state.run`) did not meet."""
        rows = self.db.execute(
            "SELECT h.isn, r.id FROM harvested h JOIN records r ON r.isn = h.isn WHERE h.source = ? AND h.query = ?"
            " AND h.set_spec = ? AND h.run < ?", (state.source, state.query, state.set_spec, state.run)).fetchall()
        for isn, record_id in rows:
            self._delete(record_id, isn)
        return len(rows)

    def provenance(self, isn: int) -> Provenance | None:
        row = self.db.execute(
            "SELECT isn, source, protocol, url, remote_id, query, set_spec, first_seen, harvested, changed"
            " FROM harvested WHERE isn = ?", (isn,)).fetchone()
        return Provenance(*row) if row else None

    def marc(self, isn: int) -> bytes | None:
        """The stored record of external title `isn` (ISO 2709, UTF-8)."""
        return self.catalog.display(isn)

    def counts(self) -> dict[str, int]:
        """source -> records."""
        return dict(self.db.execute("SELECT source, count(*) FROM harvested GROUP BY source ORDER BY source"))

    def records(self, source: str | None = None) -> Iterator[tuple[Provenance, bytes]]:
        """(provenance, ISO 2709 record) of every external record (of one source), in ISN order;
        for dumps of the external catalog."""
        reader = sqlite3.connect(str(self.home.store_path))
        try:
            rows = reader.execute(
                "SELECT h.isn, h.source, h.protocol, h.url, h.remote_id, h.query, h.set_spec, h.first_seen,"
                " h.harvested, h.changed, t.display FROM harvested h JOIN titles t ON t.isn = h.isn"
                " WHERE ? IS NULL OR h.source = ? ORDER BY h.isn", (source, source))
            for row in rows:
                yield Provenance(*row[:10]), row[10]
        finally:
            reader.close()


def external_library(source: str) -> LibraryConfig:
    """How records of `source` are checked: as a library's whose records need no holdings."""
    return LibraryConfig(code=source, name=source, source_system=SOURCE_SYSTEM, holdings="852",
                         require_holdings=False)


def preparer(source: str, fmt: str) -> Preparer:
    """The loader's checks (a title, a control number, ISO 2709 limits) for harvested records,
    without consolidation profiles: external records are never consolidated."""
    return Preparer(external_library(source), fmt, consolidate=False)


def _with_control_number(record: ExternalRecord) -> bytes:
    """`record.data`, given its remote id as 001 when it has none."""
    if record.fmt == "marcxml":
        if b'tag="001"' in record.data:
            return record.data
        from lxml import etree

        element = etree.fromstring(record.data)
        namespace = element.nsmap.get(element.prefix)
        control = etree.Element(f"{{{namespace}}}controlfield" if namespace else "controlfield")
        control.set("tag", "001")
        control.text = record.remote_id
        leader = next((child for child in element if etree.QName(child).localname == "leader"), None)
        element.insert(0 if leader is None else element.index(leader) + 1, control)
        return etree.tostring(element)
    if iso2709_control_number(record.data):
        return record.data
    import pymarc

    parsed = pymarc.Record(data=record.data, to_unicode=True, force_utf8=True)
    parsed.add_ordered_field(pymarc.Field(tag="001", data=record.remote_id))
    parsed.leader = parsed.leader[:9] + "a" + parsed.leader[10:]   # written as UTF-8 now
    return parsed.as_marc()


def iso2709_control_number(data: bytes) -> str:
    """The 001 of an ISO 2709 record, read from its directory without parsing the record
    ("" when it has none or the structure is broken: the loader's checks say why later)."""
    try:
        base = int(data[12:17])
        for start in range(24, base - 1, 12):
            entry = data[start:start + 12]
            if entry[:3] == b"001":
                length, offset = int(entry[3:7]), int(entry[7:12])
                return data[base + offset:base + offset + length].rstrip(b"\x1e").decode("utf-8", "replace").strip()
    except ValueError:
        pass
    return ""

