"""Which search engine a catalog uses, where its files are, and how to build and update it.

Two engines provide `index.engines.base.SearchEngine`: Whoosh (`index.engines.whoosh`, the
design card's choice and the default) and posting arrays searched with numpy
(`index.engines.postings`, the fastest to build and to search, for production; see
bench/RESULTS.md). `[index] engine = "whoosh" | "postings"` in unikat.toml chooses. Both are
built from the same search-key files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from index.engines.base import Progress, QueryLimits, SearchEngine
from index.engines.postings import writer as postings_writer
from index.engines.postings.searcher import PostingsEngine
from index.engines.whoosh.searcher import Engine as WhooshEngine
from index.engines.whoosh.writer import build_index, update_index
from index.home import Config, Home
from index.searchkeys.extract import TitleKeys

# Raised whenever what an index holds changes, so an index of an older layout is rebuilt.
LAYOUT = "5: field lengths for relevance ranking"
_LAYOUT_FILE = "LAYOUT"


@dataclass(frozen=True)
class _Kind:
    """One engine: its directory in the home and its functions."""

    directory: str
    open: Callable[[Path, QueryLimits], SearchEngine]
    build: Callable[[Path, Iterable[TitleKeys], int, Progress | None], int]   # into a new, empty directory
    update: Callable[[Path, list[TitleKeys], list[int]], int]
    needs_rebuild: Callable[[Path], bool] = lambda directory: False


_KINDS = {
    "whoosh": _Kind("whoosh", WhooshEngine, lambda d, titles, procs, merging: build_index(d, titles, procs),
                    update_index),
    "postings": _Kind("postings", PostingsEngine,
                      lambda d, titles, procs, merging: postings_writer.build(d, titles, merging, procs),
                      postings_writer.update, postings_writer.needs_rebuild),
}
ENGINES = tuple(_KINDS)


def engine_name(config: Config) -> str:
    return config.index.engine   # one of ENGINES: index.config checked it when parsing


def index_dir(home: Home, config: Config) -> Path:
    return home.root / _KINDS[engine_name(config)].directory


def index_ready(home: Home, config: Config) -> bool:
    """Whether an index of the configured engine, in the current layout, exists."""
    marker = index_dir(home, config) / _LAYOUT_FILE
    return marker.exists() and marker.read_text(encoding="utf-8").strip() == LAYOUT


def query_limits(config: Config) -> QueryLimits:
    """What one search may cost, as `[index]` in unikat.toml says."""
    index = config.index
    return QueryLimits(index.max_truncation_terms, index.max_query_terms, index.max_query_seconds,
                       index.max_term_words, index.max_term_characters)


def open_engine(home: Home, config: Config) -> SearchEngine:
    return _KINDS[engine_name(config)].open(index_dir(home, config), query_limits(config))


def build(home: Home, config: Config, titles: Iterable[TitleKeys], *, procs: int = 1,
          merging: Progress | None = None) -> int:
    """Build a fresh index beside the current one and swap it in when complete; returns the
    number of titles. Open engines notice the new directory at their next refresh."""
    directory = index_dir(home, config)
    staging = directory.with_name(directory.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    count = _KINDS[engine_name(config)].build(staging, titles, procs, merging)
    (staging / _LAYOUT_FILE).write_text(LAYOUT + "\n", encoding="utf-8")
    if directory.exists():
        shutil.rmtree(directory)
    staging.rename(directory)
    return count


def update(home: Home, config: Config, changed: list[TitleKeys], deleted: list[int]) -> int:
    return _KINDS[engine_name(config)].update(index_dir(home, config), changed, deleted)


def needs_rebuild(home: Home, config: Config) -> bool:
    """Whether the index should be rebuilt after an update (the posting arrays merge segments so)."""
    return _KINDS[engine_name(config)].needs_rebuild(index_dir(home, config))
