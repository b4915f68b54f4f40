"""The master of a cluster and its merged display record (MELVYL's "Datenzusammenführung").

**Master.** The member with the best quality score (`index/records/quality.py` plus the
library's configured priority, stored with each member); on a tie the oldest member.

**Merged record.** The master's record as delivered, plus every field of the other members
that the master does not already carry, each tagged with its source: the library's code in
`$5` (MARC 21 "institution to which field applies"), so it is shown, indexed and searchable,
and every library's cataloguing stays visible. The convention:

- Merged are identifiers (020 022 024 028), classification (050 082 084), names (1XX 7XX),
  titles (245 240 130 246 730 740), series (490 8XX), notes (5XX), subjects (6XX) and links (856).
  Fields that describe one library's copy or one manifestation's physical form (001-008, 250,
  26X, 300, 852 and other holdings, 9XX) come from the master only.
- Non-repeatable tags become their repeatable counterparts: a member's 100/110/111/130 is added
  as 700/710/711/730, its 240 as 730, and its 245 as 246 1_ (title as that library gives it).
- "Already present" is decided on normalized text (case, diacritics and punctuation folded;
  `$5 $6 $8 $0 $1` and indicators ignored; ISBN-10 and ISBN-13 equal), so a trailing period or
  `p.` against `pages` adds nothing, while another subject heading, another form of a name or
  another title does.
- Each other member's maintenance key is added as `035 $a (<source system>)<record id> $5 <library>`,
  so a search for any library's record number finds the title.

Members are merged in order of quality (then age); the first member to bring a field is the
one named in its `$5`. Pure functions over ISO 2709 bytes; nothing here touches the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pymarc
from pymarc import Field, Indicators, Subfield

from index.searchkeys.normalize import normalize, normalize_isbn

__all__ = ["Member", "choose_master", "merged_record", "ordered_members"]

SOURCE_CODE = "5"
_IGNORED_CODES = frozenset("015689")
_MERGED_FIXED = frozenset({"020", "022", "024", "028", "050", "082", "084", "100", "110", "111", "130", "240",
                           "245", "246", "490", "730", "740", "856"})
_RENAMED = {"100": "700", "110": "710", "111": "711", "130": "730", "240": "730", "245": "246"}
# Tags whose content is compared as one family (a 100 and a 700 with the same name are the same).
_FAMILY = {"100": "x00", "700": "x00", "110": "x10", "710": "x10", "111": "x11", "711": "x11",
           "130": "x30", "240": "x30", "730": "x30", "245": "title", "246": "title"}
_TITLE_CODES = "abnp"


@dataclass(frozen=True)
class Member:
    """One library's record in a cluster, as merging needs it."""

    id: int
    library: str
    source_system: str
    source_id: str
    quality: int
    marc: bytes


def ordered_members(members: Sequence[Member]) -> list[Member]:
    """Members best first: highest quality, then oldest (lowest id). The first is the master."""
    return sorted(members, key=lambda m: (-m.quality, m.id))


def choose_master(members: Sequence[Member]) -> Member:
    return ordered_members(members)[0]


def _merged_tag(tag: str) -> bool:
    """Notes, subjects, added entries (not the 76X-78X links), series and the fixed list above."""
    return (tag in _MERGED_FIXED or tag[:1] in ("5", "6") or "700" <= tag <= "758"
            or tag in ("800", "810", "811", "830"))


def _field_key(field: Field) -> tuple[str, str] | None:
    tag = field.tag
    family = _FAMILY.get(tag, tag)
    if tag == "020":
        forms = [f for v in field.get_subfields("a", "z") for f in normalize_isbn(v) if len(f) == 13]
        return (family, forms[0]) if forms else None
    if family == "title":
        text = " ".join(sf.value for sf in field.subfields if sf.code in _TITLE_CODES)
    else:
        text = " ".join(sf.value for sf in field.subfields if sf.code not in _IGNORED_CODES)
    key = normalize(text)
    return (family, key) if key else None


def _as_added(field: Field, library: str) -> Field:
    """The member's field as it goes into the merged record: repeatable tag, `$5 library`."""
    tag = _RENAMED.get(field.tag, field.tag)
    subfields = [sf for sf in field.subfields if sf.code != SOURCE_CODE]
    indicators = list(field.indicators)
    if field.tag == "245":
        subfields = [sf for sf in subfields if sf.code in _TITLE_CODES]
        indicators = ["1", " "]
    elif tag != field.tag:
        indicators = [indicators[0], " " if field.tag != "240" else "2"]
        if field.tag == "240":
            indicators = ["0", " "]
    return Field(tag=tag, indicators=Indicators(*indicators), subfields=subfields + [Subfield(SOURCE_CODE, library)])


def merged_record(members: Sequence[Member]) -> bytes:
    """The display record of a cluster (ISO 2709, UTF-8): the master plus the others' added fields."""
    ordered = ordered_members(members)
    master = ordered[0]
    if len(ordered) == 1:
        return master.marc
    record = pymarc.Record(data=master.marc, to_unicode=True, force_utf8=True)
    present = {key for f in record.fields if not f.is_control_field() and (key := _field_key(f))}
    added: list[Field] = []
    for member in ordered[1:]:
        other = pymarc.Record(data=member.marc, to_unicode=True, force_utf8=True)
        for field in other.fields:
            if field.is_control_field() or not _merged_tag(field.tag):
                continue
            key = _field_key(field)
            if key is None or key in present:
                continue
            present.add(key)
            added.append(_as_added(field, member.library))
        number = f"({member.source_system}){member.source_id}"
        added.append(Field(tag="035", indicators=Indicators(" ", " "),
                           subfields=[Subfield("a", number), Subfield(SOURCE_CODE, member.library)]))
    return _with_fields(record, added)


def _with_fields(record: pymarc.Record, added: list[Field]) -> bytes:
    """The record with `added` in tag order, as many as ISO 2709's 99,999 bytes allow."""
    size = len(record.as_marc())
    for field in added:
        grows = len(field.as_marc("utf-8")) + 12
        if size + grows > 99_999:
            break
        size += grows
        record.add_ordered_field(field)
    return record.as_marc()
