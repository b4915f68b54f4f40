"""Retired title numbers keep answering: a title merged into another answers as its successor.

When consolidation merges two titles, the older number stays and the other is retired with a
redirect (`index.store.corrections`). Clients keep old numbers in links, ILL orders and saved
searches, so a search by ISN (Bib-1 use 1032 doc-id, CQL rec.id, `isn=`) and a record fetch by
ISN (the web page's /record/ISN, unAPI, `unikat show`) look the number up here first. The ISN
index itself holds only live numbers; rewriting the query costs one primary-key look-up per ISN
term and nothing for other queries.
"""

from __future__ import annotations

from dataclasses import replace

from index.query import Node, Term, map_terms
from index.store import corrections
from index.store.catalog import CatalogStore

__all__ = ["current", "follow"]

ISN_INDEX = "isn"


def current(store: CatalogStore, isn: int) -> int:
    """The live title number `isn` answers as (itself when it is live or unknown)."""
    if store.display(isn) is not None:
        return isn
    moved = corrections.redirect(store, isn)
    return isn if moved is None else moved


def follow(node: Node, store: CatalogStore) -> Node:
    """`node` with every ISN term naming a retired number turned to its successor."""
    return map_terms(node, lambda term: _follow(term, store))


def _follow(term: Term, store: CatalogStore) -> Term:
    if term.index == ISN_INDEX and term.text.strip().isdigit():
        live = current(store, int(term.text))
        if str(live) != term.text.strip():
            return replace(term, text=str(live))
    return term
