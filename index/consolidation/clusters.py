"""Clusters: titles of mutually matching records, formed one record at a time, kept in the store.

**Method: incremental complete linkage.** A title never holds two records that the matcher
(`compare`) scores as a non-match – guard conflicts (language, edition, volume, carrier, kind)
included – unless a librarian's override put them together. Connected components, the earlier
method, chained: A matched B, B matched C, so A and C became one title although A and C were
scored "no match" (two printings, bridged by a record naming both ISBNs). Here:

- a new record is compared with the records that share a blocking key with it (as before);
  every title holding one it matches is a candidate, and the record joins the candidate whose
  members it *all* matches (members not sharing a key are compared too), the one with the
  strongest link (a first-pass match, else the highest second-pass score; then the older
  title); if no title qualifies, it founds one. Titles are never re-clustered when a record
  arrives, so no other title changes;
- an updated record stays if it still matches every other member, else it leaves and is placed
  as a new one; what it left behind may then merge with a title it now wholly matches
  (`absorb`); a deleted record's title likewise;
- `reconsolidate` (`unikat clusters --rebuild`) replays every record in id order, in memory,
  through the same placement (`Clustering`), so a catalog loaded record by record and its full
  rebuild agree; titles keep their numbers where the membership allows (`settle`).

Overrides (`Constraints`, from `index.consolidation.overrides`): records kept apart never share
a title, records merged always do (forced in, whatever the matcher says), a pinned title takes
no record it did not hold when pinned.

**Cost.** Placing a record costs what it did – one look-up per blocking key and one comparison
per candidate – plus one comparison with each member of a candidate title that shares no key
with it (titles are small: a few members, one per library). Replay in memory is one pass; memory
is the profiles and the blocking index. The price of no chaining is recall where a record only
bridges two others (ISBN of the hardback and of the paperback): it joins one of them.

Title numbers: a merge keeps the older (lower) ISN and records a redirect from the other
(`index.store.corrections`); a split keeps the ISN for the larger part. `describe` lists a title's
members and every pair's decision; `components` is the old connected-components method, kept for
the benchmark's before/after table. This module knows the store's methods, not SQL, file formats
or the search engine.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import pymarc

from index.consolidation.keys import MatchElements, blocking_keys, elements
from index.consolidation.match import MatchRules, Verdict, compare
from index.store import corrections
from index.store.catalog import CatalogStore, MatchCandidate

__all__ = ["Clustering", "Constraints", "UnionFind", "absorb", "candidate_pairs", "clusters", "components",
           "describe", "file_record", "maintenance_keys", "place", "reconsolidate", "record_changed",
           "record_deleted", "settle", "strength"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Constraints:
    """Librarians' overrides as they bear on record ids (`index.consolidation.overrides.constraints`)."""

    apart: frozenset[frozenset] = frozenset()             # pairs that never share a title
    together: Mapping[Hashable, int] = field(default_factory=dict)  # record -> group that always shares one
    pinned: Mapping[Hashable, int] = field(default_factory=dict)    # record -> pin: that title takes no other

    def forbids(self, a: Hashable, b: Hashable) -> bool:
        if frozenset((a, b)) in self.apart:
            return True
        pin_a, pin_b = self.pinned.get(a), self.pinned.get(b)
        return pin_a != pin_b and not self.forces(a, b)

    def forces(self, a: Hashable, b: Hashable) -> bool:
        group = self.together.get(a)
        return group is not None and group == self.together.get(b)

    def partners(self, a: Hashable) -> list:
        group = self.together.get(a)
        return [] if group is None else [r for r, g in self.together.items() if g == group and r != a]

    def linked(self, a: Hashable, b: Hashable, verdict: Verdict | None) -> bool:
        """Whether `a` and `b` may share a title: forced, else not forbidden and matched."""
        if self.forces(a, b):
            return True
        return not self.forbids(a, b) and verdict is not None and verdict.matched


NO_CONSTRAINTS = Constraints()


def strength(verdict: Verdict) -> float:
    """How strong a link is, to choose between titles: a first-pass match beats any score."""
    return 100.0 if verdict.step == "pass 1" else verdict.score


