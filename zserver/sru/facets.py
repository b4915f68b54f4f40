"""SRU 2.0 facets: the `facetLimit`, `facetStart` and `facetSort` parameters read, and the
`facetedResults` element of a searchRetrieveResponse built.

The parameters as YAZ writes and reads them (`sru_facet.c`):

    facetLimit=10:dc.creator,5:bath.year    values per facet, in the order the facets are answered
    facetLimit=10                           every facet (`index.engines.facets.FACETS`), 10 values each
    facetStart=2 | 2:dc.creator,1:bath.year the first value given (1-based), for all or per facet
    facetSort=count | alphanumeric          most titles first (the default) or in key order,
              | alphanumeric:dc.creator     for all or per facet

The response carries `<facetedResults>` (sruResponse namespace) with one `<facet>` per facet
asked for (facetedResults namespace, OASIS searchRetrieve 1.0 `facetedResults.xsd`): the index
as the client named it, and each value's `actualTerm`, `count` and the CQL `query` that finds
exactly those titles (the search AND the value), as long as the answer's narrowing queries
stay within `QUERY_CHARACTERS` (a long query times 8 facets of 1,000 values would otherwise
make an answer of hundreds of MB; the element is optional, a client can narrow with `index`
and `actualTerm` itself). Counts are over the whole result. A facet
without a value in the result is left out (the schema wants at least one term); when no facet
has a value, so is `facetedResults`. `facetRangeField`, `facetLowValue`, `facetHighValue` and
`facetCount` (ranges) are not offered: diagnostic 8 as for any parameter we do not take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from index import resultfacets
from index.engines.facets import DEFAULT_LIMIT, FACETS, MAX_LIMIT, Facet, FacetRequest, FacetSort
from index.search import Catalog, ResultSet
from index.searchkeys.spec import BY_NAME, IndexKind
from zserver.facetnames import facet_named
from zserver.sru.diagnostics import SruDiagnostic, SruDiagnosticCode
from zserver.sru.response import SRU2_NS, xml_text

FACET_NS = "http://docs.oasis-open.org/ns/search-ws/facetedResults"
PARAMETERS = ("facetLimit", "facetStart", "facetSort")
QUERY_CHARACTERS = 1_000_000
"""Characters of narrowing queries one answer carries at most; the terms beyond go without."""

LABELS = {"library": "Library", "language": "Language", "year": "Year", "decade": "Decade",
          "material_type": "Material type", "author": "Author", "subject": "Subject", "series": "Series"}

_D = SruDiagnosticCode


@dataclass(frozen=True)
class SruFacet:
    """One facet asked for: the index as the client named it, and what to count."""

    index: str
    request: FacetRequest


def _bad(name: str, why: str) -> SruDiagnostic:
    return SruDiagnostic(_D.UNSUPPORTED_PARAMETER_VALUE, f"{name}: {why}")


def _number(parameter: str, text: str, low: int, high: int) -> int:
    text = text.strip()
    # ASCII digits only, and not thousands of them: int() would take "²" for a digit and refuse it
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or not low <= int(text) <= high:
        raise _bad(parameter, f"{text!r} is not a number from {low} to {high}")
    return int(text)


def _items(parameter: str, text: str) -> tuple[str | None, dict[str, str]]:
    """A general value and the per-index values (`value:index`) of a comma-separated list."""
    general, per_index = None, {}
    for item in text.split(","):
        value, colon, index = item.strip().partition(":")
        if not value.strip():
            raise _bad(parameter, f"empty item in {text!r}")
        if colon:
            if not index.strip():
                raise _bad(parameter, f"no index after {value}:")
            per_index[index.strip()] = value.strip()
        else:
            general = value.strip()
    return general, per_index


def _sort(text: str) -> FacetSort:
    for choice in FacetSort:
        if choice.value == text.lower():
            return choice
    raise _bad("facetSort", f"{text!r} is neither count nor alphanumeric")


def parse(values: Mapping[str, str]) -> tuple[SruFacet, ...]:
    """The facets the request's facet parameters ask for; raises SruDiagnostic 6 for a value
    we cannot read and 16 (unsupported index) for an index that is no facet."""
    if "facetLimit" not in values:
        if any(name in values for name in PARAMETERS):
            raise SruDiagnostic(_D.MANDATORY_PARAMETER_NOT_SUPPLIED, "facetLimit (facetStart and facetSort need it)")
        return ()
    general_limit, limits = _items("facetLimit", values["facetLimit"])
    general_start, starts = _items("facetStart", values.get("facetStart", "1"))
    general_sort, sorts = _items("facetSort", values.get("facetSort", FacetSort.COUNT.value))
    for index in [*starts, *sorts]:
        if index not in limits:
            raise _bad("facetStart" if index in starts else "facetSort", f"{index} is not in facetLimit")
    wanted = dict(limits) or {name: general_limit for name in FACETS}
    facets = []
    named: dict[str, str] = {}   # facet -> the index that asked for it
    for index, limit in wanted.items():
        name = facet_named(index)
        if name is None:
            raise SruDiagnostic(_D.UNSUPPORTED_INDEX, f"{index}: no facet (facets: {', '.join(FACETS)})")
        if name in named:   # each facet once: else one request could count it thousands of times
            raise _bad("facetLimit", f"{named[name]} and {index} are the same facet ({name}): ask for it once")
        named[name] = index
        facets.append(SruFacet(index, FacetRequest(
            name,
            limit=_number("facetLimit", limit or str(DEFAULT_LIMIT), 0, MAX_LIMIT),
            start=_number("facetStart", starts.get(index, general_start or "1"), 1, 10**9),
            sort=_sort(sorts.get(index, general_sort or FacetSort.COUNT.value)))))
    return tuple(facets)


def echo(values: Mapping[str, str]) -> str | None:
    """The echoed `facetParameters`: the facet parameters as given (`name=value`, `&`-joined)."""
    given = [f"{name}={values[name]}" for name in PARAMETERS if name in values]
    return "&".join(given) or None


def _cql_string(text: str) -> str:
    escaped = "".join("\\" + char if char in '"\\*?^' else char for char in text)
    return f'"{escaped}"'


def narrowing_clause(name: str, value: str) -> str:
    """A CQL clause that finds the titles counted under `value` of facet `name`."""
    index = FACETS[name]
    cql_index = "unikat." + index.replace("_", "")
    if name == "decade":
        low, _, high = value.partition("-")
        return f"{cql_index} within {_cql_string(f'{low} {high}')}"
    if BY_NAME[index].kind is IndexKind.WORDS:
        return f"{cql_index} == {_cql_string(value)}"
    return f"{cql_index} = {_cql_string(value)}"


def _narrowing(query: str) -> tuple[str, str]:
    """What goes before and after a value's clause to make `query` AND the clause, its sortBy
    (if any) kept at the end."""
    at = query.lower().rfind("sortby")
    if at > 0 and query[at - 1].isspace():
        return f"({query[:at].strip()}) and ", f" {query[at:]}"
    return f"({query}) and ", ""


def faceted_results(asked: Sequence[SruFacet], found: Sequence[Facet], query: str) -> etree._Element | None:
    """The `facetedResults` element of a response (None when no facet has a value)."""
    root = etree.Element(f"{{{SRU2_NS}}}facetedResults", nsmap={"facet": FACET_NS})
    q = f"{{{FACET_NS}}}"
    budget = QUERY_CHARACTERS
    before, after = _narrowing(query)
    for facet_asked, facet in zip(asked, found, strict=True):
        if not facet.terms:
            continue
        element = etree.SubElement(root, q + "facet")
        etree.SubElement(element, q + "facetDisplayLabel").text = LABELS[facet.name]
        etree.SubElement(element, q + "index").text = xml_text(facet_asked.index)
        terms = etree.SubElement(element, q + "terms")
        for term in facet.terms:
            item = etree.SubElement(terms, q + "term")
            etree.SubElement(item, q + "actualTerm").text = xml_text(term.term)
            clause = narrowing_clause(facet.name, term.term)
            size = len(before) + len(clause) + len(after)
            if size <= budget:   # the query is copied only into the answers that carry it
                etree.SubElement(item, q + "query").text = xml_text(before + clause + after)
                budget -= size
            etree.SubElement(item, q + "count").text = str(term.count)
    return root if len(root) else None


def add_to(root: etree._Element, facets: Sequence[SruFacet], catalog: Catalog, result_set: ResultSet,
           query: str, *, signed_in: bool) -> None:
    """Append the `facetedResults` of `result_set` to the searchRetrieveResponse `root`."""
    if not facets:
        return
    found = resultfacets.facets(catalog, result_set, [facet.request for facet in facets], signed_in=signed_in)
    element = faceted_results(facets, found, query)
    if element is not None:
        root.append(element)   # the last element of a 2.0 response but searchResultAnalysis
