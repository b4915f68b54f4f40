"""Clusters: connected groups of matching records, found through blocking keys.

A cluster is a connected component of the graph whose edges are matching pairs (`compare`);
only pairs sharing a blocking key are compared. Because `compare` looks at two records only,
components do not depend on the order records arrive in: a full re-consolidation from the store
and the incremental path of loading give the same clusters.

`components(profiles, rules)` is the pure, in-memory form (used by the full re-consolidation and
by the benchmark on labelled sets). This module knows nothing of MARC or of the store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

from index.consolidation.keys import MatchElements, blocking_keys
from index.consolidation.match import MatchRules, Verdict, compare

__all__ = ["UnionFind", "candidate_pairs", "components"]

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
