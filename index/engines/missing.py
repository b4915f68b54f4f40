"""The engine of a catalog served while its index is (re)built beside it.

`unikat serve` on a home without an index (deleted, or of an older layout) opens its port at
once and starts the build in the background (`zserver.net.rebuild`). Until the build is done,
the catalog's engine is a `MissingIndex`: everything that needs the index raises
`IndexUnavailable` (Bib-1 109, SRU 2 with HTTP 503), while what the store alone answers (explain,
Init, records by number, OAI-PMH, static files) keeps working. `Catalog.refresh` opens the real
engine as soon as the built index is there.
"""

from __future__ import annotations

from collections.abc import Sequence

from index import errors
from index.engines.base import Brief, ResolveSet, ScanEntry, SortKey
from index.query import Node

__all__ = ["REBUILDING", "MissingIndex"]

REBUILDING = "the index is being rebuilt; searches work again when it is done (try again in a minute)"


class MissingIndex:
    """A `SearchEngine` without an index: every search, sort and scan is `IndexUnavailable`."""

    def _unavailable(self) -> errors.IndexUnavailable:
        return errors.IndexUnavailable(REBUILDING)

    def search(self, node: Node, resolve_set: ResolveSet, *, ranked: bool = False):
        raise self._unavailable()

    def sort(self, hits, keys: Sequence[SortKey]):
        raise self._unavailable()

    def scan(self, index: str, start: str, *, count: int, preferred_position: int = 1) -> tuple[list[ScanEntry], int]:
        raise self._unavailable()

    def isns(self, hits, start: int, count: int) -> list[int]:
        raise self._unavailable()

    def briefs(self, hits, start: int, count: int) -> list[Brief]:
        raise self._unavailable()

    def facet_counts(self, hits, name: str):
        raise self._unavailable()

    def refresh(self) -> bool:
        """Nothing to take up: the catalog replaces this engine when the index is built."""
        return False

    def close(self) -> None:
        pass
