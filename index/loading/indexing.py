"""Keeping the search-key files and the search index in step with the store.

`update` takes the titles the store marked pending (changed or deleted since the last run),
appends their keys to the search-key files and replaces them in the index, then clears them.
`rebuild` rewrites the search-key files from the whole store and builds a fresh index from
those files. The index is the configured engine's (`index.engines`: Whoosh or posting arrays).

On a PostgreSQL store several hosts may load, and the pending marks are one queue for them all:
so each index phase first takes the index the store holds (`index.replicas.sync`: another host
may have published a newer one), then does its work, then publishes the result, all under an
advisory lock so two hosts' phases take turns.
"""

from __future__ import annotations

import itertools
import time
from array import array
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager

import pymarc

from index import engines, replicas
from index.engines.base import Progress
from index.home import Home
from index.loading import children, handover
from index.loading.collector import fewer_collections, return_freed_heap
from index.loading.forked import forked_workers
from index.searchkeys.extract import TitleKeys, extract
from index.searchkeys.files import SearchKeyFiles
from index.store.catalog import CatalogStore

_BATCH = 8192   # titles handed to the extraction processes at a time
_POOL_AT = 1024   # titles to extract in a batch that make extraction processes worth starting
_HANDED_AT_ONCE = 500   # handed-over keys read from the store at a time
_CHUNK = 256   # titles an extraction process takes at a time


def _extract(row: tuple[int, bytes, list]) -> TitleKeys:
    isn, display, holdings = row
    return extract(isn, pymarc.Record(data=display, to_unicode=True, force_utf8=True), holdings)


def _extract_all(rows: list[tuple[int, bytes, list]]) -> list[TitleKeys]:
    return [_extract(row) for row in rows]


def _title_keys(store: CatalogStore, isns: list[int] | None, procs: int = 1) -> Iterator[TitleKeys]:
    """Search keys of the given titles (all titles when None), in ISN order.

    A title whose keys a load handed over (`index.loading.handover`) for exactly its display
    record and holdings gets those; the others are parsed and extracted. That work is pure and
    CPU-bound: with `procs` > 1 and enough of it, it runs in that many processes (the GIL would
    serialize threads), the order of the titles kept.
    """
    rows = store.titles_with_holdings(isns)
    with ExitStack() as stack:
        workers = None
        while batch := list(itertools.islice(rows, _BATCH)):
            offered = store.offered_digests(row[0] for row in batch)
            handed = {isn for isn, display, holdings in batch
                      if isn in offered and offered[isn] == handover.digest(display, holdings)}
            missing = [row for row in batch if row[0] not in handed]
            if procs > 1 and len(missing) >= _POOL_AT:
                workers = workers or stack.enter_context(forked_workers(_extract_all, procs))
                chunks = (missing[start:start + _CHUNK] for start in range(0, len(missing), _CHUNK))
                extracted = itertools.chain.from_iterable(keys for _rows, keys in workers.map(chunks))
            else:
                extracted = map(_extract, missing)
            for start in range(0, len(batch), _HANDED_AT_ONCE):
                part = batch[start:start + _HANDED_AT_ONCE]
                keys = store.offered_keys(isn for isn, _display, _holdings in part if isn in handed)
                for isn, _display, _holdings in part:
                    yield handover.unpack(isn, keys[isn]) if isn in handed else next(extracted)


@contextmanager
def _index_turn(home: Home, store: CatalogStore) -> Iterator[None]:
    """This host's turn at the index of a PostgreSQL store: the newest published index taken
    first; the caller publishes what it changed. Nothing on SQLite (one machine)."""
    if store.backend == "sqlite":
        yield
        return
    with store.index_turn():
        replicas.sync(home, store)
        yield


@fewer_collections()
def update(home: Home, store: CatalogStore, *, progress: Progress | None = None, procs: int = 1,
           merging: Progress | None = None) -> tuple[int, int]:
    """Bring the index up to date with pending changes; returns (titles written, titles removed).

    When most titles changed (a first load), a full rebuild is faster than replacing them one by
    one, and gives the same index. On PostgreSQL the published index is taken first
    (`_index_turn`) and the result published before the pending marks are cleared.
    """
    with _index_turn(home, store):
        return _update(home, store, progress=progress, procs=procs, merging=merging)


