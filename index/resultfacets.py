"""Facets of a result set as a client may see them.

Each engine counts (`facet_counts(hits, facet)`, `index.engines.facets`); here the library
facet speaks in the catalog's library codes (`DE-1`, not the index key `de1`), and a client not
signed in sees no restricted library in it, nor its count (as the web page's library limit and
scans of the library index leave them out), and a consortium's titles count for each member
too (`index.consortia`), as a search limited to the member finds them. Other facets are the
index's keys as they are.
(A function beside `Catalog` rather than a method of it: `index.search` is the catalog's
narrow interface, and facets are one step more on its result sets.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from index.engines.facets import FACETS, Facet, FacetCounts, FacetRequest, select
from index.query import Term
from index.search import Catalog, ResultSet, key_term, library_key


def facets(catalog: Catalog, result_set: ResultSet, requests: Sequence[FacetRequest], *,
           signed_in: bool = True) -> list[Facet]:
    """The values of each requested facet with their counts over the whole of `result_set`;
    a client not `signed_in` sees no restricted library in them."""
    codes = {library_key(db.library): db.library for db in catalog.databases() if db.library is not None}
    hidden = frozenset(library_key(code) for code in catalog.hidden_libraries(signed_in))
    widen = catalog.consortia.member_keys   # a consortium's holding is each member's (index.consortia)
    codes.update({library_key(code): code for code in catalog.consortia.consortia})
    result = []
    with catalog._index_at_hand():   # the index removed while serving: IndexUnavailable
        for request in requests:
            if request.name == "library":
                counts = _libraries(result_set.facet_counts("library", widen), codes, hidden)
            else:
                counts = result_set.facet_counts(request.name)
            result.append(select(request.name, counts, request))
    return result


def _libraries(counts: FacetCounts, codes: Mapping[str, str], hidden: frozenset[str]) -> FacetCounts:
    shown = np.array([term not in hidden for term in counts.terms], dtype=bool)
    terms = [codes.get(term, term) for term in counts.terms]
    # codes sort otherwise than keys: keep alphanumeric order the order of what is shown
    order = sorted(range(len(terms)), key=terms.__getitem__)
    return replace(counts, terms=[terms[i] for i in order], counts=np.where(shown, counts.counts, 0)[order])


def facet_term(name: str, value: str) -> Term:
    """The query term that narrows a result to the titles counted under `value` of facet `name`
    (an exact whole-field key of a name, subject or series; a year or a decade's range), as a
    scan's term of the facet's index finds its titles."""
    return key_term(FACETS[name], value)
