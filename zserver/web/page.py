"""The web search page for people: search form, brief list, full record, as escaped HTML.

This module owns what a reader sees at `/` and `/record/ISN`: one search box (plain words
search everything; a query with `=` is CCL, e.g. `ti=water and au=smith`; `cql:` starts a CQL
query), sorting, limits (language, years, material type, library), paging, and the full
record with its ISBD display, MARC fields and the holdings of every library. Every page is
a plain GET form or link, so each result page has a URL one can share, and nothing needs
JavaScript. HTML is built with lxml, which escapes all text and attribute values.

Functions take the request's parameters (name -> list of values, already decoded), the
catalog and whether the reader is signed in, and return UTF-8 HTML bytes. A reader not signed
in sees no holdings of restricted libraries, nor these libraries in the library limit
(`index.search` says what restricted means); a restricted union database the HTTP core
refuses before these pages are made. It must not know Twisted or HTTP servers; it knows the
query languages only through their parsers and mappers (`querylang`, `sru.cqlmap`,
`z3950.attributes`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pymarc
from lxml import etree
from lxml.html import builder as E
from lxml.html import tostring

from index.engines.base import SortField, SortKey
from index.errors import CatalogError
from index.external.catalog import is_external
from index.query import And, Node, Relation, Structure, Term, Truncation
from index.records.formats import isbd_areas, parse
from index.records.model import Holding
from index.search import Catalog, ResultSet, library_key
from index.searchkeys.normalize import normalize
from zserver.querylang.ccl import DEFAULT_QUALIFIERS, CclProfile, parse_ccl
from zserver.querylang.cql import parse_cql
from zserver.querylang.errors import QueryError
from zserver.sru.cqlmap import cql_to_query
from zserver.sru.diagnostics import SruDiagnostic
from zserver.web import databases as web_databases
from zserver.web import facets as web_facets
from zserver.web.cluster import cluster_section
from zserver.web.editions import editions_section
from zserver.web.ill import order_button
from zserver.z3950.attributes import rpn_to_query
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 1000
STYLESHEET = "/static/unikat.css"

SORTS: dict[str, tuple[str, list[SortKey]]] = {
    "relevance": ("Relevance", [SortKey(SortField.RELEVANCE)]),
    "title": ("Title", [SortKey(SortField.TITLE)]),
    "author": ("Author", [SortKey(SortField.AUTHOR)]),
    "year": ("Newest first", [SortKey(SortField.YEAR, descending=True)]),
    "year-asc": ("Oldest first", [SortKey(SortField.YEAR)]),
}
"""Sort choice -> (label, the sort keys of Catalog.search)."""

LANGUAGES = {
    "eng": "English", "ger": "German", "fre": "French", "spa": "Spanish", "ita": "Italian",
    "por": "Portuguese", "rus": "Russian", "pol": "Polish", "cze": "Czech", "dut": "Dutch",
    "swe": "Swedish", "dan": "Danish", "nor": "Norwegian", "fin": "Finnish", "hun": "Hungarian",
    "gre": "Greek, Modern", "grc": "Greek, Ancient", "lat": "Latin", "heb": "Hebrew",
    "ara": "Arabic", "per": "Persian", "tur": "Turkish", "chi": "Chinese", "jpn": "Japanese",
    "kor": "Korean", "hin": "Hindi", "urd": "Urdu", "ben": "Bengali", "vie": "Vietnamese",
    "tha": "Thai", "ind": "Indonesian", "ukr": "Ukrainian", "bul": "Bulgarian",
    "rum": "Romanian", "scc": "Serbian", "scr": "Croatian", "slv": "Slovenian",
    "arm": "Armenian", "geo": "Georgian", "alb": "Albanian", "yid": "Yiddish", "mul": "Multiple",
    "cat": "Catalan", "pan": "Panjabi", "tel": "Telugu", "guj": "Gujarati", "srp": "Serbian",
    "hrv": "Croatian", "gle": "Irish", "bel": "Belarusian", "kur": "Kurdish", "lit": "Lithuanian",
    "lav": "Latvian", "est": "Estonian", "mac": "Macedonian", "mar": "Marathi", "tam": "Tamil",
    "mal": "Malayalam", "kan": "Kannada", "nep": "Nepali", "san": "Sanskrit", "tib": "Tibetan",
    "may": "Malay", "tgl": "Tagalog", "swa": "Swahili", "afr": "Afrikaans", "ice": "Icelandic",
    "wel": "Welsh", "baq": "Basque", "glg": "Galician", "slo": "Slovak", "aze": "Azerbaijani",
    "und": "Undetermined", "zxx": "No linguistic content",
}
"""MARC language codes -> English names, for the language limit (others show the code)."""

_YEAR = re.compile(r"\d{1,4}")
_LANGUAGE = re.compile(r"[a-z]{3}")


class SearchProblem(Exception):
    """The search cannot be run; the message is shown to the reader."""


@dataclass(frozen=True)
class SearchForm:
    """The search page's parameters, read and checked."""

    q: str = ""
    sort: str = "relevance"
    lang: str = ""
    year_from: str = ""
    year_to: str = ""
    type: str = ""
    lib: str = ""
    start: int = 1
    facet: tuple[str, ...] = ()    # chosen author/subject/series values (`web.facets`)
    db: str = ""                   # the database searched, "" the union catalog (`web.databases`)

    @classmethod
    def read(cls, params: Mapping[str, Sequence[str]]) -> SearchForm:
        def one(name: str) -> str:
            values = params.get(name) or [""]
            return _clean(values[0]).strip()[:MAX_QUERY_LENGTH]

        sort = one("sort") if one("sort") in SORTS else "relevance"
        start_text = one("start")
        start = int(start_text) if start_text.isascii() and start_text.isdigit() and len(start_text) < 9 else 1
        facets = tuple(_clean(value).strip()[:MAX_QUERY_LENGTH] for value in params.get("facet") or () if value)
        return cls(one("q"), sort, one("lang").lower(), one("from"), one("to"), one("type").lower(),
                   one("lib"), max(start, 1), facets, one("db"))

    def limits_set(self) -> bool:
        return bool(self.lang or self.year_from or self.year_to or self.type or self.lib or self.facet)

    def params(self, **changes: object) -> list[tuple[str, str]]:
        """The URL parameters of this search (with `changes`), empty ones left out."""
        facets = changes.pop("facet", self.facet)   # repeated: not one value
        values = {"q": self.q, "sort": self.sort if self.sort != "relevance" else "",
                  "lang": self.lang, "from": self.year_from, "to": self.year_to,
                  "type": self.type, "lib": self.lib,
                  "start": str(self.start) if self.start > 1 else "", "db": self.db}
        for name, value in changes.items():
            values[name] = "" if value is None else str(value)
        if values.get("sort") == "relevance":
            values["sort"] = ""
        if values.get("start") == "1":
            values["start"] = ""
        return [(name, value) for name, value in values.items() if value] + [("facet", f) for f in facets]

    def url(self, path: str = "/", **changes: object) -> str:
        query = urlencode(self.params(**changes))
        return path + ("?" + query if query else "")


