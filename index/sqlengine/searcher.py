"""Searching the SQLite engine's index file: result sets are ISN lists, ranking is FTS5's bm25."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index import controltable
from index.engine.searcher import Brief, ScanEntry
from index.query import Node
from index.searchkeys import queryterms
from index.searchkeys.normalize import normalize
from index.searchkeys.spec import IndexKind
from index.sqlengine.compile import Compiler, Sql, as_sql
from index.sqlengine.store import connect


@dataclass
class SqlHits:
    isns: list[int]
    ranking: list[str] = field(default_factory=list)   # FTS expressions that score these hits
    scores: dict[int, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.isns)


class SqlEngine:
    """An open index.sqlite. Every query sees the latest committed update (WAL)."""

    def __init__(self, directory: Path) -> None:
        self.db = connect(Path(directory), readonly=True)

    def close(self) -> None:
        self.db.close()

    def refresh(self) -> None:
        """Nothing to do: each statement reads the newest committed state."""

    def search(self, node: Node, resolve_set: Callable[[str], SqlHits], *, library: str | None = None,
               ranked: bool = False) -> SqlHits:
        compiler = Compiler(self.db, lambda name: resolve_set(name).isns)
        query = as_sql(compiler.compile(node))
        if library is not None:
            query = Sql(f"SELECT * FROM ({query.select}) INTERSECT SELECT isn FROM keys WHERE field = 'library'"
                        " AND key = ?", query.params + (normalize(library).replace(" ", ""),))
        isns = [row[0] for row in self.db.execute(f"SELECT DISTINCT * FROM ({query.select}) ORDER BY 1", query.params)]
        hits = SqlHits(isns, compiler.positive)
        if ranked:
            return self.sort(hits, [("relevance", False)])
        return hits

    def _scores(self, hits: SqlHits) -> dict[int, float]:
        if hits.scores or not hits.ranking:
            return hits.scores
        expression = " OR ".join(f"({e})" for e in hits.ranking)
        # bm25 is smaller for better matches; negate so that larger means more relevant
        return {isn: -rank for isn, rank in self.db.execute(
            "SELECT rowid, rank FROM words WHERE words MATCH ?", (expression,))}

    def sort(self, hits: SqlHits, keys: Sequence[tuple[str, bool]]) -> SqlHits:
        isns = list(hits.isns)
        scores = hits.scores
        for key, descending in reversed(keys):
            if key == "relevance":
                scores = self._scores(hits)
                isns.sort(key=lambda isn: scores.get(isn, 0.0), reverse=not descending)
                continue
            isns = controltable.sorted_by(self.db, isns, key, descending)
        return SqlHits(isns, hits.ranking, scores)

    def scan(self, index: str, start: str, *, count: int, preferred_position: int = 1) -> tuple[list[ScanEntry], int]:
        spec = queryterms.scannable(index)
        start_key = normalize(start)
        before_count = max(preferred_position - 1, 0)
        if spec.exact_keys_in_table or spec.kind is IndexKind.KEY:
            query = "SELECT key, count(*) FROM keys WHERE field = ? AND key {} ? GROUP BY key ORDER BY key {} LIMIT ?"
        else:
            query = "SELECT term, doc FROM vocabulary WHERE col = ? AND term {} ? ORDER BY term {} LIMIT ?"
        before = self.db.execute(query.format("<", "DESC"), (index, start_key, before_count)).fetchall()
        after = self.db.execute(query.format(">=", "ASC"), (index, start_key, count)).fetchall()
        entries = [ScanEntry(term, hits) for term, hits in list(reversed(before)) + after]
        return entries[:count], len(before) + 1

    def isns(self, hits: SqlHits, start: int, count: int) -> list[int]:
        return hits.isns[start:start + count]

    def briefs(self, hits: SqlHits, start: int, count: int) -> list[Brief]:
        return controltable.briefs(self.db, hits.isns[start:start + count])
