"""Query languages: PQF, CCL and CQL text, and the Type-1 (RPN) query structure.

This package owns the syntax of the query languages and nothing else. PQF and CCL parse into
`rpn.Query` (the Z39.50 Type-1 query, which `zserver.z3950.attributes` maps onto
`index.query`); CQL parses into its own small tree (`cql.CqlQuery`, mapped by
`zserver.sru.cqlmap`). It must not import Twisted, `zserver.z3950` or `zserver.sru`, and it
knows no protocol diagnostic codes: it raises `errors.QueryError` subclasses, which each
protocol's diagnostics module maps in one table.
"""

from zserver.querylang import ccl, cql
from zserver.querylang.ccl import DEFAULT_QUALIFIERS, CclProfile, parse_ccl
from zserver.querylang.cql import (
    SERVER_CHOICE,
    BooleanClause,
    CqlNode,
    CqlQuery,
    Modifier,
    PrefixAssignment,
    Prefixed,
    SearchClause,
    SortKey,
    parse_cql,
)
from zserver.querylang.errors import (
    MAX_QUERY_DEPTH,
    QueryError,
    QuerySyntaxError,
    QueryTooComplex,
    TruncationNotAllowed,
    UnknownQualifier,
    UnsupportedOperand,
    UnsupportedTermType,
)
from zserver.querylang.pqf import parse_pqf, rpn_to_pqf
from zserver.querylang.rpn import (
    BIB1_OID,
    Attribute,
    AttributesPlusTerm,
    ComplexValue,
    KnownProximityUnit,
    Operator,
    Proximity,
    ProximityRelation,
    Query,
    ResultSetId,
    RpnOp,
    RpnStructure,
    TermType,
    rpn_from_asn1,
    rpn_to_asn1,
)

__all__ = [
    "BIB1_OID",
    "DEFAULT_QUALIFIERS",
    "MAX_QUERY_DEPTH",
    "SERVER_CHOICE",
    "Attribute",
    "AttributesPlusTerm",
    "BooleanClause",
    "CclProfile",
    "ComplexValue",
    "CqlNode",
    "CqlQuery",
    "KnownProximityUnit",
    "Modifier",
    "Operator",
    "PrefixAssignment",
    "Prefixed",
    "Proximity",
    "ProximityRelation",
    "Query",
    "QueryError",
    "QuerySyntaxError",
    "QueryTooComplex",
    "ResultSetId",
    "RpnOp",
    "RpnStructure",
    "SearchClause",
    "SortKey",
    "TermType",
    "TruncationNotAllowed",
    "UnknownQualifier",
    "UnsupportedOperand",
    "UnsupportedTermType",
    "parse_ccl",
    "preload",
    "parse_cql",
    "parse_pqf",
    "rpn_from_asn1",
    "rpn_to_asn1",
    "rpn_to_pqf",
]


def preload() -> None:
    """Build the CCL and CQL parsers now (a server does so before forking its workers)."""
    ccl._parser()
    cql._parser()
