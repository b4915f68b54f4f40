"""One title as a cluster, for clients: its members, and why they are one title.

`cluster_view(store, isn, rules)` gives a `ClusterView`: every member record (library, maintenance
key, quality score, whether it is the master, its MARC as stored), the matcher's decision on every
pair of members with its reasons (or that a librarian merged them), the retired numbers that
answer as this title, and the librarians' overrides that name its records. The SRU record schema
`cluster`, the Z39.50 element set `cluster` and the web page's "why these records are one title"
all show this; none of them knows how matching works.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from index.consolidation.clusters import describe
from index.consolidation.match import MatchRules
from index.store import corrections
from index.store.catalog import CatalogStore

__all__ = ["ClusterView", "MemberView", "OverrideView", "PairView", "cluster_view"]


@dataclass(frozen=True)
class MemberView:
    record: int                # the member record's number (as `unikat clusters ISN` lists it)
    library: str
    source_system: str
    source_id: str
    quality: int
    master: bool
    marc: bytes                # ISO 2709, UTF-8, as stored


@dataclass(frozen=True)
class PairView:
    a: int
    b: int
    matched: bool              # the matcher's word, or a librarian's merge
    step: str                  # guard, pass 1, pass 2
    score: float
    why: str


@dataclass(frozen=True)
class OverrideView:
    id: int
    action: str
    made_by: str
    made: str
    note: str


@dataclass(frozen=True)
class ClusterView:
    isn: int
    members: tuple[MemberView, ...]
    pairs: tuple[PairView, ...]
    redirects: tuple[int, ...]
    overrides: tuple[OverrideView, ...]
    hidden_members: int        # members of libraries the client may not see (left out)


def cluster_view(store: CatalogStore, isn: int, rules: MatchRules, hidden: Collection[str] = ()) -> ClusterView | None:
    """Title `isn` as a cluster (None: no such title); members of `hidden` libraries left out."""
    if store.display(isn) is None:
        return None
    described = describe(store, isn, rules)
    marcs = {r.id: r.marc for r in store.records_of_title(isn)}
    members = tuple(MemberView(m["record"], m["library"], m["source_system"], m["source_id"], m["quality"],
                               m["record"] == described["master"], marcs[m["record"]])
                    for m in described["members"] if m["library"] not in hidden)
    shown = {m.record for m in members}
    pairs = tuple(PairView(p["records"][0], p["records"][1], p["matched"], p["step"], p["score"], p["why"])
                  for p in described["pairs"] if set(p["records"]) <= shown)
    ids = set(marcs)
    named = tuple(OverrideView(o.id, o.action, o.made_by, o.made, o.note) for o in corrections.overrides(store)
                  if any(m.record_id in ids for m in o.members))
    return ClusterView(isn, members, pairs, tuple(described["redirects"]), named,
                       len(described["members"]) - len(members))
