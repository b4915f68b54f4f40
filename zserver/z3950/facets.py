"""Z39.50 facets as YAZ sends and reads them: Facet-1 in the additionalSearchInfo of a search.

A client (yaz-client's `facets` command, ZOOM's `facets` option, Pazpar2) puts a FacetList
(UserInfoFormat-facet-1, OID 1.2.840.10003.10.1000.81.5; ASN.1 in z3950.asn) into the
SearchRequest's additionalSearchInfo as an externallyDefinedInfo EXTERNAL. Each FacetField's
attributes say what it wants, as YAZ's `facet.c` reads them:

    1  use: the field, a string (`author`, `dc.creator`, `decade`) or a Bib-1 number (1003)
    2  sort order: 0 most titles first (the default), 1 alphanumeric
    3  limit: how many values (default 10)
    4  start: the first value given, from 1

The SearchResponse carries the same FacetList back in its additionalSearchInfo, each field
with its use attribute as the client gave it and its values (`general` terms, UTF-8) with their
counts over the whole result. A field we cannot count fails the search with a Bib-1 diagnostic
(114 for a use that is no facet, 113 for another attribute type, 123 for a bad value), as an
unanswerable search term would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from index import resultfacets
from index.engines.facets import DEFAULT_LIMIT, FACETS, MAX_LIMIT, FacetRequest, FacetSort
from index.search import Catalog, ResultSet
from zserver.facetnames import facet_named
from zserver.z3950.codec import CodecError, decode_type
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic
from zserver.z3950.pdus import SearchResponse
from zserver.z3950.records import external_asn1

FACET_1 = "1.2.840.10003.10.1000.81.5"
"""UserInfoFormat facet-1 (YAZ's `yaz_oid_userinfo_facet_1`)."""


@dataclass(frozen=True)
class Z3950Facet:
    """One facet asked for: the client's use attribute (given back as it came) and what to count."""

    use: dict[str, Any]
    request: FacetRequest


def _use_name(element: dict[str, Any]) -> str:
    kind, value = element["attributeValue"]
    if kind == "numeric":
        return str(value)
    strings = [item for choice, item in value.get("list", ()) if choice == "string"]
    if not strings:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_COMBINATION, "facet use: no string")
    return strings[0]


def _number(element: dict[str, Any], what: str, low: int, high: int) -> int:
    kind, value = element["attributeValue"]
    if kind != "numeric" or not low <= value <= high:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_COMBINATION,
                              f"facet {what} must be a number from {low} to {high}")
    return value


def _field(field: dict[str, Any]) -> Z3950Facet:
    use, name, options = None, None, {}
    for element in field.get("attributes", ()):
        kind = element["attributeType"]
        if kind == 1:
            use, text = element, _use_name(element)
            name = facet_named(text)
            if name is None:
                raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE,
                                      f"{text}: no facet (facets: {', '.join(FACETS)})")
        elif kind == 2:
            options["sort"] = (FacetSort.COUNT, FacetSort.ALPHANUMERIC)[_number(element, "sort order", 0, 1)]
        elif kind == 3:
            options["limit"] = _number(element, "limit", 0, MAX_LIMIT)
        elif kind == 4:
            options["start"] = _number(element, "start", 1, 2**31 - 1)
        else:
            raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_TYPE, f"{kind} (facets take 1 to 4)")
    if use is None or name is None:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE, "a facet needs a use attribute (1=author)")
    return Z3950Facet(use, FacetRequest(name, **{"limit": DEFAULT_LIMIT, **options}))


def requested(additional_search_info: Sequence[dict[str, Any]] | None) -> tuple[Z3950Facet, ...]:
    """The facets a SearchRequest's additionalSearchInfo asks for (none: empty)."""
    for unit in additional_search_info or ():
        kind, info = unit.get("information", (None, None))
        if kind != "externallyDefinedInfo" or info.get("direct-reference") != FACET_1:
            continue
        form, data = info["encoding"]
        if form != "single-ASN1-type":
            raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_COMBINATION, "Facet-1 not as an ASN.1 value")
        try:
            fields = decode_type("FacetList", data)
        except CodecError as error:
            raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_COMBINATION, f"Facet-1: {error}") from None
        facets: dict[str, Z3950Facet] = {}
        for field in fields:
            facet = _field(field)
            if facet.request.name in facets:   # each facet once: else one search could count it thousands of times
                raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_COMBINATION,
                                      f"Facet-1 asks for {facet.request.name} more than once: ask for each facet once")
            facets[facet.request.name] = facet
        return tuple(facets.values())
    return ()


def with_facets(response: SearchResponse, facets: Sequence[Z3950Facet], catalog: Catalog, result: ResultSet, *,
                signed_in: bool) -> SearchResponse:
    """`response` with the counted facets in its additionalSearchInfo (as it was without facets)."""
    if not facets:
        return response
    found = resultfacets.facets(catalog, result, [facet.request for facet in facets], signed_in=signed_in)
    fields = [{"attributes": [facet.use],
               "terms": [{"term": ("general", term.term.encode("utf-8")), "count": term.count} for term in counted.terms]}
              for facet, counted in zip(facets, found, strict=True)]
    unit = {"category": {"categoryTypeId": FACET_1, "categoryValue": 1},
            "information": ("externallyDefinedInfo", external_asn1(FACET_1, "FacetList", fields))}
    return replace(response, additional_search_info=(*(response.additional_search_info or ()), unit))
