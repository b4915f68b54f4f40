"""Which search engine a catalog uses, where its files are, and how to build and update it.

Two engines sit behind the same interface (`search`, `sort`, `scan`, `isns`, `briefs`,
`refresh`, `close`): Whoosh (`index.engine`, the default, as the design card asks) and SQLite
FTS5 with the key table (`index.sqlengine`, several times faster to build and to search; see
bench/RESULTS.md). `[index] engine = "whoosh" | "sqlite"` in unikat.toml chooses. Both are
built from the same search-key files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from index.engine.searcher import Engine as WhooshEngine
from index.engine.writer import build_index, update_index
from index.home import Config, Home
from index.searchkeys.extract import TitleKeys
from index.sqlengine import store as sqlstore
from index.sqlengine.searcher import SqlEngine

ENGINES = ("whoosh", "sqlite")
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
    return home.whoosh_dir if engine_name(config) == "whoosh" else home.root / "sqlindex"


def index_ready(home: Home, config: Config) -> bool:
    """Whether an index of the configured engine, in the current layout, exists."""
    marker = index_dir(home, config) / _LAYOUT_FILE
    return marker.exists() and marker.read_text(encoding="utf-8").strip() == LAYOUT


def open_engine(home: Home, config: Config) -> WhooshEngine | SqlEngine:
    directory = index_dir(home, config)
    return WhooshEngine(directory) if engine_name(config) == "whoosh" else SqlEngine(directory)


def build(home: Home, config: Config, titles: Iterable[TitleKeys], *,
          progress: Callable[[int], None] | None = None, procs: int = 1) -> int:
    directory = index_dir(home, config)
    if engine_name(config) == "whoosh":
        count = build_index(directory, titles, progress=progress, procs=procs)
    else:
        count = sqlstore.build(directory, titles, progress=progress)
    (directory / _LAYOUT_FILE).write_text(LAYOUT + "\n", encoding="utf-8")
    return count


def update(home: Home, config: Config, changed: list[TitleKeys], deleted: list[int]) -> int:
    directory = index_dir(home, config)
    if engine_name(config) == "whoosh":
        return update_index(directory, changed, deleted)
    return sqlstore.update(directory, changed, deleted)
