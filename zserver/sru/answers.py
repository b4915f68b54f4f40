"""SRU answers that carry a hit count only, kept per request until the catalog changes.

Most SRU searches ask for the hit count alone (federated portals ask every target "how many?"
before they fetch anything), and such an answer depends only on the request and the catalog's
state: its result-set id names the search itself (`sru.handler`), not a counter. So the worker
keeps the answer bytes, keyed by the request as it came, and drops them all when the catalog
takes up a change (`Catalog.generation`). Elasticsearch's shard request cache does the same
for its `size=0` searches. Bounded by `[sru] hit_count_answers` (0: none kept); the least
recently used answer goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

Answer = TypeVar("Answer")


class HitCountAnswers(Generic[Answer]):
    """A bounded LRU of answers, valid for one catalog generation."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.generation = 0
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, request: Hashable, generation: int) -> Answer | None:
        """The answer kept for `request`, if it was made in catalog generation `generation`."""
        if generation != self.generation:
            self._answers.clear()
            self.generation = generation
            return None
        answer = self._answers.get(request)
        if answer is not None:
            self._answers.move_to_end(request)
        return answer

    def put(self, request: Hashable, generation: int, answer: Answer) -> None:
        """Keep `answer` to `request`, made in catalog generation `generation`."""
        if generation != self.generation:
            self._answers.clear()
            self.generation = generation
        if self.capacity <= 0:
            return
        self._answers[request] = answer
        self._answers.move_to_end(request)
        if len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
