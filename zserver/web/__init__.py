"""The web search page for people: HTML pages made from catalog searches, and their CSS.

This package owns the human side of the HTTP port (`/`, `/record/ISN`, `/static/...`). It
must not know Twisted: `zserver.net.http` turns requests into calls of these functions.
"""

from pathlib import Path

from zserver.web.page import (
    PAGE_SIZE,
    SORTS,
    SearchForm,
    SearchProblem,
    build_query,
    error_page,
    record_page,
    search_page,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""The directory of the static files served under `/static/`."""

__all__ = [
    "PAGE_SIZE",
    "SORTS",
    "STATIC_DIR",
    "SearchForm",
    "SearchProblem",
    "build_query",
    "error_page",
    "record_page",
    "search_page",
]