def _update(home: Home, store: CatalogStore, *, progress: Progress | None, procs: int,
            merging: Progress | None) -> tuple[int, int]:
    changed, deleted = store.pending()
    if not changed and not deleted:
        return 0, 0
    config = home.config()
    if not engines.index_ready(home, config) or len(changed) > store.count_titles() // 2:
        return _rebuild(home, store, progress=progress, procs=procs, merging=merging), len(deleted)
    titles = list(_title_keys(store, changed))
    SearchKeyFiles(home.searchkeys_dir).append(titles, deleted)
    engines.update(home, config, titles, deleted)
    if engines.needs_rebuild(home, config):   # too many update segments: merge them (the same marks cleared)
        _rebuild(home, store, progress=progress, procs=procs, merging=merging)
    else:
        _publish_and_clear(home, store, changed + deleted)
    return len(titles), len(deleted)


def _publish_and_clear(home: Home, store: CatalogStore, isns: Iterable[int]) -> None:
    """The index holds the pending titles now: publish it (PostgreSQL), then forget their marks.
    In this order: a crash between the two makes the next run index them again, no harm; the
    other order could leave them in no published index at all."""
    replicas.publish(home, store)
    store.clear_pending(isns)
    store.set_meta("indexed_at", time.strftime("%Y-%m-%d %H:%M:%S"))


@fewer_collections()
def rebuild(home: Home, store: CatalogStore, *, progress: Progress | None = None, procs: int = 1,
            merging: Progress | None = None) -> int:
    """Rewrite every search-key file and build the index from the same keys in one pass; returns
    the title count. `progress` follows the titles, `merging` a merge of index runs on disk.
    On PostgreSQL the new index is published (`index.replicas`)."""
    with _index_turn(home, store):
        return _rebuild(home, store, progress=progress, procs=procs, merging=merging)


def _rebuild(home: Home, store: CatalogStore, *, progress: Progress | None, procs: int,
             merging: Progress | None) -> int:
    files = SearchKeyFiles(home.searchkeys_dir)
    changed, deleted = store.pending()
    marked = array("q", changed + deleted)   # 8 bytes a title, not a Python int's 36, while the build runs
    del changed, deleted
    return_freed_heap()   # what the load phase freed, before the engine's writers fork
    # one pass: each title's keys go to the search-key files, then into the index
    titles = files.writing_full(_title_keys(store, None, procs))
    with store.small_cache(), children.ending_with_us():   # the engine's writers (Whoosh) die with this one
        count = engines.build(home, home.config(), _counted(titles, store.count_titles(), progress), procs=procs,
                              merging=merging)
    _publish_and_clear(home, store, marked)
    return count


@fewer_collections()
def build_from_keys(home: Home, *, progress: Progress | None = None, merging: Progress | None = None) -> int:
    """Build the index from the search-key files alone, as MELVYL did: the store is not read.
    Gives the same index as the load pass that wrote the files; returns the title count."""
    files = SearchKeyFiles(home.searchkeys_dir)
    with children.ending_with_us():
        return engines.build(home, home.config(), _counted(files.read_all(), files.count_titles(), progress),
                             merging=merging)


def keys_incomplete(home: Home) -> str:
    """Why this home's search-key files cannot build the index alone ("" when they can). On a
    PostgreSQL store that several loading hosts share, each host's files hold only the titles its
    own index turns wrote: a build from them would lose the others' (the count is an upper bound).
    A store out of reach is no reason: the files are trusted, as they are for."""
    if home.config().store.backend == "sqlite":
        return ""
    from psycopg import OperationalError

    try:
        store = CatalogStore.of(home)
    except OperationalError:   # out of reach (what the files are for): nothing to compare them with
        return ""
    try:
        titles = store.count_titles()
    finally:
        store.close()
    written = SearchKeyFiles(home.searchkeys_dir).count_titles()
    if written >= titles:
        return ""
    return (f"the search-key files of this host hold at most {written:,} titles, the store {titles:,}: other"
            " loading hosts indexed the rest; 'unikat index --full' rewrites them here from the store")


def _counted(titles: Iterator[TitleKeys], total: int, progress: Progress | None) -> Iterator[TitleKeys]:
    """`titles` passed on, reporting progress every 1,000."""
    done = 0
    for title in titles:
        done += 1
        if progress and done % 1000 == 0:
            progress(done, total)
        yield title

