"""Dumps: `unikat export` writes a library's records, the whole catalog, or the external-data
catalog, in MARC21 (ISO 2709, UTF-8), MARCXML, PICA+ (plain) or MARC-in-JSON, in full or changed
since a date.

What is written:
- `--library X`: X's member records as X delivered them (after normalization on load), each
  with the holdings it brought (X's own; a union source's records bring other libraries' too)
  as 852 fields ($a library, $b location, $h call number, $u URL, $z note, $t `not for loan`,
  $p copy id), the 852s the record came with replaced. 001 is the maintenance key's id.
  Loaded back with the holdings rule `852-all` (`pica` for PICA+), they give the same holdings.
- the whole catalog: each title's display record with every library's holdings as 852s;
  001 is the title's ISN and 003 the catalog's database name, since two libraries' 001s may be
  the same number (the members' own ids stay in the display record's 035s).
- the external-data catalog (`export_external`, `--database external`): each harvested record
  as stored (its own 852s kept), 001 its number towards clients (1,000,000,001 ...) and 003 the
  external database's name, with its provenance (`index.external.Provenance`): 035 $a
  `(SOURCE)ID` (the source's name and the record's id there) and an 883 (metadata provenance):
  $a `harvested (PROTOCOL, query Q | set S)` $d the day of its last harvest (yyyymmdd)
  $q the source's name $u the server's URL $w `(SOURCE)ID`. Changed since a date: records
  harvested new or changed since then; deletions: titles a later harvest deleted.
- PICA+ writes the same records through `index.records.pica_writer` (holdings as local and copy
  records; the record's id is the PPN).

Changed since a date (`since`, UTC): for a library, its member records stored or replaced by a
load since then; for the catalog, titles changed since then or with a member so loaded.
Deletions since then are listed in a side file `OUT.deleted` (tab-separated: id, time of
deletion), and MARC21, MARCXML and JSON dumps also end with one record per deletion in MARC's
own convention (leader/05 `d`, 001 the id), which `unikat load` applies as a delete.
Library deletions come from `index.store.loadlog` (logged from this version on); the
catalog's from the store's `deleted_titles`.

Restricted databases (`[databases] restricted`) are honoured as everywhere else: a restricted
library's dump, or the whole catalog when the union database is restricted, is refused, and a
catalog dump leaves out restricted libraries' holdings, unless `include_restricted` (the
operator's explicit choice).

Reading is one SQLite read transaction (`index.store.exports`): a load running meanwhile is
either wholly in the dump or not at all (WAL snapshot). Records are read and written in batches,
so memory does not grow with the catalog, and `progress(done, total)` is called after each batch.
"""

from __future__ import annotations

import bisect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from index.config import Config
from index.external import EXTERNAL_ISN_BASE, ExternalHome, ExternalStore, Provenance
from index.external.store import harvest_process
from index.home import Home
from index.records.formats import to_marcxml
from index.records.marcjson import to_marc_dict, to_marc_json
from index.records.model import Holding
from index.records.pica_writer import to_pica_plain
from index.store import exports
from index.store.catalog import CatalogStore

__all__ = ["FORMATS", "DumpError", "DumpReport", "export", "export_external", "parse_since"]

FORMATS = ("marc21", "marcxml", "pica", "json")


class DumpError(Exception):
    """An export refused before anything was written; the message says why."""


@dataclass
class DumpReport:
    records: int = 0
    deletions: int = 0
    seconds: float = 0.0
    deleted_file: Path | None = None
    oversized: int = 0   # ISO 2709 records whose holdings did not all fit
    left_out: int = 0    # the holdings those records could not carry
    too_long: int = 0    # records not written: too long for ISO 2709 even without holdings


    def summary(self, what: str, out: str) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        text = (f"exported {what}: {self.records} records, {self.deletions} deletions to {out}"
                f" in {self.seconds:.1f}s ({rate:,.0f} records/s)")
        text += f"; deletions listed in {self.deleted_file}" if self.deleted_file else ""
        if self.oversized:
            text += (f"; {self.oversized} records had more holdings than one ISO 2709 record holds (99,999 bytes):"
                     f" {self.left_out} holdings left out (a MARCXML, MARC-in-JSON or PICA+ export has them all)")
        if self.too_long:
            text += (f"; {self.too_long} records too long for ISO 2709 even without holdings: not written"
                     " (a MARCXML or MARC-in-JSON export has them)")
        return text


