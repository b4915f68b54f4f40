"""The catalog as the protocol layer sees it: databases, search, result sets, records, scan.

This is the one narrow interface between `zserver` and the catalog. A faster engine can
replace Whoosh behind it without the protocol layer noticing. Errors are `index.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from index import errors
from index.engine.keytable import FILE_NAME as KEY_TABLE_FILE
from index.engine.searcher import Brief, Engine, Hits, ScanEntry, briefs_of, isns_of
from index.home import Home
from index.query import Node
from index.records.model import Holding
from index.store.catalog import CatalogStore

DEFAULT_ALIAS = "default"
REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class Database:
    name: str
    library: str | None      # None: the whole union catalog
    restricted: bool = False


@dataclass(frozen=True)
class TitleRecord:
    isn: int
    marc: bytes              # ISO 2709, UTF-8
    holdings: tuple[Holding, ...]


class ResultSet:
    """An ordered set of titles found by one search (a snapshot of the index)."""

    def __init__(self, hits: Hits, database: Database) -> None:
        self._hits = hits
        self.database = database

    @property
    def size(self) -> int:
        return len(self._hits.docnums)

    def isns(self, start: int = 0, count: int | None = None) -> list[int]:
        """ISNs of the titles at 0-based positions start … start+count-1."""
        return isns_of(self._hits, start, self.size if count is None else count)

    def briefs(self, start: int = 0, count: int = 10) -> list[Brief]:
        return briefs_of(self._hits, start, count)


class Catalog:
    """An open catalog home: the store for records, the engine for searching."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.config = home.config()
        self.store = CatalogStore(home.store_path)
        if not (home.whoosh_dir / KEY_TABLE_FILE).exists():   # no index yet, or one of an older layout
            from index.loading.indexing import rebuild

            rebuild(home, self.store)
        self.engine = Engine(home.whoosh_dir)
        self._checked = time.monotonic()

    def close(self) -> None:
        self.engine.close()
        self.store.close()

    # -- databases ----------------------------------------------------------------------------
    def databases(self) -> list[Database]:
        restricted = {name.lower() for name in self.config.restricted}
        union = Database(self.config.database, None, self.config.database.lower() in restricted)
        return [union] + [Database(code, code, code.lower() in restricted) for code in self.config.libraries]

    def database(self, name: str) -> Database:
        wanted = name.lower()
        for database in self.databases():
            if database.name.lower() == wanted:
                return database
        if wanted == DEFAULT_ALIAS:
            return self.databases()[0]
        raise errors.UnknownDatabase(name)

    # -- searching ----------------------------------------------------------------------------
    def refresh(self, now: float | None = None) -> None:
        """Take up index changes, at most once per REFRESH_SECONDS."""
        now = time.monotonic() if now is None else now
        if now - self._checked >= REFRESH_SECONDS:
            self._checked = now
            self.engine.refresh()

    def search(self, node: Node, database: Database, result_sets: Mapping[str, ResultSet] | None = None,
               *, ranked: bool = False) -> ResultSet:
        sets = result_sets or {}

        def resolve(name: str) -> list[int]:
            found = sets.get(name)
            if found is None:
                raise errors.ResultSetNotFound(name)
            return self.engine.docnums_of_isns(found._hits)

        hits = self.engine.search(node, resolve, library=database.library, ranked=ranked)
        return ResultSet(hits, database)

    def sort(self, result_set: ResultSet, keys: Sequence[tuple[str, bool]]) -> ResultSet:
        """A new result set in the order of `keys`: (title|author|year|relevance, descending)."""
        return ResultSet(self.engine.sort(result_set._hits, keys), result_set.database)

    def scan(self, index: str, start: str, *, count: int = 20, preferred_position: int = 1) -> tuple[list[ScanEntry], int]:
        return self.engine.scan(index, start, count=count, preferred_position=preferred_position)

    # -- records ------------------------------------------------------------------------------
    def records(self, isns: Sequence[int], *, with_holdings: bool = False) -> list[TitleRecord | None]:
        """The display records of `isns` in order; None where a title was deleted since the search."""
        displays = self.store.displays(isns)
        result: list[TitleRecord | None] = []
        for isn in isns:
            marc = displays.get(isn)
            if marc is None:
                result.append(None)
                continue
            holdings = tuple(self.store.holdings(isn)) if with_holdings else ()
            result.append(TitleRecord(isn, marc, holdings))
        return result

    def record(self, isn: int) -> TitleRecord:
        found = self.records([isn], with_holdings=True)[0]
        if found is None:
            raise errors.RecordNotFound(str(isn))
        return found