def _choose(record: K, profile: MatchElements, verdicts: dict[K, Verdict], title_of: Callable[[K], Hashable],
            members: Callable[[Hashable], Mapping[K, MatchElements]], rules: MatchRules,
            constraints: Constraints) -> tuple[Hashable | None, set]:
    """The title `record` joins (None: it founds one) and other titles that must join it too
    (overrides). `verdicts` holds its comparisons with candidates and grows as members are compared."""
    forced = {title_of(p) for p in constraints.partners(record)} - {None}
    if forced:
        target = min(forced)
        return target, forced - {target}
    options = []
    for title in {title_of(c) for c, v in verdicts.items() if v.matched} - {None}:
        best, fits = 0.0, True
        for member, member_profile in members(title).items():
            if member == record:
                continue
            verdict = verdicts.get(member)
            if verdict is None:
                verdict = verdicts[member] = compare(profile, member_profile, rules)
            if not constraints.linked(record, member, verdict):
                fits = False
                break
            best = max(best, strength(verdict))
        if fits:
            options.append((-best, title))
    return (min(options)[1] if options else None), set()


def _mergeable(a: Mapping[K, MatchElements], b: Mapping[K, MatchElements], rules: MatchRules,
               constraints: Constraints) -> bool:
    """Whether two titles may become one: every pair across them linked."""
    return all(constraints.linked(x, y, None if constraints.forces(x, y) else compare(px, py, rules))
               for x, px in a.items() for y, py in b.items())


# -- in memory -------------------------------------------------------------------------------------

class Clustering:
    """Titles formed in memory, record by record (the benchmark, and the store's full rebuild).
    A title is named by its first record."""

    def __init__(self, rules: MatchRules | None = None, constraints: Constraints = NO_CONSTRAINTS) -> None:
        self.rules = rules or MatchRules()
        self.constraints = constraints
        self.title: dict = {}
        self.members: dict = {}
        self._blocks: dict[str, list] = defaultdict(list)
        self.largest_block = 0   # most records one placement compared (candidates and title members)

    def add(self, record: K, profile: MatchElements) -> Hashable:
        """Place `record`: it joins the title it wholly matches (or is forced into) or founds one."""
        keys = [] if profile.kind.startswith("z") else blocking_keys(profile)
        verdicts: dict = {}
        for key in keys:
            for other in self._blocks[key]:
                if other not in verdicts:
                    verdicts[other] = compare(profile, self.members[self.title[other]][other], self.rules)
        target, others = _choose(record, profile, verdicts, self.title.get, self.members.__getitem__, self.rules,
                                 self.constraints)
        self.largest_block = max(self.largest_block, len(verdicts))
        if target is None:
            target = record
            self.members[target] = {}
        self.members[target][record] = profile
        self.title[record] = target
        for other in others:
            for member, member_profile in self.members.pop(other).items():
                self.members[target][member] = member_profile
                self.title[member] = target
        for key in keys:
            self._blocks[key].append(record)
        return target

    def groups(self) -> list[list]:
        """Each title's records, sorted, in order of their first record."""
        return sorted((sorted(group) for group in self.members.values()), key=lambda g: g[0])


def clusters(profiles: Mapping[K, MatchElements], rules: MatchRules | None = None,
             constraints: Constraints = NO_CONSTRAINTS) -> list[list[K]]:
    """The titles of `profiles` (id -> elements), each record placed in id order."""
    clustering = Clustering(rules, constraints)
    for item in sorted(profiles):
        clustering.add(item, profiles[item])
    return clustering.groups()


# -- the old method: connected components (chains) -------------------------------------------------

class UnionFind:
    """Disjoint sets over hashable ids; `groups()` lists each set sorted, in order of its smallest id."""

    def __init__(self, ids: Iterable[K] = ()) -> None:
        self._parent: dict = {i: i for i in ids}

    def add(self, item: K) -> None:
        self._parent.setdefault(item, item)

    def find(self, item: K) -> K:
        parent = self._parent
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:
            parent[item], item = root, parent[item]
        return root

    def union(self, a: K, b: K) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self._parent[rb] = ra

    def groups(self) -> list[list[K]]:
        by_root: dict = defaultdict(list)
        for item in self._parent:
            by_root[self.find(item)].append(item)
        return sorted((sorted(group) for group in by_root.values()), key=lambda g: g[0])


