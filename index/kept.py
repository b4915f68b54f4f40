"""What a worker keeps of its answers until the catalog changes: a bounded LRU for one
catalog generation (`Catalog.generation`, which `Catalog.refresh` moves on when it takes up a
load, a rebuild or a harvest).

Clients repeat their searches: federated portals ask every target for the same hit counts,
users page through the same result. An answer that depends only on the request and the
catalog's state can be given again as it was until the catalog changes; then all go at once.
Lucene's query cache and Elasticsearch's request cache work the same way. Each entry has a
weight (1, or for instance the hits it holds), and both the entries and their total weight are
bounded; the least recently used entries go first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class KeptAnswers(Generic[Value]):
    """At most `capacity` values (0: none kept) of at most `total_weight` together, valid for
    one catalog generation."""

    def __init__(self, capacity: int, total_weight: int | None = None) -> None:
        self.capacity = capacity
        self.total_weight = capacity if total_weight is None else total_weight
        self.generation = 0
        self._weight = 0
        self._kept: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: Hashable, generation: int) -> Value | None:
        """The value kept for `key`, if it was made in catalog generation `generation`."""
        self._take_up(generation)
        kept = self._kept.get(key)
        if kept is None:
            return None
        self._kept.move_to_end(key)
        return kept[0]

    def put(self, key: Hashable, generation: int, value: Value, weight: int = 1) -> None:
        """Keep `value` for `key`, made in catalog generation `generation`; a value heavier
        than all may be together is not kept."""
        self._take_up(generation)
        if self.capacity <= 0 or weight > self.total_weight:
            return
        old = self._kept.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        self._kept[key] = (value, weight)
        self._weight += weight
        while len(self._kept) > self.capacity or self._weight > self.total_weight:
            self._weight -= self._kept.popitem(last=False)[1][1]

    def _take_up(self, generation: int) -> None:
        if generation != self.generation:   # the catalog changed: nothing kept is valid
            self._kept.clear()
            self._weight = 0
            self.generation = generation