def parse_since(text: str) -> str:
    """`2026-12-01`, `2026-12-01T10:00`, `2026-12-01 10:00:00` or with a UTC offset, as the
    store's UTC datetime text; DumpError for anything else."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DumpError(f"--since {text!r} is not a date (write 2026-12-01 or 2026-12-01T10:00:00)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


Progress = Callable[[int, int], None]


def export(home: Home, out: BinaryIO, *, library: str | None = None, fmt: str = "marc21", since: str = "",
           deleted_path: Path | None = None, include_restricted: bool = False,
           progress: Progress | None = None) -> DumpReport:
    """Write the dump to `out` (see the module docstring); deletions also to `deleted_path` when
    given. `since` is store datetime text (`parse_since`) or "" for everything."""
    if fmt not in FORMATS:
        raise DumpError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    config = home.config()
    hidden = _check_access(config, library, include_restricted)
    started = time.monotonic()
    store = CatalogStore.of(home)   # makes the store's tables if the home is new
    report = DumpReport()
    with exports.Snapshot(store) as snapshot:   # one state of the store for the whole dump
        if library is not None:
            total, batches = snapshot.library_records(library, since)
            deletions = [(f"{source_id}", when) for _, source_id, when in snapshot.library_deletions(library, since)] \
                if since else []
        else:
            total, batches = snapshot.catalog_titles(since, hidden)
            deletions = [(str(isn), when) for isn, when in snapshot.title_deletions(since)] if since else []
        writer = _Writer(out, fmt, config.database, union=library is None)
        writer.start()
        for batch in batches:
            for ident, marc, holdings in batch:
                writer.record(ident, marc, holdings)
            report.records += len(batch)
            if progress:
                progress(report.records, total)
        for ident, _ in deletions:
            writer.deletion(ident)
        writer.end()
    report.oversized, report.left_out, report.too_long = writer.oversized, writer.left_out, writer.too_long
    report.records -= writer.too_long   # read but not written
    return _finish(report, deletions, deleted_path if since else None, started)


def export_external(home: Home, out: BinaryIO, *, source: str | None = None, fmt: str = "marc21", since: str = "",
                    deleted_path: Path | None = None, include_restricted: bool = False,
                    progress: Progress | None = None) -> DumpReport:
    """Write the external-data catalog's records (of one `source`) with their provenance to
    `out` (see the module docstring); deletions also to `deleted_path` when given."""
    if fmt not in FORMATS:
        raise DumpError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    config = home.config()
    name = config.external.database
    if not include_restricted and name.lower() in {database.lower() for database in config.restricted}:
        raise DumpError(f"the external database {name} is restricted ([databases] restricted); give"
                        " --include-restricted to export it anyway")
    if not ExternalHome(home).exists():
        raise DumpError(f"no external-data catalog in {home.root} (nothing harvested yet: run 'unikat harvest')")
    started = time.monotonic()
    store = ExternalStore(home)
    try:
        counts = store.counts()
        if source is not None and source not in counts:
            raise DumpError(f"no records harvested from source {source!r} (sources: {', '.join(counts) or 'none'})")
        total = counts[source] if source is not None else sum(counts.values())
        deletions = [(str(EXTERNAL_ISN_BASE + isn), when) for isn, when in store.catalog.deleted_titles(since)] \
            if since and source is None else []   # a deleted title's source is no longer known
        report = DumpReport()
        writer = _Writer(out, fmt, name, union=True)
        writer.start()
        for provenance, marc in store.records(source):
            if since and provenance.changed < since:
                continue
            ident = str(EXTERNAL_ISN_BASE + provenance.isn)
            writer.write(ident, rewrite(marc, drop=set(), controls={"001": ident, "003": name},
                                        add=_provenance_fields(marc, provenance)))
            report.records += 1
            if progress and report.records % 500 == 0:
                progress(report.records, total)
        for ident, _ in deletions:
            writer.deletion(ident)
        writer.end()
    finally:
        store.close()
    if progress:
        progress(report.records, total)
    return _finish(report, deletions, deleted_path if since else None, started)


def _finish(report: DumpReport, deletions: list[tuple[str, str]], deleted_path: Path | None,
            started: float) -> DumpReport:
    """`report` with the deletions counted (and listed in `deleted_path`, ident TAB time, when
    given) and the seconds since `started`."""
    report.deletions = len(deletions)
    if deleted_path is not None:
        deleted_path.write_text("".join(f"{ident}\t{when}\n" for ident, when in deletions), encoding="utf-8")
        report.deleted_file = deleted_path
    report.seconds = time.monotonic() - started
    return report


def _provenance_fields(marc: bytes, provenance: Provenance) -> list[tuple[str, bytes]]:
    """035 `(SOURCE)ID` (unless the record has it) and 883 for an external record."""
    key = f"({provenance.source}){provenance.remote_id}"
    fields = [] if _subfield("a", key) + b"\x1e" in marc else [("035", b"  " + _subfield("a", key))]
    fields.append(("883", b"  " + b"".join(_subfield(code, value) for code, value in (
        ("a", harvest_process(provenance)), ("d", provenance.harvested[:10].replace("-", "")), ("q", provenance.source),
        ("u", provenance.url), ("w", key)) if value)))
    return fields


def _check_access(config: Config, library: str | None, include_restricted: bool) -> frozenset[str]:
    """The libraries whose holdings are left out; DumpError when the dump is refused."""
    restricted = frozenset(config.restricted)
    if library is not None and library not in config.libraries:
        raise DumpError(f"library {library!r} is not in unikat.toml (known: {', '.join(config.libraries) or 'none'})")
    if include_restricted:
        return frozenset()
    if library is not None and library in restricted:
        raise DumpError(f"library {library} is a restricted database ([databases] restricted); give"
                        " --include-restricted to export it anyway")
    if library is None and config.database in restricted:
        raise DumpError(f"the union database {config.database} is restricted ([databases] restricted); give"
                        " --include-restricted to export it anyway")
    return restricted


# -- writing ----------------------------------------------------------------------------------

class _Writer:
    """One dump file in one format: start, records, deletions, end."""

    def __init__(self, out: BinaryIO, fmt: str, database: str, *, union: bool) -> None:
        self.out, self.fmt, self.database, self.union = out, fmt, database, union
        self.count = 0
        self.oversized = 0
        self.left_out = 0
        self.too_long = 0

    def start(self) -> None:
        if self.fmt == "marcxml":
            self.out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                           b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n')
        elif self.fmt == "json":
            self.out.write(b"[")

    def record(self, ident: str, marc: bytes, holdings: list[Holding]) -> None:
        controls = {"001": ident, "003": self.database} if self.union else {}

        def with_holdings(kept: list[Holding]) -> list[tuple[str, bytes]]:
            return _fields(marc, drop={"852"}, controls=controls, add=[("852", _field_852(h)) for h in kept])

        whole = _assembled(marc, with_holdings(holdings))
        if len(whole) <= _LONGEST:
            self.write(ident, whole, holdings)
        elif self.fmt == "pica":   # holdings are lines of their own there; the record as stored is short enough
            self.write(ident, marc, holdings)
        elif self.fmt != "marc21":   # MARCXML and MARC-in-JSON have no length limit
            self._emit(_unbounded(self.fmt, marc, with_holdings(holdings)))
        else:   # the leader's five digits: the holdings that fit
            kept = holdings
            while len(whole) > _LONGEST and kept:
                kept = kept[:len(kept) * 3 // 4]
                whole = _assembled(marc, with_holdings(kept))
            if len(kept) < len(holdings):
                self.oversized += 1
                self.left_out += len(holdings) - len(kept)
            if len(whole) > _LONGEST:   # too long even without: an ISO 2709 record cannot say so
                self.too_long += 1
                return
            self.write(ident, whole, kept)

    def write(self, ident: str, marc: bytes, holdings: list[Holding] | None = None) -> None:
        """A record as it is to be written."""
        if self.fmt == "pica":
            self.out.write(to_pica_plain(marc, ident, holdings or []).encode("utf-8"))
        else:
            self._marc(marc)

    def deletion(self, ident: str) -> None:
        if self.fmt != "pica":   # PICA+ has no deletion record: the side file lists them
            controls = {"001": ident, **({"003": self.database} if self.union else {})}
            self._marc(rewrite(b"00000dam a2200000 a 4500" + b"\x1e\x1d", drop=set(), controls=controls, add=[],
                               empty=True))

    def _marc(self, marc: bytes) -> None:
        if self.fmt == "marc21":
            self._emit(marc)
        else:
            self._emit(to_marcxml(marc) if self.fmt == "marcxml" else to_marc_json(marc))

    def _emit(self, written: bytes) -> None:
        """One record as its format writes it, with what separates it from the others."""
        if self.fmt == "marcxml":
            self.out.write(written + b"\n")
        elif self.fmt == "json":
            self.out.write((b",\n" if self.count else b"\n") + written)
        else:
            self.out.write(written)
        self.count += 1

    def end(self) -> None:
        if self.fmt == "marcxml":
            self.out.write(b"</collection>\n")
        elif self.fmt == "json":
            self.out.write(b"\n]\n")


_NO_SEPARATORS = re.compile("[\x1d\x1e\x1f]")
_LONGEST = 99_999   # bytes of an ISO 2709 record: its leader has five digits for the length


def _subfield(code: str, value: str) -> bytes:
    return b"\x1f" + code.encode() + _NO_SEPARATORS.sub(" ", value).encode("utf-8")


def _field_852(holding: Holding) -> bytes:
    """A holding as the loader's 852 rule reads it (`index.records.marc.holdings_from_852`)."""
    parts = [_subfield("a", holding.library)]
    urls = [("u", url) for url in (holding.url, *holding.other_urls)]   # a rule-built one may have two
    for code, value in (("b", holding.location), ("h", holding.call_number), *urls,
                        ("z", holding.note), ("p", holding.source_id)):
        if value:
            parts.append(_subfield(code, value))
    if not holding.lendable:
        parts.append(_subfield("t", "not for loan"))
    return b"  " + b"".join(parts)


