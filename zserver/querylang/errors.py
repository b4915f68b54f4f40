"""Errors of the query languages: what `zserver.querylang` raises for a query it cannot read.

This module owns the one exception family of the package. It knows no protocol codes: the
Z39.50 side (`zserver.z3950.diagnostics`) and the SRU side (`zserver.sru.diagnostics`) each map
these classes onto their diagnostics in one table. Nothing from `lark` ever escapes the package;
parser errors are translated into `QuerySyntaxError` with the character offset where reading
stopped.
"""

from __future__ import annotations

import sys

MAX_QUERY_DEPTH = 200
"""How deeply a query may nest (operators and parentheses) before QueryTooComplex.

Every stage after parsing walks the tree recursively, as do asn1tools decoding a Type-1 query
(about five frames a level) and Whoosh matching it: with `allow_deep_queries` they stay within
Python's recursion limit while allowing, say, 190 ORed ISBNs in one query."""

_RECURSION_LIMIT = 2500


def allow_deep_queries() -> None:
    """Raise Python's recursion limit (1,000 frames) so a query MAX_QUERY_DEPTH deep can be
    decoded and searched; the server and the command line call it as they start."""
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)


class QueryError(Exception):
    """Base of every error `zserver.querylang` raises on purpose.

    `message` is safe to show a client; `position` is a 0-based character offset into the
    query text, or None when the query did not come as text (a decoded Type-1 query).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} (at {position})")
        self.message = message
        self.position = position


class QuerySyntaxError(QueryError):
    """The query text does not follow the grammar of its language (PQF, CCL or CQL)."""


class UnknownQualifier(QuerySyntaxError):
    """A CCL qualifier that the qualifier table does not define (Bib-1 114 at the edge)."""

    def __init__(self, qualifier: str, position: int | None = None) -> None:
        super().__init__(f"unknown qualifier {qualifier!r}", position)
        self.qualifier = qualifier


class TruncationNotAllowed(QuerySyntaxError):
    """A CCL term is truncated or masked where its qualifier does not allow it (Bib-1 120)."""


class UnsupportedTermType(QueryError):
    """A Type-1 term in a form we do not search with (external, integerAndUnit)."""


class UnsupportedOperand(QueryError):
    """A Type-1 operand we do not evaluate (resultAttr, the Type-101 restriction operand)."""


class QueryTooComplex(QueryError):
    """The query nests more operators or parentheses than MAX_QUERY_DEPTH."""
