"""Linking bibliographic headings to the authority file, and keeping the links current.

**Link.** A heading of a title's display record (see `headings`) is linked to the authority
record that its `$0` names, or else to the one authority record that has the heading as its
established (1XX) or see-from (4XX) form; an ambiguous heading stays unlinked. A linked heading
gets the authority's number in `$0` (`(003)001`, MARC 21's authority record control number),
and the display record gets one field per other form of the authority (its established form
when the title uses a variant, and every see-from form):

    989 __ $a Twain, Mark, 1835-1910 $9 700 $0 (DLC)n  79021164

989 is unikat's local field "see-from form of a linked heading": `$a` the form as the authority
gives it, `$9` the tag of the heading it belongs to, `$0` the authority record. The search keys
index a 989 as if it were that heading (`index.searchkeys.extract`), so a search on any variant
finds the titles filed under the established form, and a scan lists the variants. A 989 that a
library delivers itself is dropped from the display (its record keeps it).

**Current.** Every title's headings are kept in the store (`title_headings`); when an authority
record is added, changed or deleted, `authority_changed` and `authority_removed` name the titles
using any of its old or new headings, and `index.titles` refreshes them (re-merged and re-linked).
This module never calls back into `index.titles`.
"""

from __future__ import annotations

import pymarc
from pymarc import Field, Indicators, Subfield

from index.authority.headings import (
    BIB_HEADING_TAGS,
    authority_forms,
    authority_ids,
    heading_of,
    linked_ids,
)
from index.store.catalog import CatalogStore

__all__ = ["SEE_FROM_TAG", "authority_changed", "authority_removed", "link_display"]

SEE_FROM_TAG = "989"


def _authority_number(store: CatalogStore, isn: int, cache: dict[int, str]) -> str:
    if isn not in cache:
        record = pymarc.Record(data=store.display(isn), to_unicode=True, force_utf8=True)
        control = record.get("001")
        system = record.get("003")
        number = control.data if control is not None else str(isn)
        cache[isn] = f"({system.data}){number}" if system is not None and system.data else number
    return cache[isn]


def _linked_authority(store: CatalogStore, field: Field, kind: str, key: str) -> int | None:
    by_id = store.authorities_with_id(linked_ids(field))
    if len(by_id) == 1:
        return by_id[0]
    by_heading = store.authorities_with_heading(kind, key)
    return by_heading[0] if len(by_heading) == 1 else None


def link_display(store: CatalogStore, isn: int, marc: bytes, record: pymarc.Record | None = None, *,
                 new: bool = False) -> bytes:
    """The bibliographic display record with its headings linked; records the title's headings.

    `record` is `marc` already parsed, if the caller has it (it may be changed); `new`: the title
    has no headings recorded yet."""
    record = record if record is not None else pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
    delivered_989 = record.get_fields(SEE_FROM_TAG)
    headings = []
    for field in record.fields:
        if field.tag in BIB_HEADING_TAGS and (heading := heading_of(field)) is not None:
            headings.append(heading)
    store.set_title_headings(isn, [(kind, key) for kind, key, _ in headings], new=new)
    if not delivered_989 and not store.has_authorities():
        return marc
    for field in delivered_989:
        record.remove_field(field)
    numbers: dict[int, str] = {}
    added: list[Field] = []
    seen: set[tuple[str, str, str]] = set()
    for field in list(record.fields):
        if field.tag not in BIB_HEADING_TAGS or (heading := heading_of(field)) is None:
            continue
        kind, key, _text = heading
        authority = _linked_authority(store, field, kind, key)
        if authority is None:
            continue
        number = _authority_number(store, authority, numbers)
        if number not in field.get_subfields("0"):
            field.add_subfield("0", number)
        for form, form_kind, form_key, text in store.authority_headings(authority):
            if form == "r" or form_kind != kind or form_key == key or (field.tag, form_kind, form_key) in seen:
                continue
            seen.add((field.tag, form_kind, form_key))
            added.append(Field(tag=SEE_FROM_TAG, indicators=Indicators(" ", " "),
                               subfields=[Subfield("a", text), Subfield("9", field.tag), Subfield("0", number)]))
    for field in added:
        record.add_ordered_field(field)
    return record.as_marc()


def authority_changed(store: CatalogStore, isn: int, marc: bytes) -> list[int]:
    """Record authority title `isn`'s headings and identifiers (`marc` its record, ISO 2709);
    returns the ISNs of the titles using any of its old or new headings, in order, to be refreshed."""
    record = pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
    old = {(kind, key) for _form, kind, key, _text in store.authority_headings(isn)}
    forms = authority_forms(record)
    store.set_authority(isn, [(f.form, f.kind, f.key, f.text) for f in forms], authority_ids(record))
    return sorted(store.titles_with_headings(old | {(f.kind, f.key) for f in forms}))


def authority_removed(store: CatalogStore, headings: list[tuple[str, str, str, str]]) -> list[int]:
    """After an authority title is gone (`headings` its (form, kind, key, heading) as they were):
    the ISNs of the titles that used them, in order, to be refreshed."""
    return sorted(store.titles_with_headings({(kind, key) for _form, kind, key, _text in headings}))
