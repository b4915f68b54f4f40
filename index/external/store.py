"""The external-data catalog's store: records harvested from other servers, kept apart.

It is a catalog home of its own inside the main one (`HOME/external/`: `catalog.sqlite`,
`searchkeys/`, the index), read with the main home's configuration. Each harvested record is a
title with one member record there, so the search keys, both engines and every record format
work on it unchanged; nothing in it ever takes part in consolidation, and nothing of it is in
the union catalog's store, index, OAI-PMH lists or counts.

A member record's maintenance key is (source, "harvest", remote id). Where each title came from
and each source's harvest under way or last finished are kept in two tables of their own
(`index.store.external`: `harvested`, `harvest_state`); this module decides what a harvested
record does to them and to the catalog.

It knows no protocol: `zserver.harvest` fetches, this module stores.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass

from index.config import Config, LibraryConfig, StoreConfig
from index.home import Home
from index.loading.prepare import Prepared, Preparer
from index.records.model import RawRecord
from index.store.catalog import CatalogStore
from index.store.external import HarvestState, HarvestTables, Provenance, harvested_records

__all__ = ["SOURCE_SYSTEM", "ExternalHome", "ExternalRecord", "ExternalStore", "HarvestState", "Provenance",
           "StoreOutcome", "harvest_process", "iso2709_control_number"]

SOURCE_SYSTEM = "harvest"   # the source-system part of every external record's maintenance key


class ExternalHome(Home):
    """`HOME/external/`, a home read with the configuration of the main home `main`, its store
    always SQLite in that directory (harvested records are this host's, whatever `[store]` says)."""

    def __init__(self, main: Home) -> None:
        super().__init__(main.root / "external")
        self.main = main

    def exists(self) -> bool:
        return self.store_path.exists()

    def config(self) -> Config:
        return dataclasses.replace(self.main.config(), store=StoreConfig())


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
        self.tables = HarvestTables(self.catalog)

    def close(self) -> None:
        self.catalog.close()

    # -- state -------------------------------------------------------------------------------
    def state(self, source: str) -> HarvestState | None:
        return self.tables.state(source)

    def save_state(self, state: HarvestState) -> None:
        self.tables.save_state(state)

    def states(self) -> list[HarvestState]:
        return self.tables.states()

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
            digest = self.tables.digest(existing.isn)
            self.tables.met_again(existing.isn, now, state.run, query, state.set_spec)
            if digest is not None and digest == prepared.digest:
                return StoreOutcome("unchanged", existing.isn)
            self.catalog.replace_record(existing.id, prepared.marc, prepared.version, 0, None, ())
            self.catalog.set_display(existing.isn, prepared.marc, existing.id)
            self._offer(existing.isn, prepared)
            self.tables.changed(existing.isn, prepared.digest, now)
            return StoreOutcome("changed", existing.isn)
        isn = self.catalog.add_title(prepared.marc, prepared.bibtype)
        record_id = self.catalog.add_record(isn, state.source, SOURCE_SYSTEM, record.remote_id, prepared.marc,
                                            prepared.version, 0, None, ())
        self.catalog.set_display(isn, prepared.marc, record_id)
        self._offer(isn, prepared)
        self.tables.add(Provenance(isn, state.source, state.protocol, state.url, record.remote_id, query,
                                   state.set_spec, now, now, now), prepared.digest, state.run)
        return StoreOutcome("new", isn)

    def _offer(self, isn: int, prepared: Prepared) -> None:
        if prepared.keys is not None:   # the index phase takes these keys instead of parsing again
            self.catalog.offer_keys(isn, prepared.digest, prepared.keys)

    def _delete(self, record_id: int, isn: int) -> None:
        self.catalog.delete_record(record_id)
        self.tables.forget(isn)

    def delete_unseen(self, state: HarvestState) -> int:
        """After a complete harvest of a query or set: delete the records an earlier harvest of
        the same source, query and set brought that this run (`state.run`) did not meet."""
        rows = self.tables.unseen(state.source, state.query, state.set_spec, state.run)
        for isn, record_id in rows:
            self._delete(record_id, isn)
        return len(rows)

    def provenance(self, isn: int) -> Provenance | None:
        return self.tables.provenance(isn)

    def marc(self, isn: int) -> bytes | None:
        """The stored record of external title `isn` (ISO 2709, UTF-8)."""
        return self.catalog.display(isn)

    def counts(self) -> dict[str, int]:
        """source -> records."""
        return self.tables.counts()

    def records(self, source: str | None = None) -> Iterator[tuple[Provenance, bytes]]:
        """(provenance, ISO 2709 record) of every external record (of one source), in ISN order;
        for dumps of the external catalog."""
        return harvested_records(self.home.store_path, source)


def harvest_process(provenance: Provenance) -> str:
    """How a record was got, for MARC 883 $a (the process: $x would be a validity end date):
    `harvested (PROTOCOL, query Q | set S)`."""
    how = f"set {provenance.set_spec}" if provenance.set_spec else f"query {provenance.query}" if provenance.query \
        else ""
    return f"harvested ({provenance.protocol}{', ' + how if how else ''})"


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

