"""Writes titles' search keys into the Whoosh index: a full build or an incremental update."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3TermInfo

from index.engine.keytable import KeyTable
from index.engine.schema import KEY_SEPARATOR, build_schema
from index.searchkeys.extract import TitleKeys
from index.searchkeys.spec import INDEXES, IndexKind

_WORDS = [spec.name for spec in INDEXES if spec.kind is IndexKind.WORDS]
_KEYS = [spec.name for spec in INDEXES if spec.kind is IndexKind.KEY and not spec.table and spec.name != "isn"]


# whoosh-reloaded 2.7.5 calls `set_inline` where its term info defines `set_inlined`, so posting
# lists are never inlined. Most of our keys (call numbers, control numbers, exact titles) occur
# once; inlining them into the term table saves a posting block each and about a third of the
# index build time. The reader side already handles inlined postings.
if not hasattr(W3TermInfo, "set_inline"):
    W3TermInfo.set_inline = W3TermInfo.set_inlined


def _codec() -> W3Codec:
    return W3Codec(inlinelimit=2, compression=1)


def document(title: TitleKeys) -> dict:
    """The Whoosh document of one title."""
    c = title.control
    doc: dict = {
        "isn": title.isn,
        "sort_title": c.sort_title.encode("utf-8"),
        "sort_author": c.sort_author.encode("utf-8"),
        "sort_year": c.year or 0,
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
    options = {"limitmb": 256, "codec": _codec()}
    if procs > 1:
        options.update(procs=procs, multisegment=True)
    writer = ix.writer(**options)
    keys = KeyTable(directory)
    count = 0
    batch: list[TitleKeys] = []
    for title in titles:
        writer.add_document(**document(title))
        batch.append(title)
        count += 1
        if len(batch) == 1000:
            keys.add(batch)
            batch = []
    keys.add(batch)
    keys.close()
    writer.commit()
    ix.close()
    return count


def update_index(directory: Path, changed: Iterable[TitleKeys], deleted: Iterable[int] = ()) -> int:
    """Replace the given titles and remove the deleted ISNs; returns the number of titles written."""
    if not whoosh_index.exists_in(str(directory)):
        directory.mkdir(parents=True, exist_ok=True)
        whoosh_index.create_in(str(directory), build_schema())
    changed = list(changed)
    deleted = list(deleted)
    ix = whoosh_index.open_dir(str(directory))
    writer = ix.writer(limitmb=256, codec=_codec())
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