# --- queries -------------------------------------------------------------------------------

def build_query(text: str, ccl_qualifiers: Mapping[str, str] | None = None) -> Node:
    """The query tree for what a reader typed. Raises SearchProblem with a readable message."""
    text = text.strip()
    try:
        if text.lower().startswith("cql:"):
            return cql_to_query(parse_cql(text[4:]))
        if "=" in text:
            profile = CclProfile({**DEFAULT_QUALIFIERS, **(ccl_qualifiers or {})})
            return rpn_to_query(parse_ccl(text, profile))
        return _words_query(text)
    except QueryError as error:
        where = f" (at character {error.position + 1})" if error.position is not None else ""
        raise SearchProblem(f"Cannot read the query: {error.message}{where}.") from None
    except SruDiagnostic as diagnostic:
        raise SearchProblem(f"{diagnostic.message or 'Cannot run the query'}: {diagnostic.details}.") from None
    except Z3950Diagnostic as diagnostic:
        try:
            name = Bib1Diagnostic(diagnostic.code).name.replace("_", " ").capitalize()
        except ValueError:
            name = f"Bib-1 diagnostic {diagnostic.code}"
        raise SearchProblem(f"{name}: {diagnostic.addinfo}.") from None
    except ValueError as error:     # the [ccl] table of unikat.toml
        raise SearchProblem(f"The CCL qualifier table is wrong: {error}.") from None


