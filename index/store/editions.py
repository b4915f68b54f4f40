"""The print and online edition links titles make (`edition_links`), kept in the catalog store.

What a link is, which titles' links to rewrite and how the other edition is found is
`index.editions`'s; this module keeps and reads the rows and knows no MARC. Each function
takes the `CatalogStore` or its connection (`index.store.connection`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from index.store.connection import Connection, connection

if TYPE_CHECKING:   # the catalog store imports this module
    from index.store.catalog import CatalogStore

__all__ = ["Link", "create_tables", "linking_to", "links_of", "replace_links"]

_TABLES = """
CREATE TABLE IF NOT EXISTS edition_links (
    isn       INTEGER NOT NULL,            -- the title making the link
    target    TEXT NOT NULL,               -- w:(003)001, issn:NNNNNNNN or isbn:NNN...
    relation  TEXT NOT NULL DEFAULT '',    -- $i, e.g. Druckausg.
    title     TEXT NOT NULL DEFAULT ''     -- $t
);
CREATE INDEX IF NOT EXISTS edition_links_isn ON edition_links(isn);
CREATE INDEX IF NOT EXISTS edition_links_target ON edition_links(target);
"""

Link = tuple[str, str, str]
"""(target id, relation, title) of one link."""


def create_tables(store: Connection | CatalogStore) -> None:
    connection(store).executescript(_TABLES)


def replace_links(store: Connection | CatalogStore, isns: Sequence[int], links: Mapping[int, list[Link]]) -> int:
    """Drop the links of titles `isns` and write `links` (ISN -> its links) instead; returns links written."""
    db = connection(store)
    written = 0
    for start in range(0, len(isns), 500):
        chunk = list(isns[start:start + 500])
        db.execute(f"DELETE FROM edition_links WHERE isn IN ({','.join('?' * len(chunk))})", chunk)
    for isn, made in links.items():
        db.executemany("INSERT INTO edition_links (isn, target, relation, title) VALUES (?, ?, ?, ?)",
                       [(isn, *link) for link in made])
        written += len(made)
    return written


def links_of(store: Connection | CatalogStore, isn: int) -> list[Link]:
    """The links title `isn` makes, as it made them."""
    return connection(store).execute("SELECT target, relation, title FROM edition_links WHERE isn = ?",
                                     (isn,)).fetchall()


def linking_to(store: Connection | CatalogStore, targets: Sequence[str], isn: int) -> list[int]:
    """The titles other than `isn` that link to any of `targets`."""
    db = connection(store)
    found: list[int] = []
    for start in range(0, len(targets), 500):
        chunk = list(targets[start:start + 500])
        marks = ",".join("?" * len(chunk))
        found += [other for (other,) in db.execute(
            f"SELECT DISTINCT isn FROM edition_links WHERE target IN ({marks}) AND isn != ?", (*chunk, isn)).fetchall()]
    return found
