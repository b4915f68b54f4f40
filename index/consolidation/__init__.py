"""Consolidation: one title per edition across all libraries (MELVYL's matching and merging).

`keys` makes each record's short form and blocking keys, `match` decides whether two records
describe the same title and why, `merge` chooses a cluster's master and builds the merged
display record, `clusters` places each record in the title whose members it all matches (no
chained merges) as records arrive, change and go (and rebuilds them all from the store),
`overrides` applies librarians' split/merge/keep-apart/pin, and `view` shows a title as a
cluster to clients. Nothing here knows file formats, the search engine or the protocol layer.
"""

from index.consolidation.keys import MatchElements, blocking_keys, elements
from index.consolidation.match import MatchRules, Verdict, compare

__all__ = ["MatchElements", "MatchRules", "Verdict", "blocking_keys", "compare", "elements"]
