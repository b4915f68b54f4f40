"""Prototype: what would a C-coded engine behind `index.search` give? SQLite FTS5, measured.

    .venv/bin/python bench/prototype_fts5.py bench/out/unikat-load-100000

Builds an FTS5 index of the word indexes (one column each, positions kept for phrases) from a
home's search-key files, then times a few query kinds that Whoosh answers for unikat today.
Nothing in unikat uses this; it is the measured figure issue 6 asks for when the Whoosh engine
misses a goal. Prints build time and per-query latency next to Whoosh's on the same home.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from index.home import Home
from index.query import Relation, Structure, Term, Truncation
from index.search import Catalog
from index.searchkeys.files import SearchKeyFiles
from index.searchkeys.spec import INDEXES, IndexKind

WORDS = [spec.name for spec in INDEXES if spec.kind is IndexKind.WORDS]


def build(home: Path, target: Path) -> float:
    target.unlink(missing_ok=True)
    db = sqlite3.connect(str(target))
    db.execute(f"CREATE VIRTUAL TABLE words USING fts5({', '.join(WORDS)}, content='',"
               " tokenize='unicode61 remove_diacritics 0', prefix='2 3 4')")
    db.execute("CREATE TABLE years (isn INTEGER, year INTEGER)")
    started = time.monotonic()
    titles = SearchKeyFiles(home / "searchkeys").read_all()
    with db:
        for title in titles:
            # a separator word between keys keeps phrases inside one field occurrence
            row = [" zzsep ".join(title.keys.get(name, ())) for name in WORDS]
            db.execute(f"INSERT INTO words (rowid, {', '.join(WORDS)}) VALUES (?, {', '.join('?' * len(WORDS))})",
                       [title.isn, *row])
            db.executemany("INSERT INTO years VALUES (?, ?)", [(title.isn, int(y)) for y in title.keys.get("year", ())])
        db.execute("CREATE INDEX years_year ON years (year)")
    seconds = time.monotonic() - started
    db.close()
    return seconds


QUERIES = [
    ("title word", "title : history", Term("title", "history")),
    ("author word", "author : smith", Term("author", "smith")),
    ("phrase", 'title : "united states"', Term("title", "united states", structure=Structure.PHRASE)),
    ("right truncation", "title : hist*", Term("title", "hist", truncation=Truncation.RIGHT)),
    ("two fields", "title : war AND subject : history",
     None),
    ("any, frequent word", "any : the", Term("any", "the")),
    ("year range", None, Term("year", "1990", relation=Relation.GE)),
]


def main() -> int:
    home = Path(sys.argv[1])
    target = home / "fts5-prototype.sqlite"
    seconds = build(home, target)
    titles = sum(1 for _ in open(home / "searchkeys" / "IC.tsv", encoding="utf-8"))
    print(f"FTS5 build from search-key files: {seconds:.1f} s for {titles} titles ({titles / seconds:,.0f}/s)")
    db = sqlite3.connect(str(target))
    catalog = Catalog(Home(home))
    database = catalog.database(catalog.config.database)
    print(f"{'query':22} {'fts5 hits':>9} {'ms':>7} | {'whoosh hits':>11} {'ms':>7}")
    for label, match, term in QUERIES:
        runs = 50
        if match is not None:
            started = time.perf_counter()
            for _ in range(runs):
                hits = len(db.execute("SELECT rowid FROM words WHERE words MATCH ?", (match,)).fetchall())
            fts_ms = (time.perf_counter() - started) / runs * 1000
        else:
            started = time.perf_counter()
            for _ in range(runs):
                hits = len(db.execute("SELECT DISTINCT isn FROM years WHERE year >= 1990").fetchall())
            fts_ms = (time.perf_counter() - started) / runs * 1000
        if term is not None:
            started = time.perf_counter()
            for _ in range(runs):
                whoosh_hits = catalog.search(term, database).size
            whoosh_ms = (time.perf_counter() - started) / runs * 1000
        else:
            whoosh_hits, whoosh_ms = 0, 0.0
        print(f"{label:22} {hits:9} {fts_ms:7.2f} | {whoosh_hits:11} {whoosh_ms:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
