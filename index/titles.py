"""Title maintenance: keeping every title's members, master, merged display record and heading
links current as member records arrive, change and go, as titles merge and split, and as the
authority file changes.

This module decides which titles are re-evaluated after each change, and in what order; the
work itself is done elsewhere: `consolidation.clusters` re-forms titles from matching records
and returns the ISNs it touched, `consolidation.merge` chooses a master and builds the merged
record, `authority.link` links headings and names the titles an authority change affects.
Those modules never call back here, so no refresh callback is passed around.

- `record_added`, `record_changed`, `delete_record`: one member record, as a load applies it,
  described by its `RecordFacts` (worked out where the record was parsed: a load's worker
  processes), so title maintenance parses a record again only to link its headings to the
  authority file;
- `reconsolidate`: every title re-formed from scratch (`unikat clusters --rebuild`);
- `refresh_title`: one title's master, merged display record and heading links.

Everything runs inside the caller's `store.transaction()`. This module knows the store's
methods, not SQL, file formats or the search engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pymarc

from index.authority.headings import BIB_HEADING_TAGS, heading_of
from index.authority.link import SEE_FROM_TAG, authority_changed, authority_removed, link_display
from index.consolidation import clusters
from index.consolidation.keys import MatchElements, elements
from index.consolidation.match import MatchRules
from index.consolidation.merge import Member, merged_record, ordered_members
from index.store.catalog import CatalogStore, StoredRecord

__all__ = ["RecordFacts", "delete_record", "facts", "reconsolidate", "record_added", "record_changed",
           "refresh_title"]


@dataclass(frozen=True)
class RecordFacts:
    """What title maintenance needs to know of a member record besides its ISO 2709 bytes."""

    authority: bool                           # leader/06 `z`
    profile: MatchElements | None             # consolidation short form; None without consolidation
    headings: tuple[tuple[str, str], ...]     # (kind, key) of its bibliographic headings
    see_from: bool                            # it carries 989 fields of its own (`index.authority.link`)


def facts(record: pymarc.Record, *, consolidate: bool) -> RecordFacts:
    """The facts of a parsed record, as a load's worker processes work them out."""
    authority = _is_authority(record)
    headings = tuple((heading[0], heading[1]) for field in record.fields
                     if field.tag in BIB_HEADING_TAGS and (heading := heading_of(field)) is not None)
    return RecordFacts(authority=authority,
                       profile=elements(record) if consolidate and not authority else None,
                       headings=headings,
                       see_from=any(field.tag == SEE_FROM_TAG for field in record.fields))


def refresh_title(store: CatalogStore, isn: int) -> None:
    """Choose the title's master (best quality, then oldest) and set its merged display record,
    its headings linked to the authority file. For an authority record: file its headings and
    re-link the titles using them. A title without members is left alone."""
    members = [Member(m.id, m.library, m.source_system, m.source_id, m.quality, m.marc)
               for m in store.records_of_title(isn)]
    if not members:
        return
    master = ordered_members(members)[0]
    if store.bibtype(isn).startswith("z"):
        store.set_display(isn, master.marc, master.id)
        _refresh_all(store, authority_changed(store, isn, master.marc))
        return
    store.set_display(isn, link_display(store, isn, merged_record(members)), master.id)


def record_added(store: CatalogStore, isn: int, record_id: int, marc: bytes, facts: RecordFacts,
                 rules: MatchRules | None) -> bool:
    """Set up the title `isn` just made for new member record `record_id` (`marc` as stored):
    its display record, and with `rules` (None: no consolidation) its match data and a join with
    the title it wholly matches. Returns True when the record joined an existing title. An authority
    record files its headings and re-links the titles using them."""
    if facts.authority:
        refresh_title(store, isn)
        return False
    if facts.see_from or store.has_authorities():
        display = link_display(store, isn, marc, new=True)
    else:   # nothing to link: `link_display` would only record the headings
        store.set_title_headings(isn, facts.headings, new=True)
        display = marc
    store.set_display(isn, display, record_id)
    if rules is None or facts.profile is None:
        return False
    keys = clusters.file_record(store, record_id, facts.profile, new=True)
    joined = clusters.place(store, record_id, facts.profile, rules, keys)
    if joined is None:
        return False
    refresh_title(store, joined)
    return True


def record_changed(store: CatalogStore, isn: int, record_id: int, facts: RecordFacts,
                   rules: MatchRules | None) -> None:
    """Re-evaluate title `isn` after its member record `record_id` was replaced by one with
    `facts`: with `rules`, the record may leave its title and join another; every title
    that results is refreshed."""
    if rules is None or facts.authority or facts.profile is None:
        refresh_title(store, isn)
        return
    clusters.file_record(store, record_id, facts.profile)
    _refresh_all(store, clusters.record_changed(store, isn, record_id, facts.profile, rules))


def delete_record(store: CatalogStore, record: StoredRecord, rules: MatchRules | None) -> None:
    """Delete member record `record` and re-evaluate what it leaves: the rest of its title (which
    may merge with a title it now wholly matches), or, for an authority record, the titles that used
    its headings. A title left without members is deleted with it."""
    authority = store.bibtype(record.isn).startswith("z")
    headings = store.authority_headings(record.isn) if authority else []
    store.delete_record(record.id)
    if authority:
        _refresh_all(store, authority_removed(store, headings))
    elif rules is not None:
        _refresh_all(store, clusters.record_deleted(store, record.isn, rules))
    elif store.display(record.isn) is not None:
        refresh_title(store, record.isn)


def reconsolidate(store: CatalogStore, rules: MatchRules,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Re-form every title from scratch (`clusters.reconsolidate`) and refresh those that changed.
    Returns counts: records, titles, clusters, titles_changed."""
    counts, touched = clusters.reconsolidate(store, rules, progress)
    _refresh_all(store, touched)
    return counts


def _refresh_all(store: CatalogStore, isns: list[int]) -> None:
    for isn in isns:
        refresh_title(store, isn)


def _is_authority(record: pymarc.Record) -> bool:
    return str(record.leader)[6:7] == "z"
