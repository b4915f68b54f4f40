"""Consolidation: one title per edition across all libraries (MELVYL's matching and merging).

`keys` makes each record's short form and blocking keys, `match` decides whether two records
describe the same title and why, `merge` chooses a cluster's master and builds the merged
display record, `clusters` groups matching records and keeps those groups in the catalog store
as records arrive, change and go (and rebuilds them all from the store). Nothing here knows file formats, the search engine or
the protocol layer.
"""

from index.consolidation.keys import MatchElements, blocking_keys, elements
from index.consolidation.match import MatchRules, Verdict, compare

__all__ = ["MatchElements", "MatchRules", "Verdict", "blocking_keys", "compare", "elements"]
