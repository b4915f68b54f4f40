"""Loading one library's delivery into the catalog store (MELVYL's weekly/monthly load).

For each record: read → validate → maintenance key → new / update / unchanged / delete. Severe
errors (unreadable record, no title, no control number, no holdings where the source requires
them) put the record into the home's reject file with its position and reason; light errors
are counted per kind. Work is committed in batches, so a crash loses nothing already committed
and a re-run of the same file changes nothing (every record is then `unchanged`).

Title maintenance (`index.titles`, with `[consolidation]` in unikat.toml) runs inside the same
transaction: a new record joins every title it matches (counted as `merged`), an updated record
has its title re-evaluated, a deleted record leaves its title, which is re-evaluated too (and
goes back to a plain title when one member is left). This module decides what a record is and
what happens to it; it issues no SQL and no BEGIN or COMMIT (`CatalogStore.transaction` does).

Authority records (leader/06 `z`, also GND records the PICA reader marks so) go into the
authority file whatever the load: they have no holdings and are never consolidated; each
change re-links the titles using their headings. `authority_only` (`unikat load --authority`)
rejects anything else.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import pymarc

from index import titles
from index.config import LibraryConfig
from index.consolidation.match import MatchRules
from index.home import Home
from index.records.marc import detect_format, holdings_from_852, read_marc21, read_marcxml
from index.records.model import Holding, LoadProblem, SourceRecord
from index.records.quality import quality_score
from index.searchkeys.normalize import isbn_checksum_ok
from index.store.catalog import CatalogStore

BATCH = 1000


@dataclass
class LoadReport:
    load_id: int
    library: str
    file: str
    format: str
    counts: Counter = field(default_factory=Counter)     # read new merged updated unchanged deleted rejected
    problems: Counter = field(default_factory=Counter)   # light problems by kind
    reject_file: Path | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        c = self.counts
        rate = c["read"] / self.seconds if self.seconds else 0.0
        text = (f"{self.file}: {c['read']} read, {c['new']} new ({c['merged']} merged into existing titles),"
                f" {c['updated']} updated, {c['unchanged']} unchanged,"
                f" {c['deleted']} deleted, {c['rejected']} rejected, {sum(self.problems.values())} light problems"
                f" ({rate:,.0f} records/s)")
        if c["authority"]:
            text += f"; {c['authority']} of the new records are authority records"
        if self.reject_file:
            text += f"; rejects in {self.reject_file}"
        return text


Progress = Callable[[int, int, int], None]   # (work done, work total, records read)


def read_delivery(data: bytes, fmt: str, encoding: str | None):
    if fmt == "marc21":
        return read_marc21(data, encoding=encoding)
    if fmt == "marcxml":
        return read_marcxml(data)
    if fmt == "pica":
        from index.records.pica import read_pica

        return read_pica(data)
    raise ValueError(f"unknown format {fmt!r} (marc21, marcxml or pica)")


class _Rejects:
    """The reject file of one load, opened when the first record is rejected."""

    def __init__(self, path: Path, library: str, file: str) -> None:
        self.path, self.library, self.file = path, library, file
        self._handle = None

    def write(self, position: int, offset: int, reason: str, raw: bytes) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab")
        header = f"# library={self.library} file={self.file} position={position} offset={offset} reason={reason}\n"
        self._handle.write(header.encode("utf-8") + raw + b"\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def load_file(home: Home, store: CatalogStore, library: LibraryConfig, path: Path, *, fmt: str | None = None,
              encoding: str | None = None, source_system: str | None = None,
              progress: Progress | None = None, authority_only: bool = False) -> LoadReport:
    """Load one file for `library`. Raises `LoadError` only if the file cannot be read at all."""
    from index.errors import LoadError

    try:
        data = path.read_bytes()
    except OSError as error:
        raise LoadError(f"cannot read {path}: {error.strerror}") from None
    fmt = fmt or detect_format(data[:64])
    system = source_system or library.source_system
    consolidation = home.config().consolidation
    rules = consolidation.rules if consolidation.enabled else None
    started = time.monotonic()
    load_id = store.start_load(library.code, system, str(path), fmt)
    report = LoadReport(load_id, library.code, str(path), fmt)
    rejects = _Rejects(home.rejects_dir / f"load-{load_id}-{library.code}.rej", library.code, path.name)
    items = iter(read_delivery(data, fmt, encoding))
    expected = 0
    try:
        while True:
            # One transaction per BATCH records, the load's counts with them: a crash loses at most
            # the batch under way, and the titles it touched stay `pending` for the index.
            with store.transaction():
                batch = 0
                for item in islice(items, BATCH):
                    batch += 1
                    report.counts["read"] += 1
                    outcome, reason = _apply(store, library, system, load_id, item, report.problems, rules,
                                             authority_only)
                    if outcome in ("merged", "authority"):
                        report.counts["new"] += 1
                    report.counts[outcome] += 1
                    if outcome == "rejected":
                        store.add_reject(load_id, item.position, item.offset, reason, item.raw)
                        rejects.write(item.position, item.offset, reason, item.raw)
                        report.reject_file = rejects.path
                finished = batch < BATCH
                if finished:
                    report.seconds = time.monotonic() - started
                store.update_load(load_id, report.counts, report.problems, finished=finished)
            if finished:
                break
            if progress:
                if fmt == "marcxml":   # no byte offsets from the XML parser: count records instead
                    expected = expected or len(re.findall(rb"<(?:\w+:)?record[\s>]", data))
                    progress(report.counts["read"], expected, report.counts["read"])
                else:
                    progress(item.offset, len(data), report.counts["read"])
    finally:
        rejects.close()
    return report


def _apply(store: CatalogStore, library: LibraryConfig, system: str, load_id: int,
           item: SourceRecord | LoadProblem, problems: Counter, rules: MatchRules | None = None,
           authority_only: bool = False) -> tuple[str, str]:
    """Store one record; returns (outcome, reject reason). `rules` None: no consolidation."""
    if isinstance(item, LoadProblem):
        return "rejected", item.reason
    record = item.record
    authority = str(record.leader)[6:7] == "z"
    if authority_only and not authority:
        return "rejected", "not an authority record (leader/06 is not z)"
    problems.update(item.problems)
    source_id = (record.get("001").data or "").strip() if record.get("001") else ""
    if not source_id:
        return "rejected", "no control number (001): the record cannot be maintained"
    existing = store.find_record(library.code, system, source_id)
    if item.deleted:
        if existing is None:
            problems["delete of an unknown record"] += 1
            return "unchanged", ""
        titles.delete_record(store, existing, rules)
        return "deleted", ""
    if authority:
        if not any(f.tag.startswith("1") for f in record.fields if not f.is_control_field()):
            return "rejected", "authority record without a heading (1XX)"
        holdings: list[Holding] = []
    else:
        if record.get("245") is None or not any(sf.value.strip() for sf in record.get("245").subfields):
            return "rejected", "no title (245)"
        holdings, holding_problems = _holdings(library, record, item.holdings)
        problems.update(holding_problems)
        if library.require_holdings and not holdings:
            return "rejected", f"no holdings of library {library.code}"
    for field_ in record.get_fields("020"):
        for value in field_.get_subfields("a"):
            if not isbn_checksum_ok(value):
                problems["ISBN with a bad checksum"] += 1
    version = (record.get("005").data or "") if record.get("005") else ""
    marc = record.as_marc()
    if not _fits_iso2709(marc, record):
        return "rejected", "record too large for ISO 2709 (a field over 9,999 or the record over 99,999 bytes)"
    quality = quality_score(record) + library.priority
    if existing is None:
        isn = store.add_title(marc, bibtype=str(record.leader)[6:8])
        record_id = store.add_record(isn, library.code, system, source_id, marc, version, quality, load_id, holdings)
        merged = titles.record_added(store, isn, record_id, marc, record, rules)
        return ("authority" if authority else "merged" if merged else "new"), ""
    if existing.marc == marc and store.record_holdings(existing.id) == holdings:
        return "unchanged", ""
    store.replace_record(existing.id, marc, version, quality, load_id, holdings)
    titles.record_changed(store, existing.isn, existing.id, record, rules)
    return "updated", ""


def _fits_iso2709(marc: bytes, record: pymarc.Record) -> bool:
    """ISO 2709 lengths have 4 (field) and 5 (record) digits; pymarc writes longer ones unchecked."""
    base = int(marc[12:17]) if marc[12:17].isdigit() else 0
    return len(marc) <= 99_999 and base - 25 == 12 * len(record.fields)


def _holdings(library: LibraryConfig, record: pymarc.Record, delivered: list[Holding]) -> tuple[list[Holding], list[str]]:
    if library.holdings == "record":
        return [Holding(library=library.code)], []
    if library.holdings == "pica" or delivered:
        own = [h for h in delivered if h.library == library.code]
        if library.holdings == "pica" and not own and delivered:
            # A PICA+ delivery from a union catalog carries many libraries' holdings; keep them all.
            return list(delivered), []
        return own or list(delivered), []
    return holdings_from_852(record, library.code)

