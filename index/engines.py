"""Which search engine a catalog uses, where its files are, and how to build and update it.

Three engines sit behind the same interface (`search`, `sort`, `scan`, `isns`, `briefs`,
`refresh`, `close`): Whoosh (`index.engine`, the design card's choice), SQLite FTS5 with a key
table (`index.sqlengine`) and posting arrays searched with numpy (`index.postings`, the
fastest to build and to search; see bench/RESULTS.md). `[index] engine = "whoosh" | "sqlite" |
"postings"` in unikat.toml chooses. All are built from the same search-key files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from index.engine.searcher import Engine as WhooshEngine
from index.engine.writer import build_index, update_index
from index.home import Config, Home
from index.postings import writer as postings_writer
from index.postings.searcher import PostingsEngine
from index.searchkeys.extract import TitleKeys
from index.sqlengine import store as sqlstore
from index.sqlengine.searcher import SqlEngine

ENGINES = ("whoosh", "sqlite", "postings")
# Raised whenever what an index holds changes, so an index of an older layout is rebuilt.
LAYOUT = "3: years in the key table"
_LAYOUT_FILE = "LAYOUT"


class UnknownEngine(ValueError):
    """unikat.toml names an engine that does not exist."""


def engine_name(config: Config) -> str:
    name = str(config.raw.get("index", {}).get("engine", "whoosh")).lower()
    if name not in ENGINES:
        raise UnknownEngine(f"unikat.toml: [index] engine must be one of {', '.join(ENGINES)}, not {name!r}")
    return name


def index_dir(home: Home, config: Config) -> Path:
    name = engine_name(config)
    return {"whoosh": home.whoosh_dir, "sqlite": home.root / "sqlindex", "postings": home.root / "postings"}[name]


def index_ready(home: Home, config: Config) -> bool:
    """Whether an index of the configured engine, in the current layout, exists."""
    marker = index_dir(home, config) / _LAYOUT_FILE
    return marker.exists() and marker.read_text(encoding="utf-8").strip() == LAYOUT


def open_engine(home: Home, config: Config) -> WhooshEngine | SqlEngine | PostingsEngine:
    directory = index_dir(home, config)
    return {"whoosh": WhooshEngine, "sqlite": SqlEngine, "postings": PostingsEngine}[engine_name(config)](directory)


def build(home: Home, config: Config, titles: Iterable[TitleKeys], *,
          progress: Callable[[int], None] | None = None, procs: int = 1) -> int:
    directory = index_dir(home, config)
    name = engine_name(config)
    if name == "whoosh":
        count = build_index(directory, titles, progress=progress, procs=procs)
    elif name == "sqlite":
        count = sqlstore.build(directory, titles, progress=progress)
    else:
        count = postings_writer.build(directory, titles, progress=progress)
    (directory / _LAYOUT_FILE).write_text(LAYOUT + "\n", encoding="utf-8")
    return count


def update(home: Home, config: Config, changed: list[TitleKeys], deleted: list[int]) -> int:
    directory = index_dir(home, config)
    name = engine_name(config)
    if name == "whoosh":
        return update_index(directory, changed, deleted)
    if name == "sqlite":
        return sqlstore.update(directory, changed, deleted)
    return postings_writer.update(directory, changed, deleted)


def needs_rebuild(home: Home, config: Config) -> bool:
    """Whether the index should be rebuilt after an update (the posting arrays merge segments so)."""
    return engine_name(config) == "postings" and postings_writer.needs_rebuild(index_dir(home, config))
