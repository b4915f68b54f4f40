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

from index.query import And, AndNot, Node, Or, Prox, Term
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
    if isinstance(node, Term):
        if node.index == ISN_INDEX and node.text.strip().isdigit():
            live = current(store, int(node.text))
            if str(live) != node.text.strip():
                return replace(node, text=str(live))
        return node
    if isinstance(node, And | Or | AndNot | Prox):
        left, right = follow(node.left, store), follow(node.right, store)
        if left is node.left and right is node.right:
            return node
        return replace(node, left=left, right=right)
    return node
