"""Librarians' overrides of consolidation: split, merge, keep-apart, pin; and undo.

The machine is sometimes wrong; a librarian's word then stands, on every later load and every
full rebuild, until it is undone. Each override is stored (`index.store.corrections`) with a
note, who made it and when, and names member records by maintenance key:

- `split ISN RECORD...`: the named records leave the title (as one new title) and are kept
  apart from the rest; the larger part keeps the number;
- `merge ISN ISN...`: the titles' records become one title, under the oldest number, and stay
  together whatever the matcher says; the other numbers answer as it;
- `keep-apart ISN ISN`: no record of one title ever shares a title with a record of the other;
- `pin ISN`: the title stays as it is: its records stay together and it takes no other record.

For clustering they are `Constraints` (`constraints(store)`). An override is never dropped when
a later delivery contradicts it – it is kept, applied, and reported by `status`: a named record
deleted, or changed so that the matcher's word on the override's pairs is no longer what it was
when the override was made. Applying an override or its undo re-forms only the titles involved
(`_reform`), as a full rebuild would form them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from index.consolidation.clusters import Clustering, Constraints, profile_of, settle
from index.consolidation.match import MatchRules, compare
from index.store import corrections
from index.store.catalog import CatalogStore
from index.store.corrections import Override

__all__ = ["ACTIONS", "OverrideError", "Status", "apply", "constraints", "status", "undo"]

ACTIONS = ("split", "merge", "keep-apart", "pin")
_MAX_PAIRS = 400   # verdicts remembered per override (for contradiction reports)


class OverrideError(ValueError):
    """An override that cannot be made (the message says why)."""


def constraints(store: CatalogStore) -> Constraints:
    """The overrides in force as constraints on member record ids."""
    apart: set[frozenset] = set()
    together: dict[int, int] = {}
    pinned: dict[int, int] = {}
    for override in corrections.overrides(store):
        sides = [[m.record_id for m in override.side(n) if m.record_id is not None] for n in (0, 1)]
        if override.action in ("split", "keep-apart"):
            apart.update(frozenset((a, b)) for a in sides[0] for b in sides[1])
        else:
            for record_id in sides[0]:
                _join_group(together, record_id, override.id)
            if override.action == "pin":
                pinned.update((r, override.id) for r in sides[0])
    return Constraints(frozenset(apart), together, pinned)


def _join_group(together: dict[int, int], record_id: int, group: int) -> None:
    # Two merges sharing a record are one group: re-number the older group.
    old = together.get(record_id)
    if old is not None and old != group:
        for other, g in list(together.items()):
            if g == old:
                together[other] = group
    together[record_id] = group


@dataclass(frozen=True)
class Status:
    override: Override
    problems: tuple[str, ...]     # empty: it holds as made


def apply(store: CatalogStore, rules: MatchRules, action: str, isns: list[int], records: list[int],
          note: str, by: str) -> tuple[int, list[int]]:
    """Make an override and re-form the titles it touches; returns its number and the ISNs of
    the titles to refresh. Raises OverrideError saying why it cannot be made."""
    if action not in ACTIONS:
        raise OverrideError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    members_of = {}
    for isn in isns:
        if store.display(isn) is None:
            moved = corrections.redirect(store, isn)
            raise OverrideError(f"no title {isn}" + (f" (it was merged into {moved})" if moved else ""))
        if store.bibtype(isn).startswith("z"):
            raise OverrideError(f"title {isn} is an authority record, not a cluster")
        members_of[isn] = [r.id for r in store.records_of_title(isn)]
    if action == "split":
        if len(isns) != 1 or not records:
            raise OverrideError("split takes one title and the records to take out of it")
        stray = sorted(set(records) - set(members_of[isns[0]]))
        if stray:
            raise OverrideError(f"record(s) {', '.join(map(str, stray))} are not members of title {isns[0]}")
        if set(records) == set(members_of[isns[0]]):
            raise OverrideError("a split must leave at least one record in the title")
        sides = [sorted(set(records)), sorted(set(members_of[isns[0]]) - set(records))]
    elif action == "keep-apart":
        if len(isns) != 2 or isns[0] == isns[1]:
            raise OverrideError("keep-apart takes two different titles")
        sides = [members_of[isns[0]], members_of[isns[1]]]
    elif action == "merge":
        if len(set(isns)) < 2:
            raise OverrideError("merge takes two or more different titles")
        sides = [sorted(r for isn in isns for r in members_of[isn]), []]
    else:
        if len(isns) != 1:
            raise OverrideError("pin takes one title")
        sides = [members_of[isns[0]], []]
    if records and action != "split":
        raise OverrideError(f"{action} names titles only (records are for split)")
    number = corrections.add_override(store, action, isns, note, by,
                                      [(side, r) for side, ids in enumerate(sides) for r in ids],
                                      _verdicts(store, rules, action, sides))
    return number, _reform(store, rules, [r for ids in sides for r in ids])


def undo(store: CatalogStore, rules: MatchRules, number: int, by: str) -> list[int]:
    """Undo override `number` and re-form the titles its records are in now; returns the ISNs to
    refresh. Raises OverrideError when there is no such override in force."""
    found = corrections.overrides(store, number=number)
    if not found:
        undone = corrections.overrides(store, number=number, with_undone=True)
        raise OverrideError(f"override {number} was already undone" if undone else f"no override {number}")
    corrections.undo_override(store, number, by)
    present = [m for m in found[0].members if m.record_id is not None]
    return _reform(store, rules, [m.record_id for m in present],
                   prefer={m.record_id: m.isn for m in present if m.isn is not None})


def status(store: CatalogStore, rules: MatchRules, override: Override) -> Status:
    """What a later delivery changed about an override (it stays in force regardless)."""
    problems = []
    for member in override.members:
        if member.record_id is None:
            problems.append(f"record {member.library}/{member.source_system}/{member.source_id} was deleted by a"
                            " later delivery")
        elif member.current_version != member.version:
            problems.append(f"record {member.library}/{member.source_system}/{member.source_id} changed since"
                            f" (version {member.version or '-'} -> {member.current_version or '-'})")
    if any(m.record_id is not None and m.current_version != m.version for m in override.members):
        sides = [[m.record_id for m in override.side(n) if m.record_id is not None] for n in (0, 1)]
        now = _verdicts(store, rules, override.action, sides)
        by_key = {m.record_id: f"{m.library}/{m.source_id}" for m in override.members if m.record_id is not None}
        for pair, matched in sorted(now.items()):
            before = override.verdicts.get(pair)   # (ids of re-added records differ: not compared)
            if before is not None and before != matched:
                a, b = (int(x) for x in pair.split(","))
                word = "match" if matched else "no match"
                problems.append(f"the matcher now says {word} for {by_key[a]} and {by_key[b]}"
                                f" (it said {'match' if before else 'no match'}): the override contradicts"
                                f" the delivery and still holds" if _contradicts(override.action, matched)
                                else f"the matcher now says {word} for {by_key[a]} and {by_key[b]}")
    return Status(override, tuple(problems))


def _contradicts(action: str, matched: bool) -> bool:
    return matched if action in ("split", "keep-apart") else not matched


def _verdicts(store: CatalogStore, rules: MatchRules, action: str, sides: list[list[int]]) -> dict[str, bool]:
    """The matcher's word on the pairs an override is about: across the sides (split, keep-apart)
    or within the one side (merge, pin)."""
    profiles = {}
    for isn in {store.title_of_record(r) for side in sides for r in side}:
        for member in store.match_profiles(isn):
            profiles[member.id] = profile_of(member, store)
    if action in ("split", "keep-apart"):
        pairs = [(a, b) for a in sides[0] for b in sides[1]]
    else:
        pairs = [(a, b) for n, a in enumerate(sides[0]) for b in sides[0][n + 1:]]
    result = {}
    for a, b in pairs[:_MAX_PAIRS]:
        a, b = min(a, b), max(a, b)
        result[f"{a},{b}"] = compare(profiles[a], profiles[b], rules).matched
    return result


def _reform(store: CatalogStore, rules: MatchRules, records: list[int], prefer: dict[int, int] | None = None
            ) -> list[int]:
    """Re-form the titles holding `records` as a rebuild would: their members placed again in id
    order with the overrides in force; numbers kept as `settle` keeps them."""
    isns = sorted({isn for r in records if (isn := store.title_of_record(r)) is not None})
    profiles = {}
    for isn in isns:
        for member in store.match_profiles(isn):
            profiles[member.id] = profile_of(member, store)
    clustering = Clustering(rules, constraints(store))
    for record_id in sorted(profiles):
        clustering.add(record_id, profiles[record_id])
    groups = clustering.groups()
    by_title: dict[int, set[int]] = defaultdict(set)
    for record_id in profiles:
        by_title[store.title_of_record(record_id)].add(record_id)
    if {frozenset(g) for g in groups} == {frozenset(g) for g in by_title.values()}:
        return isns
    return settle(store, groups, prefer)
