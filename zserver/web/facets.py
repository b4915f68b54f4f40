"""The web page's facets: the result's own counts per library, language, material, decade, year,
author, subject and series, as links that narrow the result.

A result page counts its whole result (`index.resultfacets`), not the page's twenty titles.
The limit menus of the search form show the same counts (`ResultFacets.options`); without a
search they show the catalog's. A value is a link to the same search narrowed to it: language,
material and library set the form's own limits (`lang`, `type`, `lib`), a year or a decade its
years (`from`, `to`), and an author, subject or series a `facet=author:KEY` parameter (the
index's whole key, so the narrowed search finds exactly the titles counted). A chosen value
shows with a link that takes it away again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree
from lxml.html import builder as E

from index import resultfacets
from index.engines.facets import FACETS, Facet, FacetRequest
from index.query import Node
from index.search import Catalog, ResultSet, library_key

SHOWN = 6            # values listed per facet
MENU_VALUES = 400    # values a limit menu offers (as many as its catalog-wide scan)
PARAMETER_FACETS = ("author", "subject", "series")   # narrowed with `facet=NAME:KEY`
MAX_CHOSEN = 10
SIDEBAR = (("library", "Library"), ("language", "Language"), ("material_type", "Material"),
           ("decade", "Decade"), ("year", "Year"), ("author", "Author"), ("subject", "Subject"),
           ("series", "Series"))
MENUS = {"language": "language", "material_type": "material_type", "library": "library"}   # index -> facet


def chosen(values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The (facet, key) pairs of `facet=NAME:KEY` parameters; raises ValueError saying why one
    cannot be used."""
    pairs = []
    for value in values[:MAX_CHOSEN + 1]:
        name, colon, key = value.partition(":")
        if not colon or name not in PARAMETER_FACETS or not key.strip():
            raise ValueError(f"{value!r} is not a facet choice (author:…, subject:… or series:…)")
        pairs.append((name, key.strip()))
    if len(pairs) > MAX_CHOSEN:
        raise ValueError(f"at most {MAX_CHOSEN} facet choices")
    return tuple(pairs)


def limits(values: Sequence[str]) -> list[Node]:
    """The query terms of the chosen `facet=` values."""
    return [resultfacets.facet_term(name, key) for name, key in chosen(values)]


@dataclass
class ResultFacets:
    """The facets of the page's result, once counted (empty without a search)."""

    facets: dict[str, Facet] = field(default_factory=dict)

    def count(self, catalog: Catalog, result_set: ResultSet, signed_in: bool) -> None:
        requests = [FacetRequest(name, limit=MENU_VALUES if name in MENUS.values() else SHOWN)
                    for name, _ in SIDEBAR]
        self.facets = {facet.name: facet for facet in
                       resultfacets.facets(catalog, result_set, requests, signed_in=signed_in)}

    def options(self, index: str, label: Callable[[str], str]) -> list[tuple[str, str]] | None:
        """A limit menu's (value, label with the result's count), or None without a result."""
        facet = self.facets.get(MENUS.get(index, ""))
        if facet is None:
            return None
        key = library_key if index == "library" else str.lower
        return [(key(term.term), f"{label(key(term.term))} ({term.count:,})") for term in facet.terms]


def value_label(catalog: Catalog, languages: Mapping[str, str]) -> Callable[[str, str], str]:
    """How a value of a facet reads: a language's or a library's name, a heading as catalogued,
    a material type capitalized."""
    libraries = dict(catalog.library_names)

    def label(name: str, value: str) -> str:
        if name == "language":
            return languages.get(value, value)
        if name == "library":
            return libraries.get(value, value)
        if name in PARAMETER_FACETS:   # a name, subject or series key: its heading as catalogued
            return catalog.heading(FACETS[name], value) or value
        return value.capitalize() if name == "material_type" else value

    return label


def sidebar(form, found: ResultFacets, label: Callable[[str, str], str]) -> etree._Element:
    """The facets as lists of links (`form` is the page's SearchForm; `label(facet, value)`
    is how a value reads)."""
    aside = E.E.aside(E.CLASS("facets"), E.H2("Narrow the result"), **{"aria-label": "Facets"})
    picked = chosen(form.facet)
    if picked:
        current = E.UL(E.CLASS("chosen"))
        for name, key in picked:
            rest = [value for value in form.facet if value != f"{name}:{key}"]
            current.append(E.LI(E.A("× ", label(name, key), href=form.url(facet=rest, start=None),
                                    title="Remove this choice")))
        aside.append(current)
    for name, heading in SIDEBAR:
        facet = found.facets.get(name)
        if facet is None or not facet.terms:
            continue
        values = E.UL()
        for term in facet.terms[:SHOWN]:
            values.append(E.LI(E.A(label(name, term.term), href=_narrowed(form, name, term.term)),
                               " ", E.SPAN(E.CLASS("count"), f"{term.count:,}")))
        aside.append(E.E.section(E.CLASS(f"facet facet-{name}"), E.H3(heading), values))
    return aside


def _narrowed(form, name: str, value: str) -> str:
    if name == "language":
        return form.url(lang=value, start=None)
    if name == "material_type":
        return form.url(type=value, start=None)
    if name == "library":
        return form.url(lib=library_key(value), start=None)
    if name == "year":
        return form.url(**{"from": value, "to": value, "start": None})
    if name == "decade":
        low, _, high = value.partition("-")
        return form.url(**{"from": low, "to": high, "start": None})
    return form.url(facet=[*form.facet, f"{name}:{value}"], start=None)
