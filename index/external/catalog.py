"""The external-data catalog as a database of the main `Catalog` (`[external] database`).

`index.search.Catalog` hands every search, scan, sort and record fetch on that database to
`ExternalCatalog`, which runs it on a `Catalog` of its own over `HOME/external/` (its store and
index; `index.external.store`). The union database and the libraries' databases never see an
external record, and the external database never sees a union title.

Numbers: the external store numbers its titles 1, 2, ... like any store. Towards clients they
are `EXTERNAL_ISN_BASE` + that number (1,000,000,001 ...), so that the protocol layers, which
fetch records by number alone (`Catalog.records`), reach the right store, and an external
record's number can never be taken for a union title's. `unikat adopt` takes that number, and
a search by record number (rec.id, Bib-1 doc-id) asks for it too.

The external index is opened when first needed and taken up when a harvest has built it while
the server runs (`refresh`); until then a search of the database is `IndexUnavailable`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from index import engines, errors
from index.engines.base import ScanEntry, SortKey
from index.external.store import ExternalHome
from index.home import Home
from index.query import Node, ResultSetRef, Term, map_terms

if TYPE_CHECKING:
    from index.config import Config
    from index.search import Catalog, Database, ResultSet, ResultSetLookup, TitleRecord

__all__ = ["EXTERNAL_ISN_BASE", "ExternalCatalog", "external_number", "is_external"]

EXTERNAL_ISN_BASE = 1_000_000_000


def is_external(isn: int) -> bool:
    return isn > EXTERNAL_ISN_BASE


def external_number(isn: int) -> int:
    """The external store's own number of a client-side number (`is_external`)."""
    return isn - EXTERNAL_ISN_BASE


def _own_numbers(node: Node) -> Node:
    """`node` with record-number terms (index `isn`) in the external store's own numbers; a
    number below `EXTERNAL_ISN_BASE` is no external record's (0: no title has it)."""
    return map_terms(node, _own_number)


def _own_number(term: Term) -> Term:
    if term.index == "isn" and term.text.isascii() and term.text.strip().isdigit():
        number = int(term.text)
        return dataclasses.replace(term, text=str(external_number(number) if is_external(number) else 0))
    return term


class _Numbered:
    """The external engine as a result set uses it, with client-side numbers."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def isns(self, hits: Any, start: int, count: int) -> list[int]:
        return [EXTERNAL_ISN_BASE + isn for isn in self._engine.isns(hits, start, count)]

    def briefs(self, hits: Any, start: int, count: int) -> list:
        return [dataclasses.replace(brief, isn=EXTERNAL_ISN_BASE + brief.isn)
                for brief in self._engine.briefs(hits, start, count)]

    def __getattr__(self, name: str) -> Any:   # sort, facet_counts, ...: the engine's own
        return getattr(self._engine, name)


class ExternalCatalog:
    """The external catalog beside the main catalog of `home`."""

    def __init__(self, home: Home, config: Config) -> None:
        self.home = ExternalHome(home)
        # the main catalog's configuration, already parsed: `refresh` asks every second whether
        # a harvest has built the index, and reading unikat.toml for that would cost more than the look
        self._config = config
        self._catalog: Catalog | None = None

    @classmethod
    def beside(cls, home: Home, config: Config) -> ExternalCatalog | None:
        """The external catalog of a main home read with `config` (None for the external home itself)."""
        return None if isinstance(home, ExternalHome) else cls(home, config)

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def _open(self) -> Catalog | None:
        if self._catalog is None and engines.index_ready(self.home, self._config):
            from index.search import Catalog  # index.search imports this module

            self._catalog = Catalog(self.home)
        return self._catalog

    def _opened(self) -> Catalog:
        catalog = self._open()
        if catalog is None:
            raise errors.IndexUnavailable("the external catalog has no records yet: run 'unikat harvest'")
        return catalog

    def refresh(self, now: float | None = None) -> bool:
        """Take up a new external index (a harvest built or updated it); True when there was one."""
        opened = self._catalog is None
        catalog = self._open()
        if catalog is None:
            return False
        before = catalog.generation
        catalog.refresh(now)
        return opened or catalog.generation != before

    def search(self, node: Node, database: Database, *, sort: Sequence[SortKey] = (),
               result_sets: ResultSetLookup | None = None) -> ResultSet:
        """As `Catalog.search` on the external database; result-set references may name only
        sets of that database."""
        from index.search import ResultSet

        catalog = self._opened()

        def lookup(name: str) -> ResultSet | None:
            found = result_sets(name) if result_sets is not None else None
            if found is not None and not found.database.external:
                raise errors.ResultSetNotFound(f"{name} (another database)")
            return found

        if isinstance(node, ResultSetRef):
            found = lookup(node.name)
            if found is None:
                raise errors.ResultSetNotFound(node.name)
            return self.sort(found, sort) if sort else found
        inner = catalog.search(_own_numbers(node), catalog.databases()[0], sort=sort, result_sets=lookup)
        return ResultSet(inner.hits, _Numbered(catalog.engine), database)

    def sort(self, result_set: ResultSet, keys: Sequence[SortKey]) -> ResultSet:
        from index.search import ResultSet

        catalog = self._opened()
        hits = catalog.engine.sort(result_set.hits, keys)
        return ResultSet(hits, _Numbered(catalog.engine), result_set.database)

    def scan(self, index: str, start: str, *, count: int = 20, preferred_position: int = 1) -> tuple[list[ScanEntry], int]:
        catalog = self._opened()
        return catalog.scan(index, start, count=count, preferred_position=preferred_position)

    def fill(self, isns: Sequence[int], found: list[TitleRecord | None]) -> list[TitleRecord | None]:
        """`found` (the main store's records of `isns`) with the external ones put in."""
        wanted = [isn for isn in isns if is_external(isn)]
        catalog = self._open() if wanted else None
        if catalog is None:
            return found
        records = catalog.records([external_number(isn) for isn in wanted])
        by_number = {record.isn + EXTERNAL_ISN_BASE: record for record in records if record is not None}
        return [dataclasses.replace(by_number[isn], isn=isn) if isn in by_number else title
                for isn, title in zip(isns, found, strict=True)]
