"""Loading one library's delivery into the catalog store (MELVYL's weekly/monthly load).

For each record: read → validate → maintenance key → new / update / unchanged / delete. The
main process only splits the delivery into records; worker processes parse and check them
(`prepare`, run by `pipeline`), and the main process looks up the maintenance key, matches and
writes, in delivery order. The search keys the workers worked out wait in the store for the index
phase (`handover`), so a title that still shows the record as delivered is not parsed again. Severe
errors (unreadable record, no title, no control number, no holdings where the source requires
them) put the record into the home's reject file with its position and reason; light errors
are counted per kind. A record whose 005 is before the stored record's is refused the same
way and counted as `older` (a late or repeated old file must not undo newer cataloguing), unless
the load is forced. Work is committed in batches, so a crash loses nothing already committed
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

import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from index import titles
from index.config import LibraryConfig
from index.consolidation.match import MatchRules
from index.home import Home
from index.loading.collector import fewer_collections
from index.loading.pipeline import cores, preparing
from index.loading.prepare import Prepared, Preparer
from index.records.detect import FORMAT_NAMES, HEAD, UnknownFormat, detect_format, seen_format
from index.records.marc import iso2709_records, marcxml_records
from index.records.model import LoadProblem, RawRecord
from index.rules.run import after_load as run_rules_after_load
from index.sources import SourceProfile
from index.store import loadlog
from index.store.catalog import CatalogStore

BATCH = 1000
# bytes, more than a delivered record takes on average (MARCXML ~3 KB): size // it undercounts the records
_LARGEST_RECORD = 10_000


@dataclass
class LoadReport:
    load_id: int
    library: str
    file: str
    format: str
    counts: Counter = field(default_factory=Counter)     # read new merged updated unchanged deleted rejected older
    problems: Counter = field(default_factory=Counter)   # light problems by kind
    reject_file: Path | None = None
    seconds: float = 0.0
    hint: str = ""   # what to change when many records were rejected for the configuration's sake
    rest_unread: bool = False   # the file broke off: what followed the last reject was not read
    changed_meanwhile: bool = False   # the file was written to while it was read

    def summary(self) -> str:
        c = self.counts
        rate = c["read"] / self.seconds if self.seconds else 0.0
        text = (f"{self.file}: {c['read']} read, {c['new']} new ({c['merged']} merged into existing titles),"
                f" {c['updated']} updated, {c['unchanged']} unchanged,"
                f" {c['deleted']} deleted, {c['rejected']} rejected"
                + (f" ({c['older']} older than the stored record)" if c["older"] else "")
                + f", {sum(self.problems.values())} light problems"
                f" ({rate:,.0f} records/s)")
        if c["authority"]:
            text += f"; {c['authority']} of the new records are authority records"
        if self.reject_file:
            text += f"; rejects in {self.reject_file}"
        if self.rest_unread:
            text += "\n  the file breaks off: the rest of it could not be read (the last reject says where)"
        if self.changed_meanwhile:
            text += ("\n  the file changed while it was read (written to or cut short meanwhile):"
                     " load it again once it is complete")
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


Progress = Callable[[int, int, int], None]   # (work done, work total, records read)


def _delivery(path: Path, fmt: str | None) -> tuple[str, bytes | BinaryIO]:
    """The delivery's format (given, or judged from its first records) and its bytes, or for an
    ISO 2709 file the open file, read as the records are needed, so the load's memory does not grow
    with the file (the XML and PICA+ readers take bytes). Raises `UnknownFormat` for a file in none
    of our formats, or given a format when it is plainly in another."""
    if path.exists() and not path.is_file() and not path.is_dir():   # /dev/zero would be read without end
        raise UnknownFormat("is not a file but a pipe or a device")
    handle = open(path, "rb")
    try:
        head = handle.read(HEAD)
        if fmt is None:
            fmt = detect_format(head)
        elif (seen := seen_format(head)) not in (None, fmt):   # read as asked, every record would be rejected
            raise UnknownFormat(f"looks like {FORMAT_NAMES[seen]}, not {FORMAT_NAMES[fmt]} as asked"
                                f" (load it as {seen}, or let the format be detected)")
        handle.seek(0)
        if fmt == "marc21":
            return fmt, handle
        with handle:
            return fmt, handle.read()
    except BaseException:
        handle.close()
        raise


def _state(handle: BinaryIO) -> tuple[int, int, int]:
    """Size, modification and change time of an open file: a change means it was written
    meanwhile (the change time too, as a copy that keeps the modification time, `cp -p`,
    `rsync -t`, puts that back)."""
    stat = os.fstat(handle.fileno())
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def split_delivery(data: bytes | BinaryIO, fmt: str) -> tuple[str, Iterator[RawRecord | LoadProblem]]:
    """The records of a delivery, found but not parsed, and the PICA+ serialization ("" for MARC)."""
    if fmt == "marc21":
        return "", iso2709_records(data)
    if fmt == "marcxml":
        return "", marcxml_records(data)
    if fmt == "pica":
        from index.records.pica import pica_records

        return pica_records(data)
    if fmt == "json":
        from index.records.marcjson_reader import marcjson_records

        return "", marcjson_records(data)
    raise ValueError(f"unknown format {fmt!r} (marc21, marcxml, pica or json)")


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


@fewer_collections()
def load_file(home: Home, store: CatalogStore, library: LibraryConfig, path: Path, *, fmt: str | None = None,
              encoding: str | None = None, source_system: str | None = None,
              progress: Progress | None = None, authority_only: bool = False,
              workers: int | None = None, force: bool = False, profile: SourceProfile | None = None,
              cluster: str = "") -> LoadReport:
    """Load one file for `library`, its records prepared in `workers` processes (default: one per
    core; 0: in this process), or on the workers of the Dask cluster at `cluster`. `force` lets a
    record older than the stored one (005) replace it.
    `profile` (`[sources.NAME]`, `index.sources`) gives what the arguments leave unset (format,
    encoding, source system, holdings rule) and changes each record before it is checked.
    Raises `LoadError` only if the file cannot be read at all or is
    in none of the formats we read (a gzip file, a text file, PICA-XML ...)."""
    from index.errors import LoadError

    if profile is not None:
        fmt, encoding = fmt or profile.format or None, encoding or profile.encoding or None
        source_system = source_system or profile.source_system or None
        if profile.holdings:
            library = replace(library, holdings=profile.holdings)
    try:
        fmt, data = _delivery(path, fmt)
    except OSError as error:
        raise LoadError(f"cannot read {path}: {error.strerror}") from None
    except UnknownFormat as error:   # refused as a whole: nothing stored, not even a load
        raise LoadError(f"{path} {error}; nothing loaded") from None
    streamed = not isinstance(data, bytes)   # an ISO 2709 file, read as the load goes
    state = _state(data) if streamed else (len(data), 0, 0)
    size = state[0]
    try:
        system = source_system or library.source_system
        consolidation = home.config().consolidation
        rules = consolidation.rules if consolidation.enabled else None
        started = time.monotonic()
        serialization, items = split_delivery(data, fmt)
        preparer = Preparer(library, fmt, encoding, serialization, authority_only, consolidate=rules is not None,
                            profile=profile)
        load_id = store.start_load(library.code, system, str(path), fmt)
        if profile is not None:   # every load says which profile it used
            loadlog.set_load_source(store, load_id, profile.name)
        report = LoadReport(load_id, library.code, str(path), fmt)
        rejects = _Rejects(home.rejects_dir / f"load-{load_id}-{library.code}.rej", library.code, path.name)
        expected = 0
        try:
            with store.fewer_checkpoints(), store.headings_indexed_at_end(size // _LARGEST_RECORD), \
                    preparing(preparer, items, cores() if workers is None else workers, cluster) as results:
                while True:
                    # One transaction per BATCH records, the load's counts with them: a crash loses at most
                    # the batch under way, and the titles it touched stay `pending` for the index.
                    with store.transaction():
                        batch = 0
                        for item, prepared in islice(results, BATCH):
                            batch += 1
                            report.counts["read"] += 1
                            outcome, reason = _apply(store, library, system, load_id, prepared, report.problems, rules,
                                                     force=force)
                            if outcome in ("merged", "authority"):
                                report.counts["new"] += 1
                            if outcome == "older":
                                report.counts["rejected"] += 1
                            elif prepared.reject.startswith("no holdings"):
                                report.counts["no holdings"] += 1
                            report.counts[outcome] += 1
                            if isinstance(item, LoadProblem) and item.rest_unread:
                                report.rest_unread = True
                            if reason:
                                store.add_reject(load_id, item.position, item.offset, reason, item.raw)
                                rejects.write(item.position, item.offset, reason, item.raw)
                                report.reject_file = rejects.path
                        finished = batch < BATCH
                        if finished:
                            report.seconds = time.monotonic() - started
                        store.update_load(load_id, report.counts, report.problems, finished=finished)
                    if finished:
                        break
                    batches = report.counts["read"] // BATCH
                    if batches & (batches - 1) == 0:   # after 1, 2, 4, 8 … batches: plans fit the growing tables
                        store.refresh_statistics()
                    if progress:
                        if fmt == "marcxml":   # no byte offsets from the XML parser: count records instead
                            expected = expected or len(re.findall(rb"<(?:\w+:)?record[\s>]", data))
                            progress(report.counts["read"], expected, report.counts["read"])
                        else:
                            progress(item.offset, max(size, item.offset), report.counts["read"])   # the file may grow
        finally:
            rejects.close()
        if streamed and _state(data) != state:   # cut short or rewritten while it was read
            report.changed_meanwhile = True
    finally:
        if streamed:
            data.close()
    if report.counts["no holdings"] and library.holdings == "852":
        # `unikat init` writes holdings = "852": a library without 852 fields loses every record.
        report.hint = (f"{report.counts['no holdings']} records rejected for want of an 852 of library"
                       f" {library.code}; if each record stands for one copy, set holdings = \"record\""
                       f" in [libraries.{library.code}] of unikat.toml")
    run_rules_after_load(store, home.config().virtual, load_id)   # LFER & co. for the titles it touched
    return report


def _apply(store: CatalogStore, library: LibraryConfig, system: str, load_id: int, prepared: Prepared,
           problems: Counter, rules: MatchRules | None = None, *, force: bool = False) -> tuple[str, str]:
    """Store one prepared record; returns the outcome and, for a rejected record, the reason.
    `rules` None: no consolidation."""
    problems.update(prepared.problems)
    if prepared.reject:
        return "rejected", prepared.reject
    existing = store.find_record(library.code, system, prepared.source_id)
    if prepared.deleted:
        if existing is None:
            problems["delete of an unknown record"] += 1
            return "unchanged", ""
        titles.delete_record(store, existing, rules)
        return "deleted", ""
    marc, holdings, facts = prepared.marc, list(prepared.holdings), prepared.facts
    if existing is None:
        isn = store.add_title(marc, bibtype=prepared.bibtype)
        record_id = store.add_record(isn, library.code, system, prepared.source_id, marc, prepared.version,
                                     prepared.quality, load_id, holdings)
        _offer_keys(store, isn, prepared)
        merged = titles.record_added(store, isn, record_id, marc, facts, rules)
        return "authority" if facts.authority else "merged" if merged else "new", ""
    if not force and _older(prepared.version, existing.version):
        # An old file delivered again (or late) must not undo newer cataloguing.
        return "older", (f"older than the stored record (005 {prepared.version} before {existing.version});"
                         " not replaced (unikat load --force replaces it)")
    if existing.marc == marc and store.record_holdings(existing.id) == holdings:
        return "unchanged", ""
    store.replace_record(existing.id, marc, prepared.version, prepared.quality, load_id, holdings)
    _offer_keys(store, existing.isn, prepared)
    titles.record_changed(store, existing.isn, existing.id, facts, rules)
    return "updated", ""


_VERSION = re.compile(r"(\d{14})(?:\.(\d))?")   # 005: yyyymmddhhmmss.f


def _older(delivered: str, stored: str) -> bool:
    """Whether the delivered 005 is before the stored one; False when either is missing or not
    a 005 timestamp (nothing to go by: the delivery wins, as it always did)."""
    new, old = _VERSION.fullmatch(delivered.strip()), _VERSION.fullmatch(stored.strip())
    if new is None or old is None:
        return False
    return (new[1], new[2] or "0") < (old[1], old[2] or "0")


def _offer_keys(store: CatalogStore, isn: int, prepared: Prepared) -> None:
    """The worker's keys for title `isn`, good for the index phase if the title still shows this
    record with these holdings then (`index.loading.handover`)."""
    if prepared.keys is not None:
        store.offer_keys(isn, prepared.digest, prepared.keys)
