"""One record sent by a library, applied the way a load applies it: a catalog update over the
network (Z39.50 Extended Services Update, `zserver.z3950.update`) rather than a delivery file.

The maintenance-key rules of `index.loading.load` apply unchanged: the key is the library, its
source system and the record's control number (001); the record is prepared, checked
(`index.loading.prepare`: control number, title, holdings by the library's rule, ISO 2709 size),
consolidated and marked pending for the index by the loader's own `_apply`, inside one store
transaction; each update is a load of its own in the load log (file "z3950 update by USER"),
with its reject when refused, and the loader's after-load rules run for it.

What an update adds to a load are the actions and who may take them:

- insert: the library has no record with this control number yet;
- replace: the library has one (a replace with an older 005 is refused, as a load refuses it);
- delete: the library has one; it leaves its title, as a deleted record of a load does;
- upsert (Z39.50 specialUpdate): insert or replace, whichever applies.

A library changes and deletes only its own contributions: a replace or delete of a control
number only another library has is refused and names that library. Every refusal is an
`UpdateRefused` whose message says why; nothing is written then but the load log's entry.

This module decides what an update does; it neither knows Z39.50 nor updates the index
(`index.loading.catchup` does, beside the server).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, replace

from index.config import Config, LibraryConfig
from index.consolidation.match import MatchRules
from index.loading.load import _apply, split_delivery
from index.loading.prepare import Prepared, Preparer
from index.records.detect import UnknownFormat, detect_format
from index.records.model import LoadProblem
from index.rules.run import after_load as run_rules_after_load
from index.store.catalog import CatalogStore

__all__ = ["Action", "UpdateOutcome", "UpdateRefused", "apply_update", "record_format"]

FORMATS = ("marc21", "marcxml")


class Action(enum.Enum):
    INSERT = "insert"
    REPLACE = "replace"
    DELETE = "delete"
    UPSERT = "upsert"


class Refusal(enum.Enum):
    """Why an update is refused, for the protocol's diagnostic."""

    NOT_OWNER = "not owner"        # the record is another library's
    INVALID = "invalid"            # unreadable, or fails the loader's checks
    CONFLICT = "conflict"          # insert of a known record, replace/delete of an unknown one


class UpdateRefused(Exception):
    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class UpdateOutcome:
    """What an update did: `outcome` as a load counts it (new, merged, updated, unchanged,
    deleted), the record's control number and the title (ISN) it belongs (or belonged) to."""

    outcome: str
    library: str
    source_id: str
    isn: int
    load_id: int


def record_format(data: bytes) -> str:
    """`marc21` or `marcxml` for one record's bytes, judged from them (yaz-client labels every
    record it sends XML, ISO 2709 too). Raises UpdateRefused for anything else."""
    try:
        found = detect_format(data[:4096])
    except UnknownFormat:
        found = ""
    if found not in FORMATS:
        raise UpdateRefused(Refusal.INVALID, "the record is neither MARC21 (ISO 2709) nor MARCXML"
                            + (f" ({found})" if found else ""))
    return found


def _prepared(library: LibraryConfig, data: bytes, fmt: str, consolidate: bool) -> Prepared:
    """The one record of `data`, prepared and checked as a load's worker does it."""
    _, items = split_delivery(data, fmt)
    found = list(items)
    if len(found) != 1:
        raise UpdateRefused(Refusal.INVALID, f"an update carries one record, this one {len(found)}")
    item = found[0]
    prepared = Preparer(library, fmt, consolidate=consolidate).prepare(item)
    if isinstance(item, LoadProblem) or prepared.reject:
        raise UpdateRefused(Refusal.INVALID, f"record refused: {prepared.reject}")
    return prepared