def _words_query(text: str) -> Node:
    """Plain words: each word (or "quoted phrase") anywhere; a final `*` truncates."""
    parts = re.findall(r'"([^"]*)"|(\S+)', text)
    nodes: list[Node] = []
    for phrase, word in parts:
        if phrase.strip():
            nodes.append(Term("any", phrase.strip(), structure=Structure.PHRASE))
        elif word:
            truncation = Truncation.RIGHT if word.endswith("*") and word.strip("*") else Truncation.NONE
            word = word.rstrip("*") if truncation is Truncation.RIGHT else word
            if normalize(word).strip():
                nodes.append(Term("any", word, structure=Structure.WORD, truncation=truncation))
    if not nodes:
        raise SearchProblem("Please type a word to search for.")
    return _all_of(nodes)


def _all_of(nodes: Sequence[Node]) -> Node:
    result = nodes[0]
    for node in nodes[1:]:
        result = And(result, node)
    return result


def _limits(form: SearchForm) -> list[Node]:
    limits: list[Node] = []
    if form.lang:
        if not _LANGUAGE.fullmatch(form.lang):
            raise SearchProblem("A language is a three-letter MARC code such as eng.")
        limits.append(Term("language", form.lang, structure=Structure.KEY))
    for text, label in ((form.year_from, "from"), (form.year_to, "to")):
        if text and not _YEAR.fullmatch(text):
            raise SearchProblem(f"The year {label} must be a number such as 1990.")
    if form.year_from and form.year_to:
        # One range term: a title has several years (008, 260/264), and one of them must lie
        # in the range; two terms >= and <= could each be met by a different year.
        limits.append(Term("year", f"{form.year_from}-{form.year_to}", structure=Structure.YEAR))
    elif form.year_from:
        limits.append(Term("year", form.year_from, relation=Relation.GE, structure=Structure.YEAR))
    elif form.year_to:
        limits.append(Term("year", form.year_to, relation=Relation.LE, structure=Structure.YEAR))
    if form.type:
        limits.append(Term("material_type", form.type, structure=Structure.KEY))
    if form.lib:
        limits.append(Term("library", form.lib, structure=Structure.KEY))
    return limits


def form_query(form: SearchForm, ccl_qualifiers: Mapping[str, str] | None = None) -> Node:
    """The query tree of a search form: what was typed, and its limits (the brief JSON's too)."""
    return _all_of([build_query(form.q, ccl_qualifiers), *_limits(form)])


# --- pages ---------------------------------------------------------------------------------

def search_page(params: Mapping[str, Sequence[str]], catalog: Catalog, *, signed_in: bool = False) -> bytes:
    """The home page with the search form, and the brief list when `q` is given."""
    form = SearchForm.read(params)
    config = catalog.config
    found = web_facets.ResultFacets()   # the result's facets: the limit menus show their counts
    body: list[etree._Element] = []
    title = config.name
    if form.q:
        title = f"{form.q} – {config.name}"
        try:
            body.extend(_results(form, catalog, signed_in, found))
        except SearchProblem as problem:
            body.append(E.P(E.CLASS("problem"), str(problem)))
    else:
        body.append(_help())
    body.insert(0, _search_form(form, catalog, signed_in, found))
    return _page(title, config.name, body, _sru_link(catalog, form))


