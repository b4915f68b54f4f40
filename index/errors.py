"""Errors of the catalog: what `index` raises when a request cannot be done.

`index` knows no protocol codes. Each `zserver` diagnostics module maps these classes onto
Bib-1 or SRU diagnostics in one table; a test checks every subclass has a row there.
"""


class CatalogError(Exception):
    """Base of every error `index` raises on purpose. `.detail` is safe to show a client."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class UnknownSearchKey(CatalogError):
    """The logical index named in a query does not exist."""


class UnsupportedRelation(CatalogError):
    """The index cannot compare with this relation (e.g. `<` on a title)."""


class UnsupportedStructure(CatalogError):
    """The term's structure does not fit the index (e.g. a year that is not a number)."""


class UnsupportedTruncation(CatalogError):
    """The index cannot truncate this way."""


class UnsupportedPosition(CatalogError):
    """The position requested cannot be honoured on this index."""


class UnsupportedCompleteness(CatalogError):
    """The completeness requested cannot be honoured on this index."""


class UnsupportedProximity(CatalogError):
    """The proximity unit is not supported (the subclasses say what else is not)."""


class ProximityRelationUnsupported(UnsupportedProximity):
    """A proximity relation other than <, <= and =."""


class ProximityDistanceUnsupported(UnsupportedProximity):
    """A proximity distance the index cannot answer (below zero, too far, or not 0 for a field)."""


class ProximityOperandsUnsupported(UnsupportedProximity):
    """Proximity between anything but two word terms of one word index."""


class LibraryRestricted(CatalogError):
    """A client not logged in named a restricted library in a query (it would count its titles)."""


class TruncationInProximity(UnsupportedProximity):
    """A truncated or masked term as an operand of proximity (neither engine expands it there)."""


class MalformedTerm(CatalogError):
    """The term is empty after normalization, or not valid for its index (e.g. `19x5` as a year)."""


class TooManyTerms(CatalogError):
    """A truncated or masked term expands to more index terms than the configured limit
    (`[index] max_truncation_terms`), or the truncated terms of one query together do
    (`max_query_terms`)."""


class TermTooLong(CatalogError):
    """A search term has more words or characters than one may (`[index] max_term_words`,
    `max_term_characters`)."""


class WorkerDied(Exception):
    """A worker process of a load or an index build ended in the middle of the work (killed, out
    of memory; `index.loading.forked`). Here, not there, so the CLI can name it without importing
    multiprocessing at every start."""


class ResourcesExhausted(CatalogError):
    """A search needs more work than one search may take (`[index] max_query_seconds`); it is
    stopped and gives no result."""


class ResultSetNotFound(CatalogError):
    """A query refers to a result set the session does not have."""


class RecordNotFound(CatalogError):
    """No record under this ISN (or it was deleted)."""


class UnknownDatabase(CatalogError):
    """No database of that name."""


class UnknownSortKey(CatalogError):
    """The catalog cannot sort by this key."""


class IndexNotBuilt(CatalogError):
    """The home has no index of the configured engine in the current layout: `unikat index`
    (or `unikat serve`) builds it; opening a catalog never does."""


class IndexUnavailable(CatalogError):
    """The index was removed while the catalog serves (deleted, or a rebuild under way), and a
    request needs a part of it no longer open: temporarily unavailable until `unikat index`
    puts an index back, which the catalog takes up on its next refresh."""


class LoadError(CatalogError):
    """A source file cannot be read at all (the load of that file stops; records are kept)."""
