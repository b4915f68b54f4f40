"""SRU: searchRetrieve, scan and explain over HTTP, with CQL queries.

This package owns the SRU protocol core. It must not import `zserver.z3950` (both share
only `zserver.querylang`) nor Twisted. Exported here: the CQL mapping onto `index.query`
(`cqlmap`) and the SRU diagnostics (`diagnostics`).
"""

from zserver.sru.cqlmap import (
    ALL_RECORDS,
    CONTEXT_SETS,
    DEFAULT_PREFIXES,
    DEFAULT_SEARCH_ORDER,
    INDEXES,
    RESULT_SET_ID,
    UNIKAT_CONTEXT_SET,
    SortCriterion,
    cql_to_query,
    sort_criteria,
)
from zserver.sru.diagnostics import (
    SruDiagnostic,
    SruDiagnosticCode,
    diagnostic_for,
    diagnostic_for_query_error,
)

__all__ = [
    "ALL_RECORDS",
    "CONTEXT_SETS",
    "DEFAULT_PREFIXES",
    "DEFAULT_SEARCH_ORDER",
    "INDEXES",
    "RESULT_SET_ID",
    "UNIKAT_CONTEXT_SET",
    "SortCriterion",
    "SruDiagnostic",
    "SruDiagnosticCode",
    "cql_to_query",
    "diagnostic_for",
    "diagnostic_for_query_error",
    "sort_criteria",
]