def record_page(isn: int, params: Mapping[str, Sequence[str]], catalog: Catalog, *,
                signed_in: bool = False) -> bytes:
    """The full record of `isn`: ISBD, holdings of every library the reader may see, MARC fields.

    Raises index.errors.RecordNotFound when there is no such title.
    """
    record = catalog.record(isn, signed_in=signed_in)
    form = SearchForm.read(params)
    marc = parse(record.marc)
    title = _title(marc) or f"Record {isn}"
    database = web_databases.record_database(isn, catalog)
    if database.restricted and not signed_in:   # the union catalog's the HTTP core refuses
        return _page(f"{title} – {catalog.config.name}", catalog.config.name,
                     [E.P(E.CLASS("problem"), f"The database {database.name} is open to signed-in users only.")], None)
    database = database.name
    article = E.E.article(
        E.CLASS("record"),
        E.H1(title, E.ABBR(E.CLASS("unapi-id"), title=str(isn))),   # unAPI: the title's id
        E.E.section(E.CLASS("isbd"), E.H2("Description"),
                    *[E.P(_clean(area)) for area in _isbd_lines(marc)], *_online(marc)),
        *editions_section(catalog, isn),   # print / online editions linked (index.editions)
        *cluster_section(catalog, record.isn, signed_in=signed_in),   # members and why (zserver/web/cluster.py)
        _holdings_section(record.holdings, catalog),
        # interlibrary loan (zserver.web.ill) orders union titles; an external record is none
        *([] if is_external(isn) else [order_button(isn)]),
        E.E.section(E.CLASS("marc"), E.H2("MARC record"), _marc_table(marc)),
    )
    links = [E.A("New search", href="/")]
    if form.q:
        links.insert(0, E.A("Back to the results", href=form.url()))
    links.append(E.A("MARCXML (SRU)", href=f"/{quote(database)}?" + urlencode(
        {"query": f"rec.id={isn}", "recordSchema": "marcxml"})))
    links.append(E.A("With holdings (SRU)", href=f"/{quote(database)}?" + urlencode(
        {"query": f"rec.id={isn}", "recordSchema": "opac"})))
    links.append(E.A("MARC-in-JSON", href=f"/unapi?id={isn}&format=json"))
    nav = E.E.nav(E.CLASS("links"), *_joined(links))
    return _page(f"{title} – {catalog.config.name}", catalog.config.name, [nav, article],
                 _sru_link(catalog, None))


def error_page(status: int, message: str, catalog_name: str = "unikat") -> bytes:
    """A small page saying what went wrong (`status` is the HTTP status code)."""
    heading = {400: "Bad request", 401: "Sign-in required", 404: "Not found", 405: "Method not allowed",
               413: "Request too large", 414: "Address too long"}.get(status, "Error")
    return _page(f"{heading} – {catalog_name}", catalog_name,
                 [E.H1(heading), E.P(_clean(message)), E.P(E.A("Go to the search page", href="/"))], None)


def _page(title: str, catalog_name: str, body: list[etree._Element],
          sru: etree._Element | None) -> bytes:
    document = E.HTML(
        E.HEAD(
            E.META(charset="utf-8"),
            E.META(name="viewport", content="width=device-width, initial-scale=1"),
            E.TITLE(_clean(title)),
            E.LINK(rel="stylesheet", href=STYLESHEET),
            E.LINK(rel="search", type="application/opensearchdescription+xml", href="/opensearch.xml",
                   title=_clean(catalog_name)),   # zserver.web.opensearch
            E.LINK(rel="unapi-server", type="application/xml", title="unAPI", href="/unapi"),   # zserver.web.unapi
        ),
        E.BODY(
            E.E.header(E.A(E.CLASS("brand"), _clean(catalog_name), href="/")),
            E.E.main(*body),
            E.E.footer(*([sru] if sru is not None else [])),
        ),
        lang="en",
    )
    return tostring(document, doctype="<!DOCTYPE html>", encoding="utf-8", method="html")


def _sru_link(catalog: Catalog, form: SearchForm | None) -> etree._Element:
    database = catalog.config.database
    if form is not None and form.db.lower() == catalog.config.external.database.lower():
        database = catalog.config.external.database
    parts: list[etree._Element | str] = ["SRU: ", E.A("explain", href=f"/{quote(database)}")]
    if form is not None and form.q.lower().startswith("cql:"):
        url = f"/{quote(database)}?" + urlencode({"query": form.q[4:].strip()})
        parts += [" · ", E.A("this search", href=url)]
    parts += [" · Z39.50 and SRU on this port; the database is ", E.CODE(database)]
    return E.P(*parts)