def apply_update(store: CatalogStore, config: Config, library: LibraryConfig, action: Action, data: bytes | None,
                 *, record_id: str | None = None, user: str = "") -> UpdateOutcome:
    """Apply one update of `library`'s records. `data` is the record (MARC21 or MARCXML; a delete
    may go without, given `record_id`); `record_id`, when given, is the control number meant and
    must agree with the record's 001. Raises UpdateRefused (and records it in the load log)."""
    fmt = record_format(data) if data else "marc21"
    consolidation = config.consolidation
    rules = consolidation.rules if consolidation.enabled else None
    with store.transaction():
        load_id = store.start_load(library.code, library.source_system,
                                   f"z3950 update {action.value} by {user or '-'}", fmt)
    problems: Counter = Counter()
    try:
        prepared = _record(library, action, data, fmt, record_id, rules is not None)
        problems.update(prepared.problems)
        with store.transaction():
            done = _store(store, library, action, prepared, load_id, rules)
            counts = Counter(["read", done.outcome] + (["new"] if done.outcome in ("merged", "authority") else []))
            store.update_load(load_id, counts, problems, finished=True)
    except UpdateRefused as refused:
        with store.transaction():
            store.add_reject(load_id, 1, 0, refused.message, data or b"")
            store.update_load(load_id, Counter(read=1, rejected=1), problems, finished=True)
        raise
    run_rules_after_load(store, config.virtual, load_id)
    return UpdateOutcome(done.outcome, library.code, prepared.source_id, done.isn, load_id)


@dataclass(frozen=True)
class _Done:
    outcome: str
    isn: int


def _record(library: LibraryConfig, action: Action, data: bytes | None, fmt: str, record_id: str | None,
            consolidate: bool) -> Prepared:
    """The update's record prepared and checked (a delete needs only its control number)."""
    if not data:
        if action is Action.DELETE and record_id:
            return Prepared(deleted=True, source_id=record_id)
        raise UpdateRefused(Refusal.INVALID, f"an update {action.value} needs a record")
    if action is Action.DELETE:   # only the control number counts: holdings are not asked for
        library = replace(library, require_holdings=False)
    prepared = _prepared(library, data, fmt, consolidate)
    if record_id and record_id != prepared.source_id:
        raise UpdateRefused(Refusal.INVALID, f"the record id {record_id!r} is not the record's control number"
                            f" (001 {prepared.source_id!r})")
    if action is Action.DELETE:
        return Prepared(deleted=True, source_id=prepared.source_id, problems=prepared.problems)
    return prepared


def _store(store: CatalogStore, library: LibraryConfig, action: Action, prepared: Prepared, load_id: int,
           rules: MatchRules | None) -> _Done:
    """Write the update as the loader writes a record (`index.loading.load._apply`)."""
    source_id, system = prepared.source_id, library.source_system
    existing = store.find_record(library.code, system, source_id)
    _allowed(store, library.code, action, source_id, existing is not None)
    outcome, reason = _apply(store, library, system, load_id, prepared, Counter(), rules)
    if reason:   # an older 005: refused as a load refuses it
        raise UpdateRefused(Refusal.CONFLICT, f"record {source_id} refused: {reason}")
    found = existing or store.find_record(library.code, system, source_id)
    return _Done(outcome, found.isn if found is not None else 0)


def _allowed(store: CatalogStore, library: str, action: Action, source_id: str, exists: bool) -> None:
    """Raise UpdateRefused unless `library` may take `action` on its record `source_id`."""
    if action is Action.INSERT and exists:
        raise UpdateRefused(Refusal.CONFLICT, f"library {library} already has record {source_id}"
                            " (replace changes it)")
    if action in (Action.REPLACE, Action.DELETE) and not exists:
        owners = store.other_libraries_with_record(source_id, library)
        if owners:
            raise UpdateRefused(Refusal.NOT_OWNER, f"record {source_id} is library {', '.join(owners)}'s, not"
                                f" {library}'s: a library changes and deletes only its own records")
        verb = "replace" if action is Action.REPLACE else "delete"
        raise UpdateRefused(Refusal.CONFLICT, f"library {library} has no record {source_id} to {verb}"
                            " (insert adds it)")