def candidate_pairs(keys: Mapping[K, Iterable[str]]) -> Iterable[tuple[K, K]]:
    """Each pair of ids that share at least one blocking key, once, smaller id first."""
    blocks: dict[str, list[K]] = defaultdict(list)
    for item, item_keys in keys.items():
        for key in item_keys:
            blocks[key].append(item)
    seen: set[tuple[K, K]] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        members = sorted(members)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if (a, b) not in seen:
                    seen.add((a, b))
                    yield a, b


def components(profiles: Mapping[K, MatchElements], rules: MatchRules | None = None,
               on_edge: Callable[[K, K, Verdict], None] | None = None) -> list[list[K]]:
    """Connected components of matching pairs (the method before complete linkage; it chains)."""
    rules = rules or MatchRules()
    found = UnionFind(profiles)
    keys = {item: blocking_keys(profile) for item, profile in profiles.items()}
    for a, b in candidate_pairs(keys):
        if found.find(a) == found.find(b) and on_edge is None:
            continue
        verdict = compare(profiles[a], profiles[b], rules)
        if verdict.matched:
            found.union(a, b)
        if on_edge is not None:
            on_edge(a, b, verdict)
    return found.groups()


# -- clusters in the catalog store ----------------------------------------------------------------

def profile_of(candidate: MatchCandidate, store: CatalogStore) -> MatchElements:
    """A member's stored short form (made from its MARC when a store predates consolidation)."""
    if candidate.profile:
        return MatchElements.from_json(candidate.profile)
    marc = store.record_marc(candidate.id)
    return elements(pymarc.Record(data=marc, to_unicode=True, force_utf8=True))


def file_record(store: CatalogStore, record_id: int, profile: MatchElements, *, new: bool = False) -> list[str]:
    """Store a member record's short form and blocking keys (none for authority records);
    returns the keys. `new`: the record has none stored yet."""
    keys = [] if profile.kind.startswith("z") else blocking_keys(profile)
    store.set_match_data(record_id, profile.to_json(), keys, new=new)
    return keys


class _StoreView:
    """The store's titles as `_choose` sees them, profiles read once per operation."""

    def __init__(self, store: CatalogStore) -> None:
        self.store = store
        self.profiles: dict[int, MatchElements] = {}

    def title_of(self, record_id: int) -> int | None:
        return self.store.title_of_record(record_id)

    def members(self, isn: int) -> dict[int, MatchElements]:
        result = {}
        for member in self.store.match_profiles(isn):
            if member.id not in self.profiles:
                self.profiles[member.id] = profile_of(member, self.store)
            result[member.id] = self.profiles[member.id]
        return result

    def verdicts(self, record_id: int, profile: MatchElements, keys: list[str], rules: MatchRules) -> dict[int, Verdict]:
        result = {}
        for candidate in self.store.candidates(keys):
            if candidate.id != record_id:
                other = self.profiles.setdefault(candidate.id, profile_of(candidate, self.store))
                result[candidate.id] = compare(profile, other, rules)
        return result


def _constraints(store: CatalogStore) -> Constraints:
    from index.consolidation.overrides import constraints  # overrides builds on this module

    return constraints(store) if corrections.has_overrides(store) else NO_CONSTRAINTS


def place(store: CatalogStore, record_id: int, profile: MatchElements, rules: MatchRules,
          keys: list[str] | None = None, *, fresh: bool = True) -> int | None:
    """Let record `record_id` (alone in its title) join the title it wholly matches; returns that
    title's ISN, or None when the record stays alone. `fresh`: its own title was made just now
    for it, so nobody knows its number and it needs no redirect."""
    if profile.kind.startswith("z"):
        return None
    constraints = _constraints(store)
    view = _StoreView(store)
    verdicts = view.verdicts(record_id, profile, blocking_keys(profile) if keys is None else keys, rules)
    target, others = _choose(record_id, profile, verdicts, view.title_of, view.members, rules, constraints)
    if target is None:
        return None
    own = store.title_of_record(record_id)
    return _merge(store, {own, target, *others}, quiet={own} if fresh else set())


