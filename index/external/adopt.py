"""Copy cataloging: `unikat adopt ISN --library X` makes an external record one of library X's
own records, which then goes through validation, consolidation and the index like a loaded one.

The copy is written as a delivery file (`HOME/adopted/adopt-<ISN>-<X>.mrc`, ISO 2709 UTF-8, kept:
the load log names it) and loaded with the loader (`index.loading.load.load_file`), so every
rule of a load holds: the maintenance key, the 005 check, consolidation with the union catalog.

Provenance is kept in the record itself:
- 035 $a `(SOURCE)ID`: the source's name and the record's id there (its 001, or OAI identifier);
- 883 (metadata provenance) ind1 blank: $a `copy cataloging of a record harvested (PROTOCOL,
  query Q | set S)`, the process as the export writes it (`index.external.store.harvest_process`;
  883 $x is a validity end date, no place for a query) $d the day it was harvested (yyyymmdd)
  $q the source's name $u the server's URL $w `(SOURCE)ID`;
- 001 becomes the library's number for the record (`--id`; default: the source's 001, else the
  id), 003 is dropped (it named the source's system), 005 is now, and the source's holdings
  (852) are dropped;
- library X's holding: an 852 $a X (with $b location and $h call number when given), for a
  library whose holdings are in 852 fields; libraries with holdings = "record" get theirs
  from the rule.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pymarc

from index.config import LibraryConfig
from index.external.catalog import external_number, is_external
from index.external.store import ExternalStore, harvest_process
from index.home import Home

__all__ = ["AdoptError", "Adoption", "adopted_record"]


class AdoptError(Exception):
    """The record cannot be adopted; the message says why."""


@dataclass(frozen=True)
class Adoption:
    """The delivery file written for an adoption and the library's id of the record."""

    path: Path
    source_id: str


def adopted_record(home: Home, isn: int, library: LibraryConfig, *, record_id: str = "", location: str = "",
                   call_number: str = "") -> Adoption:
    """Write the copy of external record `isn` (its client-side number) for `library` as a
    delivery file; the caller loads it (`load_file`)."""
    if not is_external(isn):
        raise AdoptError(f"{isn} is not an external record (external records are numbered from 1,000,000,001:"
                         " search the external database)")
    store = ExternalStore(home)
    try:
        marc = store.marc(external_number(isn))
        source = store.provenance(external_number(isn))
    finally:
        store.close()
    if marc is None or source is None:
        raise AdoptError(f"there is no external record {isn} (deleted by a later harvest?)")
    record = pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
    remote = record.get("001")
    remote_number = (remote.data or "").strip() if remote is not None else ""
    key = f"({source.source}){remote_number or source.remote_id}"
    for tag in ("001", "003", "005", "852"):   # 852: the source's holdings, not the library's
        for field in record.get_fields(tag):
            record.remove_field(field)
    own_id = record_id or remote_number or re.sub(r"\W+", "-", source.remote_id).strip("-")
    record.add_ordered_field(pymarc.Field(tag="001", data=own_id))
    record.add_ordered_field(pymarc.Field(tag="005", data=time.strftime("%Y%m%d%H%M%S.0", time.gmtime())))
    if not any(value == key for field in record.get_fields("035") for value in field.get_subfields("a")):
        record.add_ordered_field(pymarc.Field(tag="035", indicators=[" ", " "], subfields=[pymarc.Subfield("a", key)]))
    provenance = [pymarc.Subfield("a", f"copy cataloging of a record {harvest_process(source)}"),
                  pymarc.Subfield("d", source.harvested[:10].replace("-", "")),
                  pymarc.Subfield("q", source.source), pymarc.Subfield("u", source.url), pymarc.Subfield("w", key)]
    record.add_ordered_field(pymarc.Field(tag="883", indicators=[" ", " "], subfields=provenance))
    if library.holdings in ("852", "852-all"):
        holding = [pymarc.Subfield("a", library.code)]
        holding += [pymarc.Subfield("b", location)] if location else []
        holding += [pymarc.Subfield("h", call_number)] if call_number else []
        record.add_ordered_field(pymarc.Field(tag="852", indicators=[" ", " "], subfields=holding))
    record.leader = record.leader[:9] + "a" + record.leader[10:]   # written as UTF-8
    path = home.root / "adopted" / f"adopt-{isn}-{library.code}.mrc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(record.as_marc())
    return Adoption(path, own_id)
