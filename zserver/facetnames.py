"""Which facet a client names: the one table for SRU's `facetLimit` and Z39.50's Facet-1 Use.

A client names a facet as it names an index in its protocol: a CQL index (`dc.creator`,
`dc.date`, `bath.seriesTitle`, `unikat.library`), a Bib-1 Use attribute (`1003`, or a string
Use such as `author`), or our facet name (`author`, `decade`, `material_type`). A name of a
year index (`dc.date`, `bath.year`, `1=31`) is the year facet; `decade` (in any context set) is
the decades of the same years. Anything else is no facet (None): the caller refuses it.
"""

from __future__ import annotations

from index.engines.facets import FACETS
from zserver.sru.cqlmap import INDEXES as CQL_INDEXES
from zserver.z3950.attributes import USE_INDEXES

_BY_INDEX = {index: name for name, index in FACETS.items() if name != "decade"}   # index -> facet


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


_OWN = {_key(name): name for name in FACETS} | {"date": "year", "materialtype": "material_type",
                                                  "type": "material_type", "creator": "author"}


def facet_named(name: str) -> str | None:
    """The facet (a key of `index.engines.facets.FACETS`) a client's index name stands for."""
    text = name.strip()
    if text.isdigit():   # a Bib-1 Use number (int() refuses some digits isdigit() takes, e.g. "²")
        index = USE_INDEXES.get(int(text)) if text.isascii() and len(text) <= 10 else None
        return _BY_INDEX.get(index) if index else None
    prefix, dot, base = text.rpartition(".")
    own = _OWN.get(_key(base))
    if own is not None:
        return own
    for context_set in ([prefix.lower()] if dot else list(CQL_INDEXES)):
        index = CQL_INDEXES.get(context_set, {}).get(_key(base))
        if index in _BY_INDEX:
            return _BY_INDEX[index]
    return None