def _search_form(form: SearchForm, catalog: Catalog, signed_in: bool,
                 found: web_facets.ResultFacets | None = None) -> etree._Element:
    languages = _options(catalog, "language", lambda code: LANGUAGES.get(code, code), found)
    types = _options(catalog, "material_type", lambda code: code.capitalize(), found)
    library_names = {library_key(code): name for code, name in catalog.library_names.items()}
    hidden = {library_key(code) for code in catalog.hidden_libraries(signed_in)}
    libraries = [(term, label) for term, label in
                 _options(catalog, "library", lambda code: library_names.get(code, code.upper()), found)
                 if term not in hidden]   # a restricted library's holdings count is not for everyone
    limits = E.E.details(
        E.CLASS("limits"),
        E.E.summary("Sort and limits"),
        E.DIV(
            E.CLASS("fields"),
            _select("sort", "Sort by", [(key, label) for key, (label, _) in SORTS.items()], form.sort, None),
            _select("lang", "Language", languages, form.lang, "Any language"),
            _select("type", "Material", types, form.type, "Any material"),
            _select("lib", "Library", libraries, form.lib, "Any library"),
            E.LABEL("Years ", E.INPUT(name="from", value=form.year_from, size="4", maxlength="4",
                                      inputmode="numeric", placeholder="from", pattern="[0-9]{1,4}"),
                    " – ", E.INPUT(name="to", value=form.year_to, size="4", maxlength="4",
                                   inputmode="numeric", placeholder="to", pattern="[0-9]{1,4}",
                                   **{"aria-label": "Years to"})),
        ),
    )
    if form.limits_set() or form.sort != "relevance":
        limits.set("open", "open")
    return E.FORM(
        E.CLASS("search"), E.LABEL("Search the catalog", E.CLASS("hidden"), **{"for": "q"}),
        E.DIV(E.CLASS("box"),
              E.INPUT(id="q", name="q", type="search", value=form.q, maxlength=str(MAX_QUERY_LENGTH),
                      placeholder="Words, or ti=… and au=…, or cql:…", autofocus="autofocus"),
              *([_select("db", "in", choices, form.db, None)] if (choices := web_databases.choices(catalog, signed_in))
                else []),
              E.BUTTON("Search", type="submit")),
        limits, action="/", method="get", role="search",
    )


def _options(catalog: Catalog, index: str, label, found: web_facets.ResultFacets | None = None
             ) -> list[tuple[str, str]]:
    counted = found.options(index, label) if found is not None else None
    if counted is not None:   # a search: the result's counts
        return counted
    try:
        entries, _ = catalog.scan(index, "", count=400)
    except CatalogError:
        return []
    entries = sorted(entries, key=lambda entry: (-entry.count, entry.term))
    return [(entry.term, f"{label(entry.term)} ({entry.count})") for entry in entries]


def _select(name: str, label: str, options: list[tuple[str, str]], chosen: str,
            any_label: str | None) -> etree._Element:
    select = E.SELECT(name=name, id=f"limit-{name}")
    values = [("", any_label)] if any_label is not None else []
    values += options
    if chosen and all(value != chosen for value, _ in values):
        values.append((chosen, chosen))
    for value, text in values:
        option = E.OPTION(_clean(text or ""), value=value)
        if value == chosen:
            option.set("selected", "selected")
        select.append(option)
    return E.LABEL(label + " ", select)


def _help() -> etree._Element:
    return E.DIV(
        E.CLASS("help"),
        E.P("Type words to find titles with all of them anywhere in the record; ",
            E.CODE("hist*"), " finds words that begin with hist, and ", E.CODE('"quoted words"'),
            " a phrase."),
        E.P("With an equals sign the query is CCL: ", E.CODE("ti=water and au=smith"), ", ",
            E.CODE("su=history not year=1900"), ". Qualifiers: ti title, au author, su subject, "
            "isbn, issn, year, pub publisher, lang language."),
        E.P("Start with ", E.CODE("cql:"), " for CQL: ", E.CODE('cql:dc.title any "river water"'), "."),
    )


def run_search(form: SearchForm, node: Node, catalog: Catalog, signed_in: bool) -> tuple[ResultSet, int]:
    """The titles `node` finds in the form's database in the form's order, and the position of
    the first one to show (the form's, or 1 past the end); a refusal is a SearchProblem."""
    try:
        database = web_databases.chosen(form.db, catalog, signed_in)
        if database.restricted and not signed_in:
            raise SearchProblem("This catalog is open to signed-in users only.")
        result_set = catalog.search(node, database, sort=SORTS[form.sort][1], signed_in=signed_in)
    except CatalogError as error:
        raise SearchProblem(f"Cannot run this search: {error.detail or type(error).__name__}.") from None
    except web_databases.DatabaseRefused as refused:
        raise SearchProblem(str(refused)) from None
    return result_set, form.start if form.start <= max(result_set.size, 1) else 1


