"""The web page's search as brief JSON: `/?q=...&format=json` (README "Brief JSON").

Same parameters and the same search as the HTML page (`zserver.web.page`: words, CCL or
`cql:`, sort, limits, `start`, the database `db` as `zserver.web.databases` chooses it),
answered with one JSON object:

    {"query": "water", "numberOfRecords": 12, "start": 1, "sort": "relevance",
     "records": [{"isn": 5, "title": "...", "author": "...", "year": 1990, "imprint": "...",
                  "materialType": "book", "language": "eng",
                  "link": "/record/5", "unapi": "/unapi?id=5"}],
     "next": "/?q=water&format=json&start=21"}

`next` is null on the last page; `year` is null when unknown. A search that cannot run is
HTTP 400 with `{"error": "why"}` (the message the HTML page would show); what the server refuses
before the search (a login, a restricted catalog, the client's search time, an index being
rebuilt) comes as `{"error": "why"}` too, with its own status (`error_answer`). It must not know
Twisted or HTTP servers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from index.search import Catalog, library_key
from zserver.web.answer import WebAnswer
from zserver.web.page import PAGE_SIZE, SearchForm, SearchProblem, form_query, run_search

MEDIA_TYPE = "application/json; charset=utf-8"


def brief_json(params: Mapping[str, Sequence[str]], catalog: Catalog, *, signed_in: bool = False) -> WebAnswer:
    """The brief result list of the search in `params` as JSON."""
    form = SearchForm.read(params)
    try:
        body = _results(form, catalog, signed_in)
    except SearchProblem as problem:
        return error_answer(400, str(problem))
    return WebAnswer(200, MEDIA_TYPE, _dump(body))


def error_answer(status: int, message: str) -> WebAnswer:
    """A refusal as the brief JSON's client reads it."""
    return WebAnswer(status, MEDIA_TYPE, _dump({"error": message}))


def _results(form: SearchForm, catalog: Catalog, signed_in: bool) -> dict[str, object]:
    if not form.q:
        raise SearchProblem("Please type a word to search for (parameter q).")
    hidden = {library_key(code) for code in catalog.hidden_libraries(signed_in)}
    if form.lib and library_key(form.lib) in hidden:
        raise SearchProblem("This library's holdings are open to signed-in users only.")
    node = form_query(form, catalog.config.ccl)
    result_set, start = run_search(form, node, catalog, signed_in)
    size = result_set.size
    records = [{"isn": brief.isn, "title": brief.title, "author": brief.author, "year": brief.year,
                "imprint": brief.imprint, "materialType": brief.material_type, "language": brief.language,
                "link": f"/record/{brief.isn}", "unapi": f"/unapi?id={brief.isn}"}
               for brief in result_set.briefs(start - 1, PAGE_SIZE)]
    following = start + PAGE_SIZE
    return {"query": form.q, "numberOfRecords": size, "start": start, "sort": form.sort, "records": records,
            "next": form.url(start=following, format="json") if following <= size else None}


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")
