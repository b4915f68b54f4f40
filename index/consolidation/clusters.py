"""Clusters: connected groups of matching records, found through blocking keys, kept in the store.

A cluster is a connected component of the graph whose edges are matching pairs (`compare`);
only pairs sharing a blocking key are compared. Because `compare` looks at two records only,
components do not depend on the order records arrive in: a full re-consolidation from the store
and the incremental path of loading give the same clusters.

`components(profiles, rules)` is the pure, in-memory form (the benchmark uses it on labelled
sets). The store functions keep titles equal to clusters as records come and go:
- a new record: `matching_titles`, then `join` it with every title it matches (titles that it
  bridges become one, under the lowest ISN);
- an updated record: `recluster` its title (the title may split, the record may join others);
- a deleted record: `recluster` what is left (a title of one record is just a title again);
- `reconsolidate`: everything from scratch, as a check and after changing the rules.
Each returns the ISNs of the titles it re-formed; choosing their masters and rebuilding their
merged records is `index.titles`' work, which calls these functions (never the other way round).
This module knows the store's consolidation methods, not SQL, file formats or the search engine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

import pymarc

from index.consolidation.keys import MatchElements, blocking_keys, elements
from index.consolidation.match import MatchRules, Verdict, compare
from index.store.catalog import CatalogStore, MatchCandidate

__all__ = ["UnionFind", "candidate_pairs", "components", "describe", "file_record", "join",
           "maintenance_keys", "matching_titles", "reconsolidate", "recluster", "settle"]

K = TypeVar("K", bound=Hashable)


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
    """The clusters of `profiles` (id -> elements): lists of ids, each sorted, ordered by first id."""
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


def matching_titles(store: CatalogStore, profile: MatchElements, rules: MatchRules,
                    exclude: int | None = None, keys: list[str] | None = None) -> set[int]:
    """ISNs of the titles holding a record that matches `profile` (record `exclude` left out);
    `keys` are the profile's blocking keys if the caller has them."""
    if profile.kind.startswith("z"):
        return set()
    found = set()
    for candidate in store.candidates(blocking_keys(profile) if keys is None else keys):
        if candidate.id == exclude or candidate.isn in found:
            continue
        if compare(profile, profile_of(candidate, store), rules).matched:
            found.add(candidate.isn)
    return found


def join(store: CatalogStore, record_id: int, isns: set[int]) -> int:
    """Make record `record_id` and the titles `isns` one title (the lowest ISN); returns it,
    to be refreshed."""
    own = store.title_of_record(record_id)
    target = min(isns | {own})
    for isn in sorted(isns | {own}):
        if isn == target:
            continue
        for member in store.match_profiles(isn):
            store.move_record(member.id, target)
        store.remove_title(isn)
    return target


def recluster(store: CatalogStore, isn: int, rules: MatchRules, changed: int | None = None) -> list[int]:
    """Re-evaluate title `isn` after a member changed or left: split it into the groups its
    remaining members form, and let the changed record `changed` join whatever it now matches.
    Returns the ISNs of the titles that exist afterwards, each to be refreshed."""
    members = store.match_profiles(isn)
    if not members:
        return []
    profiles = {m.id: profile_of(m, store) for m in members}
    groups = components(profiles, rules)
    if changed is not None and changed in profiles:
        outside = matching_titles(store, profiles[changed], rules, exclude=changed) - {isn}
        extra = [m.id for other in sorted(outside) for m in store.match_profiles(other)]
        if extra:
            groups = [g + extra if changed in g else g for g in groups]
    return settle(store, groups)


def settle(store: CatalogStore, groups: list[list[int]]) -> list[int]:
    """Make each group of member record ids one title; returns the groups' ISNs, to be refreshed.

    ISNs stay put as far as possible: groups in order of their oldest member each keep the lowest
    ISN one of their members already has, unless an earlier group took it; a group left without
    one gets a new title. Titles no group keeps are removed.
    """
    current = {record_id: store.title_of_record(record_id) for group in groups for record_id in group}
    involved = set(current.values())
    used: set[int] = set()
    result = []
    for group in sorted(groups, key=min):
        options = sorted({current[r] for r in group} - used)
        if options:
            isn = options[0]
        else:
            isn = store.add_title(b"", store.bibtype(current[group[0]]))
        used.add(isn)
        for record_id in group:
            if current[record_id] != isn:
                store.move_record(record_id, isn)
        result.append(isn)
    for isn in sorted(involved - used):
        store.remove_title(isn)
    return result


def reconsolidate(store: CatalogStore, rules: MatchRules,
                  progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, int], list[int]]:
    """Full re-consolidation from the store: every member's short form and blocking keys made
    anew from its MARC, clusters found from scratch, titles re-formed (keeping ISNs where the
    membership allows). Returns counts (records, titles, clusters, titles changed) and the ISNs
    of the titles re-formed, each to be refreshed."""
    rows = list(store.all_match_records())
    profiles: dict[int, MatchElements] = {}
    before: dict[int, int] = {}
    for done, (record_id, isn, marc) in enumerate(rows, 1):
        profile = elements(pymarc.Record(data=marc, to_unicode=True, force_utf8=True))
        file_record(store, record_id, profile)
        if not profile.kind.startswith("z"):
            profiles[record_id] = profile
        before[record_id] = isn
        if progress and done % 1000 == 0:
            progress(done, 2 * len(rows))
    groups = components(profiles, rules)
    groups += [[record_id] for record_id in before if record_id not in profiles]
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
    """One title as a cluster: its members (maintenance key, quality, master or not) and, for
    every pair of members that share a blocking key, the match decision and why."""
    master = store.master(isn)
    members = store.records_of_title(isn)
    stored = {c.id: c for c in store.match_profiles(isn)}
    profiles = {m.id: profile_of(stored[m.id], store) for m in members}
    pairs = []
    keys = {i: blocking_keys(p) for i, p in profiles.items() if not p.kind.startswith("z")}
    for a, b in candidate_pairs(keys):
        verdict = compare(profiles[a], profiles[b], rules)
        pairs.append({"records": [a, b], "matched": verdict.matched, "why": verdict.explain()})
    return {
        "isn": isn,
        "master": master,
        "members": [{"record": m.id, "library": m.library, "source_system": m.source_system,
                     "source_id": m.source_id, "quality": m.quality, "title": profiles[m.id].title,
                     "year": profiles[m.id].year} for m in members],
        "pairs": pairs,
    }


def maintenance_keys(store: CatalogStore, *, all_titles: bool = True) -> Iterable[dict]:
    """Every title (or every title with two or more members) with its members' maintenance keys."""
    for isn, members in store.clusters(all_titles=all_titles):
        yield {"isn": isn, "members": [{"library": m.library, "source_system": m.source_system,
                                        "source_id": m.source_id} for m in members]}
