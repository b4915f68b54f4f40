"""Which database the web search page searches: the union catalog (the default) or the
external-data catalog (`index.external`), chosen with the `db` form parameter.

A reader may choose only a database they may see: the external database once something was
harvested into it, and not while it is restricted (`[databases] restricted`) and the reader
is not signed in. The page keeps the choice in its paging, sorting and facet links
(`SearchForm.params`).
"""

from __future__ import annotations

from index.external import ExternalHome, is_external
from index.search import Catalog, Database

__all__ = ["DatabaseRefused", "choices", "chosen", "record_database"]


class DatabaseRefused(Exception):
    """The `db` parameter names no database this reader may search; the message says why."""


def _external(catalog: Catalog) -> Database | None:
    """The external database, when anything was harvested into it."""
    if not ExternalHome(catalog.home).exists():
        return None
    return catalog.database(catalog.config.external.database)


def choices(catalog: Catalog, signed_in: bool) -> list[tuple[str, str]]:
    """(value of `db`, label) of the databases the reader may choose; empty when there is no
    choice (nothing harvested, or the external database closed to this reader)."""
    external = _external(catalog)
    if external is None or (external.restricted and not signed_in):
        return []
    return [("", f"Union catalog ({catalog.config.database})"), (external.name, f"External data ({external.name})")]


def chosen(name: str, catalog: Catalog, signed_in: bool) -> Database:
    """The database `db` = `name` names ("" or the union database's name: the union catalog)."""
    union = catalog.database(catalog.config.database)
    if not name or name.lower() == union.name.lower():
        return union
    external = catalog.config.external.database
    if name.lower() != external.lower():
        raise DatabaseRefused(f"There is no database {name!r} to search here (the union catalog, or {external}).")
    found = _external(catalog)
    if found is None:
        raise DatabaseRefused(f"The database {external} has no records yet (nothing was harvested).")
    if found.restricted and not signed_in:
        raise DatabaseRefused(f"The database {external} is open to signed-in users only.")
    return found


def record_database(isn: int, catalog: Catalog) -> Database:
    """The database record `isn` belongs to (external records have numbers from 1,000,000,001)."""
    return catalog.database(catalog.config.external.database if is_external(isn) else catalog.config.database)