def rewrite(marc: bytes, *, drop: set[str], controls: dict[str, str], add: list[tuple[str, bytes]],
            empty: bool = False) -> bytes:
    """An ISO 2709 record with the fields tagged `drop` left out, control fields `controls` set
    (tag -> data, added if absent) and the data fields `add` ((tag, indicators + subfields))
    put in tag order; leader lengths recomputed. `empty`: `marc` is a bare leader."""
    return _assembled(marc, _fields(marc, drop=drop, controls=controls, add=add, empty=empty))


def _fields(marc: bytes, *, drop: set[str], controls: dict[str, str], add: list[tuple[str, bytes]],
            empty: bool = False) -> list[tuple[str, bytes]]:
    """The (tag, value with its terminator) fields `rewrite` writes, in order."""
    tags: list[str] = []
    values: list[bytes] = []   # each with its field terminator
    if not empty:
        base = int(marc[12:17])
        directory = marc[24:base - 1].decode("ascii", "replace")
        for at in range(0, len(directory) - len(directory) % 12, 12):
            tag = directory[at:at + 3]
            if tag in drop or tag in controls:
                continue
            start = base + int(directory[at + 7:at + 12])
            tags.append(tag)
            values.append(marc[start:start + int(directory[at + 3:at + 7])])
    for tag, value in [*((t, v.encode("utf-8")) for t, v in controls.items()), *add]:
        at = bisect.bisect_right(tags, tag)
        tags.insert(at, tag)
        values.insert(at, value + b"\x1e")
    return list(zip(tags, values, strict=True))


