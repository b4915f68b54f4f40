"""The facet columns of the posting-array engine, read from its lexicon and ISN arrays.

A field's terms are neighbours in the lexicon and their ISN runs neighbours in each segment's
docs file (the writer lays them out in (field, term) order), so one field of one segment is one
SQL query and one read of the docs file, whatever the number of its terms. Postings an update
voided (`_Segment.valid`) are left out, as searches leave them out.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from index.engines.facets import FACETS, FacetColumn
from index.engines.postings.layout import EXACT_FIELDS, exact_field, read_runs


class Segment(Protocol):
    """What is read of an open segment (`index.engines.postings.searcher._Segment`)."""

    docs: object      # a slice of it is an int64 array of ISNs

    def valid(self, isns: np.ndarray, values: np.ndarray) -> np.ndarray: ...


def lexicon_field(facet: str) -> str:
    """The lexicon field whose terms a facet counts: the whole keys of a word index."""
    index = FACETS[facet]
    return exact_field(index) if index in EXACT_FIELDS else index


def column(db: sqlite3.Connection, segments: Mapping[int, Segment], facet: str) -> FacetColumn:
    """The (ISN, value) pairs of `facet` over every live title."""
    field = lexicon_field(facet)
    terms: list[str] = []
    isns, owners = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for number, segment in segments.items():
        rows = db.execute("SELECT term, docs_at, docs FROM terms WHERE field = ? AND segment = ? AND docs > 0 "
                          "ORDER BY term", (field, number)).fetchall()   # the key's order: no sort
        if not rows:
            continue
        at = np.array([row[1] for row in rows], dtype=np.int64)
        counts = np.array([row[2] for row in rows], dtype=np.int64)
        found = read_runs(segment.docs.__getitem__, at, counts)
        owner = np.repeat(np.arange(len(terms), len(terms) + len(rows)), counts)
        kept = segment.valid(found, np.arange(len(found)))
        isns.append(found[kept])
        owners.append(owner[kept])
        terms.extend(row[0] for row in rows)
    built = FacetColumn.from_runs(terms, np.concatenate(isns), np.concatenate(owners))
    return built.decades() if facet == "decade" else built