def _results(form: SearchForm, catalog: Catalog, signed_in: bool,
             found: web_facets.ResultFacets | None = None) -> list[etree._Element]:
    config = catalog.config
    if form.lib and library_key(form.lib) in {library_key(code) for code in catalog.hidden_libraries(signed_in)}:
        raise SearchProblem("This library's holdings are open to signed-in users only.")
    node = build_query(form.q, config.ccl)
    try:
        node = _all_of([node, *_limits(form), *web_facets.limits(form.facet)])
    except ValueError as error:
        raise SearchProblem(f"Cannot narrow the search: {error}.") from None
    result_set, start = run_search(form, node, catalog, signed_in)
    size = result_set.size
    briefs = result_set.briefs(start - 1, PAGE_SIZE)
    heading = E.P(E.CLASS("hits"), E.STRONG(f"{size:,}"), " title found" if size == 1 else " titles found")
    if size == 0:
        return [heading, E.P("Try other words, fewer limits, or a truncated word such as ", E.CODE("hist*"), ".")]
    sorts = [E.A(label, href=form.url(sort=key, start=None)) if key != form.sort else E.STRONG(label)
             for key, (label, _) in SORTS.items()]
    sort_bar = E.P(E.CLASS("sortbar"), "Sort: ", *_joined(sorts, " · "))
    items = E.OL(E.CLASS("briefs"), start=str(start))
    for brief in briefs:
        meta = [part for part in (brief.material_type.capitalize() if brief.material_type else "",
                                  LANGUAGES.get(brief.language, brief.language),
                                  str(brief.year) if brief.year else "") if part]
        item = E.LI(E.A(E.CLASS("title"), _clean(brief.title or "[no title]"),
                        href=form.url(f"/record/{brief.isn}")),
                    E.ABBR(E.CLASS("unapi-id"), title=str(brief.isn)))   # unAPI: the title's id
        if brief.author:
            item.append(E.DIV(E.CLASS("author"), _clean(brief.author)))
        if brief.imprint:
            item.append(E.DIV(E.CLASS("imprint"), _clean(brief.imprint)))
        item.append(E.DIV(E.CLASS("meta"), _clean(" · ".join(meta))))
        items.append(item)
    shown = f"{start}–{start + len(briefs) - 1} of {size:,}"
    heading.append(E.SPAN(E.CLASS("shown"), f" (showing {shown})"))
    if found is None:
        return [heading, sort_bar, items, _pager(form, start, size)]
    found.count(catalog, result_set, signed_in)   # over the whole result, not this page
    aside = web_facets.sidebar(form, found, web_facets.value_label(catalog, LANGUAGES))
    return [heading, sort_bar, aside, items, _pager(form, start, size)]


def _pager(form: SearchForm, start: int, size: int) -> etree._Element:
    pages = math.ceil(size / PAGE_SIZE)
    page = (start - 1) // PAGE_SIZE + 1
    parts: list[etree._Element | str] = []
    if start > 1:
        parts.append(E.A("« Previous", rel="prev", href=form.url(start=max(1, start - PAGE_SIZE))))
    parts.append(E.SPAN(f"Page {page} of {pages}"))
    if start + PAGE_SIZE <= size:
        parts.append(E.A("Next »", rel="next", href=form.url(start=start + PAGE_SIZE)))
    return E.E.nav(E.CLASS("pages"), *_joined(parts, " "), **{"aria-label": "Result pages"})


def _joined(parts: Sequence[etree._Element | str], separator: str = " · ") -> list[etree._Element | str]:
    result: list[etree._Element | str] = []
    for i, part in enumerate(parts):
        if i:
            result.append(separator)
        result.append(part)
    return result


# --- the full record -----------------------------------------------------------------------

def _title(record: pymarc.Record) -> str:
    field = record.get("245")
    if field is None:
        return ""
    parts = [sf.value.strip() for sf in field.subfields if sf.code in "abnp" and sf.value.strip()]
    return _clean(" ".join(parts).rstrip(" /:;,.="))