def _assembled(marc: bytes, fields: list[tuple[str, bytes]]) -> bytes:
    """An ISO 2709 record of `fields` with the leader of `marc`, its lengths recomputed."""
    entries, offset = [], 0
    for tag, value in fields:
        entries.append(f"{tag:3.3}{len(value):04d}{offset:05d}")
        offset += len(value)
    base = 24 + 12 * len(entries) + 1
    head = f"{base + offset + 1:05d}{marc[5:12].decode('ascii', 'replace')}{base:05d}{marc[17:24].decode('ascii', 'replace')}"
    return (head + "".join(entries)).encode("ascii", "replace") + b"\x1e" + b"".join(value for _tag, value in fields) + b"\x1d"


def _unbounded(fmt: str, marc: bytes, fields: list[tuple[str, bytes]]) -> bytes:
    """MARCXML or MARC-in-JSON of `fields`, too many for one ISO 2709 record: written from parts
    that each fit, joined (the leader is the first part's; no record length is right)."""
    parts: list[list[tuple[str, bytes]]] = [[]]
    size = 0
    for field in fields:
        if parts[-1] and size + len(field[1]) + 12 > _LONGEST - 1000:   # room for the leader and the ends
            parts.append([])
            size = 0
        parts[-1].append(field)
        size += len(field[1]) + 12
    records = [_assembled(marc, part) for part in parts]
    if fmt == "marcxml":
        whole = etree.fromstring(to_marcxml(records[0]))
        for record in records[1:]:
            whole.extend(etree.fromstring(to_marcxml(record))[1:])   # its fields, not its leader
        return etree.tostring(whole, encoding="utf-8")
    joined = to_marc_dict(records[0])
    for record in records[1:]:
        joined["fields"] += to_marc_dict(record)["fields"]
    return json.dumps(joined, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
