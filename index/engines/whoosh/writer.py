"""Writes titles' search keys into the Whoosh index: a full build or an incremental update."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3PostingsWriter
from whoosh.matching import ListMatcher

from index.engines.ranking import field_lengths
from index.engines.whoosh.keytable import KeyTable
from index.engines.whoosh.schema import KEY_SEPARATOR, build_schema
from index.searchkeys.extract import TitleKeys
from index.searchkeys.spec import INDEXES, IndexKind

# Each writer process sorts postings in a pool of this size before it writes a sorted run to a
# temporary file. Against 256 MB (bench/load.py, LC records): 100k 896 → 463 MB peak, 115 → 104 s;
# 10k 450 → 274 MB, 8 → 10 s. The rest of the peak is each writer's term table at its commit.
_POOL_MB = 32

_WORDS = [spec.name for spec in INDEXES if spec.kind is IndexKind.WORDS]
_KEYS = [spec.name for spec in INDEXES if spec.kind is IndexKind.KEY and not spec.table and spec.name != "isn"]


class _InliningPostingsWriter(W3PostingsWriter):
    def start_postings(self, format_, terminfo) -> None:
        # whoosh-reloaded 2.7.5 calls `set_inline` where its term info defines `set_inlined`.
        terminfo.set_inline = terminfo.set_inlined
        super().start_postings(format_, terminfo)


class Codec(W3Codec):
    """Whoosh's codec with posting lists of one title inlined into the term table.

    Most of our keys (call numbers, control numbers, exact titles) occur once; inlining saves a
    posting block each and about a third of the build time. Whoosh 2.7.5 never inlines (its
    writer calls a method of a misspelt name) and so never read inlined postings back in a
    segment merge: their `ListMatcher` answers `''` (a str) as the value of a posting without
    values, which the merge's pool refuses (`AssertionError: vbytes=''`), so the first merge of
    update segments failed. Both ends are fixed here; an index records this class as its codec.
    """

    def __init__(self) -> None:
        super().__init__(inlinelimit=2, compression=1)

    def postings_writer(self, dbfile, byteids=False):
        return _InliningPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                       compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            if not values:
                values = (b"",) * len(ids)
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo)
        return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)


def document(title: TitleKeys) -> dict:
    """The Whoosh document of one title."""
    c = title.control
    doc: dict = {
        "isn": title.isn,
        "sort_title": c.sort_title.encode("utf-8"),
        "sort_author": c.sort_author.encode("utf-8"),
        "sort_year": c.year or 0,
        "lengths": array("H", field_lengths(title)).tobytes(),
        "brief": json.dumps([c.title, c.author, c.year, c.imprint, c.material_type, c.language], ensure_ascii=False),
    }
    for name in _WORDS:
        values = title.keys.get(name)
        if values:
            doc[name] = KEY_SEPARATOR.join(values)
    for name in _KEYS:
        values = title.keys.get(name)
        if values:
            doc[name] = KEY_SEPARATOR.join(values)
    return doc


def build_index(directory: Path, titles: Iterable[TitleKeys], procs: int = 1) -> int:
    """Build an index in the new, empty `directory`; returns the number of titles."""
    ix = whoosh_index.create_in(str(directory), build_schema())
    options = {"limitmb": _POOL_MB, "codec": Codec()}
    if procs > 1:
        options.update(procs=procs, multisegment=True)
    writer = ix.writer(**options)
    keys = KeyTable(directory)
    count = 0
    batch: list[TitleKeys] = []
    try:
        for title in titles:
            writer.add_document(**document(title))
            batch.append(title)
            count += 1
            if len(batch) == 1000:
                keys.add(batch)
                batch = []
    except BaseException:   # the titles failed (a worker died, an interrupt): no index
        _abandon(writer)
        raise
    keys.add(batch)
    keys.close()
    writer.commit()
    ix.close()
    return count


def _abandon(writer) -> None:
    """End a writer whose build failed. Whoosh's `cancel` leaves a multiprocess writer's tasks
    waiting on their queue for good, and the process's exit then waits for them (a hang)."""
    for task in getattr(writer, "tasks", ()):
        task.kill()
        task.join()
    writer.cancel()


def update_index(directory: Path, changed: Iterable[TitleKeys], deleted: Iterable[int] = ()) -> int:
    """Replace the given titles and remove the deleted ISNs; returns the number of titles written."""
    if not whoosh_index.exists_in(str(directory)):
        directory.mkdir(parents=True, exist_ok=True)
        whoosh_index.create_in(str(directory), build_schema())
    changed = list(changed)
    deleted = list(deleted)
    ix = whoosh_index.open_dir(str(directory))
    writer = ix.writer(limitmb=_POOL_MB, codec=Codec())
    for isn in deleted:
        writer.delete_by_term("isn", isn)
    for title in changed:
        writer.update_document(**document(title))
    keys = KeyTable(directory)
    keys.replace(changed, deleted)
    keys.close()
    writer.commit()
    ix.close()
    return len(changed)