def _isbd_lines(record: pymarc.Record) -> list[str]:
    heading = ""
    for tag in ("100", "110", "111"):
        field = record.get(tag)
        if field is not None:
            heading = " ".join(sf.value.strip() for sf in field.subfields if sf.code in "abcdq")
            break
    areas = isbd_areas(record)
    lines = [heading.rstrip(" ,")] if heading else []
    if areas:
        lines.append(" — ".join(areas))
    return lines


_HOLDINGS_COLUMNS = ("Library", "Location", "Call number", "Note", "Online", "Loan")


def _holdings_section(holdings: Sequence[Holding], catalog: Catalog) -> etree._Element:
    section = E.E.section(E.CLASS("holdings"), E.H2("Holdings"))
    if not holdings:
        section.append(E.P("No library holds this title."))
        return section
    names = catalog.library_names
    table = E.TABLE(E.THEAD(E.TR(*[E.TH(label) for label in _HOLDINGS_COLUMNS])))
    body = E.TBODY()
    for holding in sorted(holdings, key=lambda h: (h.library, h.location, h.call_number)):
        name = names.get(holding.library, holding.library)
        url_cell = E.TD()
        for url in (holding.url, *holding.other_urls) if holding.url else ():   # a rule-built one may have two
            link = _link(url, "Link")
            url_cell.append(link if link is not None else E.SPAN(_clean(url)))
        copies = f"{holding.copies} copies" if holding.copies > 1 else ""
        loan = "Lendable" if holding.lendable else "Reference only"
        cells = [E.TD(_clean(name), E.SPAN(E.CLASS("code"), f" ({_clean(holding.library)})")),
                 E.TD(_clean(holding.location)), E.TD(_clean(holding.call_number)),
                 E.TD(_clean(" ".join(p for p in (holding.note, copies) if p))), url_cell, E.TD(loan)]
        for cell, label in zip(cells, _HOLDINGS_COLUMNS, strict=True):
            cell.set("data-label", label)      # a phone shows each row as a card with labels
        body.append(E.TR(*cells, **({"class": "rule-built"} if holding.rule else {})))
    table.append(body)
    section.append(E.DIV(E.CLASS("scroll"), table))
    return section


def _link(url: str, text: str | None = None) -> etree._Element | None:
    """A link to `url` when it is a web address (never javascript: or data: URLs)."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        return None
    return E.A(_clean(text or url), href=_clean(url), rel="noopener nofollow")


def _online(record: pymarc.Record) -> list[etree._Element]:
    """The 856 $u web addresses as one paragraph of links (link text: $y or $3, else the URL)."""
    links = []
    for field in record.get_fields("856"):
        label = " ".join(field.get_subfields("y", "3")) or None
        links += [link for url in field.get_subfields("u") if (link := _link(url, label)) is not None]
    return [E.P(E.CLASS("online"), "Online: ", *_joined(links))] if links else []


def _marc_table(record: pymarc.Record) -> etree._Element:
    # Leader and control fields are positional: their spaces are data (class fixed keeps them).
    table = E.TABLE(E.CLASS("marc"))
    table.append(E.TR(E.TH("LDR"), E.TD(), E.TD(E.CODE(E.CLASS("fixed"), _clean(str(record.leader))))))
    for field in record.fields:
        if field.is_control_field():
            table.append(E.TR(E.TH(field.tag), E.TD(), E.TD(E.CODE(E.CLASS("fixed"), _clean(field.data or "")))))
            continue
        cell = E.TD()
        for subfield in field.subfields:
            cell.append(E.B(E.CLASS("sf"), f"${_clean(subfield.code)}"))
            link = _link(subfield.value) if field.tag == "856" and subfield.code == "u" else None
            if link is not None:
                cell.append(E.SPAN(" ", link, " "))
            else:
                cell.append(E.SPAN(" " + _clean(subfield.value) + " "))
        indicators = f"{field.indicator1 or ' '}{field.indicator2 or ' '}".replace(" ", "_")
        table.append(E.TR(E.TH(field.tag), E.TD(E.CODE(indicators)), cell))
    return E.DIV(E.CLASS("scroll"), table)


def _clean(text: str) -> str:
    """`text` without the characters HTML/XML cannot carry (MARC data sometimes has them)."""
    return "".join(
        c if (c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"
              or c >= "\U00010000") else " "
        for c in text)