def _merge(store: CatalogStore, isns: set[int], quiet: set[int] = frozenset()) -> int:
    """Make titles `isns` one under the oldest ISN; the others answer as it (but those in `quiet`)."""
    target = min(isns)
    for isn in sorted(isns - {target}):
        for member in store.match_profiles(isn):
            store.move_record(member.id, target)
        store.remove_title(isn)
        if isn not in quiet:
            corrections.add_redirect(store, isn, target)
    return target


def absorb(store: CatalogStore, isn: int, rules: MatchRules) -> int:
    """After members left title `isn`: merge it with every title it now wholly matches (as a
    rebuild would have formed them); returns the ISN it ends up under."""
    constraints = _constraints(store)
    view = _StoreView(store)
    mine = view.members(isn)
    seen: set[int] = {isn}
    found: list[tuple[float, int]] = []
    for record_id, profile in mine.items():
        for other, verdict in view.verdicts(record_id, profile, blocking_keys(profile), rules).items():
            title = view.title_of(other)
            if title not in seen and constraints.linked(record_id, other, verdict):
                seen.add(title)
                found.append((-strength(verdict), title))
    for _strength, title in sorted(found):
        theirs = view.members(title)
        if theirs and _mergeable(mine, theirs, rules, constraints):
            isn = _merge(store, {isn, title})
            mine = {**mine, **theirs}
    return isn


def record_changed(store: CatalogStore, isn: int, record_id: int, profile: MatchElements,
                   rules: MatchRules) -> list[int]:
    """Re-evaluate title `isn` after member `record_id` changed (its new profile filed): it stays
    if it still matches every other member, else it leaves and is placed anew. Returns the ISNs
    of the titles to refresh."""
    constraints = _constraints(store)
    view = _StoreView(store)
    others = {m: p for m, p in view.members(isn).items() if m != record_id}
    if not others:
        target = place(store, record_id, profile, rules, fresh=False)
        return [isn if target is None else target]
    if all(constraints.linked(record_id, m, None if constraints.forces(record_id, m) else compare(profile, p, rules))
           for m, p in others.items()):
        return [isn]
    own = store.add_title(b"", store.bibtype(isn))
    store.move_record(record_id, own)
    target = place(store, record_id, profile, rules)
    rest = absorb(store, isn, rules)
    return sorted({rest, own if target is None else target})


def record_deleted(store: CatalogStore, isn: int, rules: MatchRules) -> list[int]:
    """After a member of title `isn` was deleted: what is left may merge with a title it now
    wholly matches. Returns the ISNs to refresh (none when the title went with its last member)."""
    if store.display(isn) is None:
        return []
    return [absorb(store, isn, rules)]


def settle(store: CatalogStore, groups: list[list[int]], prefer: Mapping[int, int] | None = None) -> list[int]:
    """Make each group of member record ids one title; returns the groups' ISNs, to be refreshed.

    Larger groups first (then the one with the oldest member), each keeps the oldest ISN one of
    its members already has, unless a group before it took it; a group left without one gets a
    new title. So a split leaves the number with the larger part, a merge keeps the older
    number. A title no group keeps is removed and answers as the group that took most of its
    members. `prefer` (record id -> ISN; an undone merge) names numbers to give back first: a
    group takes the one most of its members name, retired or not.
    """
    prefer = prefer or {}
    current = {record_id: store.title_of_record(record_id) for group in groups for record_id in group}
    involved = set(current.values())
    used: set[int] = set()
    result = []
    heirs: dict[int, Counter] = defaultdict(Counter)
    for group in sorted(groups, key=lambda g: (-len(g), min(g))):
        options = sorted({current[r] for r in group} - used)
        wanted = Counter(prefer[r] for r in group if r in prefer and prefer[r] not in used)
        revived = next((i for i, _n in sorted(wanted.items(), key=lambda kv: (-kv[1], kv[0]))
                        if i in involved or (store.display(i) is None and corrections.redirect(store, i))), None)
        if revived is not None:
            if revived not in involved:
                corrections.revive_title(store, revived, store.bibtype(current[group[0]]))
            isn = revived
        elif options:
            isn = options[0]
        else:
            isn = store.add_title(b"", store.bibtype(current[group[0]]))
        used.add(isn)
        for record_id in group:
            heirs[current[record_id]][isn] += 1
            if current[record_id] != isn:
                store.move_record(record_id, isn)
        result.append(isn)
    for isn in sorted(involved - used):
        store.remove_title(isn)
        corrections.add_redirect(store, isn, heirs[isn].most_common(1)[0][0])
    return result


