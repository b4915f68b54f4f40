"""Facets asked for by a hostile or careless client: SRU facetLimit/facetStart through the HTTP
core and Z39.50 Facet-1 as the handler reads it (both engines). Numbers that are not ASCII
digits, thousands of digits, or one facet asked for under many names get a diagnostic saying
why, not a 500 and not minutes of counting."""

from __future__ import annotations

import pytest
from lxml import etree

from index.search import Catalog
from zserver.net.http import HttpCore
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic
from zserver.z3950.facets import FACET_1, requested
from zserver.z3950.records import external_asn1

DIAG = {"d": "http://docs.oasis-open.org/ns/search-ws/diagnostic"}
SEARCH = "/unikat?version=2.0&operation=searchRetrieve&query=water&maximumRecords=0&"


@pytest.fixture(scope="module")
def core(sample_home):
    catalog = Catalog(sample_home)
    yield HttpCore(catalog)
    catalog.close()


def diagnostic(core: HttpCore, query: str) -> tuple[str, str]:
    answer = core.respond("GET", (SEARCH + query).encode())
    assert answer.status == 200, answer.body[-600:]
    root = etree.fromstring(answer.body)
    uri = root.findtext(".//d:diagnostic/d:uri", namespaces=DIAG)
    assert uri, answer.body[:800]
    return uri.rsplit("/", 1)[1], root.findtext(".//d:diagnostic/d:details", namespaces=DIAG)


@pytest.mark.parametrize("query", [
    "facetLimit=%C2%B2",                 # superscript two: isdigit(), but not for int()
    "facetLimit=5&facetStart=%D9%A5",    # Arabic-Indic five
    "facetLimit=" + "9" * 5000,          # more digits than int() reads
    "facetLimit=5:dc.creator&facetStart=" + "9" * 5000 + ":dc.creator",
])
def test_a_number_that_is_not_one_is_diagnostic_6(core, query) -> None:
    code, details = diagnostic(core, query)
    assert code == "6" and details.startswith("facet")


def test_a_facet_named_by_a_strange_number_is_no_facet(core) -> None:
    assert diagnostic(core, "facetLimit=5:%C2%B2")[0] == "16"


def test_a_facet_asked_for_twice_under_other_names_is_refused(core) -> None:
    names = ",".join(f"10:{name}" for name in ("dc.creator", "DC.CREATOR", "bath.name", "author") * 50)
    code, details = diagnostic(core, f"facetLimit={names}")
    assert code == "6" and "same facet (author)" in details


def facet_list(*uses: str) -> list[dict]:
    fields = [{"attributes": [{"attributeType": 1, "attributeValue": ("complex", {"list": [("string", use)]})}]}
              for use in uses]
    return [{"information": ("externallyDefinedInfo", external_asn1(FACET_1, "FacetList", fields))}]


def test_facet_1_asking_for_one_facet_many_times_is_refused() -> None:
    assert [f.request.name for f in requested(facet_list("author", "subject"))] == ["author", "subject"]
    with pytest.raises(Z3950Diagnostic) as refused:
        requested(facet_list(*["author", "dc.creator"] * 1500))
    assert refused.value.code == Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_COMBINATION
    assert "author more than once" in str(refused.value.addinfo)


def test_narrowing_queries_stop_at_the_answers_budget(core, monkeypatch) -> None:
    """A long query times many facet values must not make an answer of hundreds of MB: past the
    budget a value comes without its (optional) narrowing query, still with term and count."""
    from zserver.sru import facets

    monkeypatch.setattr(facets, "QUERY_CHARACTERS", 300)
    answer = core.respond("GET", (SEARCH + "facetLimit=50").encode())
    root = etree.fromstring(answer.body)
    ns = {"f": facets.FACET_NS}
    terms = root.findall(".//f:term", ns)
    queries = [term.findtext("f:query", namespaces=ns) for term in terms]
    given = [query for query in queries if query is not None]
    assert len(terms) > 10 and 0 < len(given) < len(terms)
    assert sum(map(len, given)) <= 300
    assert all(term.findtext("f:actualTerm", namespaces=ns) and term.findtext("f:count", namespaces=ns)
               for term in terms)
