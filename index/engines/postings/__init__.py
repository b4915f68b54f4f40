"""The posting-array engine: an inverted index of sorted ISN arrays, searched with numpy.

The fastest of the three engines behind `index.search.Catalog` (see bench/RESULTS.md). A term's
postings are a slice of one memory-mapped array: ISNs for "which titles", and
`ISN << 32 | position` codes for phrases and proximity, so AND, OR, NOT, phrases, truncation and
year ranges are a few vectorized set operations in C instead of per-document Python. The
lexicon (term → slices) is an SQLite table, which gives exact lookups, ranges for truncation and
Scan, and GLOB for masking. `layout` says what is on disk, `writer` builds and updates it,
`evaluate` answers the query tree, `searcher` is the engine `Catalog` talks to.
"""