def reconsolidate(store: CatalogStore, rules: MatchRules,
                  progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, int], list[int]]:
    """Full re-consolidation from the store: every member's short form and blocking keys made
    anew from its MARC, every record placed again in id order (`Clustering`, with the overrides),
    titles re-formed (keeping ISNs where the membership allows). Returns counts (records,
    titles, clusters, titles changed) and the ISNs of the titles re-formed, each to be refreshed."""
    rows = list(store.all_match_records())
    clustering = Clustering(rules, _constraints(store))
    before: dict[int, int] = {}
    groups: list[list[int]] = []
    for done, (record_id, isn, marc) in enumerate(rows, 1):
        profile = elements(pymarc.Record(data=marc, to_unicode=True, force_utf8=True))
        file_record(store, record_id, profile)
        if profile.kind.startswith("z"):
            groups.append([record_id])
        else:
            clustering.add(record_id, profile)
        before[record_id] = isn
        if progress and done % 1000 == 0:
            progress(done, len(rows))
    groups += clustering.groups()
    old_groups: dict[int, set[int]] = defaultdict(set)
    for record_id, isn in before.items():
        old_groups[isn].add(record_id)
    unchanged = {frozenset(g) for g in old_groups.values()}
    changed_groups = [g for g in groups if frozenset(g) not in unchanged]
    touched = settle(store, changed_groups) if changed_groups else []
    counts = {"records": len(rows), "titles": len(groups), "clusters": sum(1 for g in groups if len(g) > 1),
              "titles_changed": len(touched)}
    return counts, touched


def describe(store: CatalogStore, isn: int, rules: MatchRules) -> dict:
    """One title as a cluster: its members (maintenance key, quality, master or not), every pair
    of its members with the match decision and why, and the retired numbers that answer as it."""
    master = store.master(isn)
    members = store.records_of_title(isn)
    stored = {c.id: c for c in store.match_profiles(isn)}
    profiles = {m.id: profile_of(stored[m.id], store) for m in members}
    constraints = _constraints(store)
    pairs = []
    ids = [i for i, p in profiles.items() if not p.kind.startswith("z")]
    for n, a in enumerate(ids):
        for b in ids[n + 1:]:
            verdict = compare(profiles[a], profiles[b], rules)
            why = verdict.explain()
            if constraints.forces(a, b) and not verdict.matched:
                why = f"merged by a librarian ({why})"
            pairs.append({"records": [a, b], "matched": verdict.matched or constraints.forces(a, b), "why": why,
                          "step": verdict.step, "score": verdict.score})
    return {
        "isn": isn,
        "master": master,
        "members": [{"record": m.id, "library": m.library, "source_system": m.source_system,
                     "source_id": m.source_id, "quality": m.quality, "title": profiles[m.id].title,
                     "year": profiles[m.id].year} for m in members],
        "pairs": pairs,
        "redirects": corrections.redirects_to(store, isn),
    }


def maintenance_keys(store: CatalogStore, *, all_titles: bool = True) -> Iterable[dict]:
    """Every title (or every title with two or more members) with its members' maintenance keys."""
    for isn, members in store.clusters(all_titles=all_titles):
        yield {"isn": isn, "members": [{"library": m.library, "source_system": m.source_system,
                                        "source_id": m.source_id} for m in members]}
