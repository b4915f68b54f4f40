"""Fuzz target: the PQF, CCL and CQL parsers and their mapping to the query tree.

The first byte picks the language; the rest is the query text (UTF-8, undecodable bytes
replaced). A query is parsed and mapped, or refused with a QueryError or a protocol
diagnostic; anything else is a crash.
"""

from __future__ import annotations

import atheris
from harness import pick, run

with atheris.instrument_imports():
    from index.errors import CatalogError
    from zserver.querylang.ccl import DEFAULT_QUALIFIERS, CclProfile, parse_ccl
    from zserver.querylang.cql import parse_cql
    from zserver.querylang.errors import QueryError
    from zserver.querylang.pqf import parse_pqf
    from zserver.sru.cqlmap import cql_to_query
    from zserver.sru.diagnostics import SruDiagnostic
    from zserver.z3950.attributes import rpn_to_query
    from zserver.z3950.diagnostics import Z3950Diagnostic

PROFILE = CclProfile(DEFAULT_QUALIFIERS)
ANSWERS = (QueryError, Z3950Diagnostic, SruDiagnostic, CatalogError)
SEEDS = [b"\x00@attr 1=4 @attr 5=1 hist", b"\x00@and @attr 1=1003 smith @or @set a @attr 1=21 art",
         b"\x01ti=knuth and (au=smith or su=art?) not year=1990-2000", b"\x01ti,ranked=knuth",
         b'\x02dc.title any "a b" and/relevant bath.name = smith* sortBy dc.date/descending',
         b"\x02> dc = \"http://purl.org/dc/elements/1.1/\" dc.title = x prox/unit=word/distance<3 y"]


def test_one_input(data: bytes) -> None:
    language, body = pick(data, 3)
    text = body.decode("utf-8", "replace")
    try:
        if language == 0:
            rpn_to_query(parse_pqf(text))
        elif language == 1:
            rpn_to_query(parse_ccl(text, PROFILE))
        else:
            cql_to_query(parse_cql(text))
    except ANSWERS:
        pass


if __name__ == "__main__":
    run(test_one_input, SEEDS)
