"""Deletion lists: how a PICA+ delivery deletes records (`unikat load --delete-list FILE`).

MARC deliveries delete with a record whose leader/05 is `d`. PICA+ has no such mark: the
K10plus union catalog (GBV and BSZ) exports the records that exist, and delivers the deletions
beside them as a list of PPNs, the "LOEKXP"/"LOEPPN" files. Each line of those is

    YYDDDHHMMSS  indicator  PPN  [ILN]

11 digits of date and time, one indicator character, the PPN (9 or, since 2018, 10 characters,
the last a check digit or X) and, for local data, the 4-digit ILN of the library. Indicators
A-E delete the whole title record; 3, 4, 5 and 9 delete one library's local data (its copies),
as BSZ documents them and as the Tübingen ub_tools (`BSZUtil::ExtractDeletionIds`) read them.
We read that format, and for other sources a plain list: one PPN a line (`PPN` before it
allowed), `#` comments and blank lines skipped. A line in neither form stops the list before
anything is deleted, naming the line.

A title deletion removes the library's record with that PPN (its maintenance key, 001 from 003@,
with the source profile's id prefix) as a MARC `d` record would: the record leaves its title,
which is re-evaluated or deleted. A local-data line is not applied: a library's copies come
with its record (`holdings = "pica"`), so the record delivered again without them says it; such
lines are counted and reported. A PPN the library has no record of is counted, not an error
(deletion lists overlap).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from index import titles
from index.config import LibraryConfig
from index.errors import LoadError
from index.home import Home
from index.rules.run import after_load as run_rules_after_load
from index.store.catalog import CatalogStore

__all__ = ["DeletionList", "apply_deletion_list", "read_deletion_list"]

TITLE_INDICATORS = "ABCDE"
LOCAL_INDICATORS = "3459"
_PPN = r"\d{8,9}[\dXx]"
_K10PLUS = re.compile(rf"(\d{{11}})([{TITLE_INDICATORS}{LOCAL_INDICATORS}])({_PPN})\s*(\d{{4}})?")
_PLAIN = re.compile(rf"(?:PPN\s*)?({_PPN})")
BATCH = 1000


@dataclass
class DeletionList:
    titles: list[str] = field(default_factory=list)                # PPNs whose title record goes
    local: list[tuple[str, str]] = field(default_factory=list)     # (PPN, ILN) of local-data deletions


def read_deletion_list(path: Path) -> DeletionList:
    """The PPNs of a K10plus deletion list or a plain one; raises `LoadError` for a file that
    cannot be read or a line in neither form (nothing is deleted then)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise LoadError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise LoadError(f"{path} is not a deletion list (not UTF-8 text); nothing deleted") from None
    found = DeletionList()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if match := _K10PLUS.fullmatch(line):
            _, indicator, ppn, iln = match.groups()
            if indicator in TITLE_INDICATORS:
                found.titles.append(ppn.upper())
            else:
                found.local.append((ppn.upper(), iln or ""))
        elif match := _PLAIN.fullmatch(line):
            found.titles.append(match.group(1).upper())
        else:
            raise LoadError(f"{path} line {number}: {line[:60]!r} is neither a K10plus deletion line"
                            " (YYDDDHHMMSS, indicator A-E or 3/4/5/9, PPN, ILN) nor a PPN; nothing deleted")
    return found


@dataclass
class DeletionReport:
    file: str
    counts: Counter = field(default_factory=Counter)   # listed deleted unknown local
    seconds: float = 0.0

    def summary(self) -> str:
        c = self.counts
        text = (f"{self.file}: {c['listed']} PPNs listed, {c['deleted']} records deleted,"
                f" {c['unknown']} not held by the library")
        if c["local"]:
            text += (f"; {c['local']} local-data lines not applied (a library's copies come with its record:"
                     " deliver the record again)")
        return text


def apply_deletion_list(home: Home, store: CatalogStore, library: LibraryConfig, path: Path, *,
                        source_system: str | None = None, id_prefix: str = "") -> DeletionReport:
    """Delete the records of `library` the list at `path` names, in batches; a load of its own
    in the load log (format `deletions`)."""
    listed = read_deletion_list(path)
    system = source_system or library.source_system
    config = home.config()
    consolidation = config.consolidation
    rules = consolidation.rules if consolidation.enabled else None
    report = DeletionReport(str(path))
    report.counts["listed"] = len(listed.titles)
    report.counts["local"] = len(listed.local)
    load_id = store.start_load(library.code, system, str(path), "deletions")
    started = time.monotonic()
    for start in range(0, max(len(listed.titles), 1), BATCH):
        with store.transaction():
            for ppn in listed.titles[start:start + BATCH]:
                existing = store.find_record(library.code, system, id_prefix + ppn)
                if existing is None:
                    report.counts["unknown"] += 1
                    continue
                titles.delete_record(store, existing, rules)
                report.counts["deleted"] += 1
            finished = start + BATCH >= len(listed.titles)
            counts = Counter(read=report.counts["listed"], deleted=report.counts["deleted"],
                             unchanged=report.counts["unknown"])
            store.update_load(load_id, counts, Counter(), finished=finished)
    run_rules_after_load(store, config.virtual, load_id)
    report.seconds = time.monotonic() - started
    return report
