"""Where the catalog has URLs: 856 $u of each title's display record (PICA+ 4085/009Q and
017C/D/H arrive there) and the URL of each holding (PICA+ 7135/209R, MARC 852/856 of a
holdings record). One `LinkUse` per place, so a report can say which library and title a
broken URL concerns. Reads the store; knows no HTTP.

A title's own URLs belong to every library holding the title (a title nobody holds is
listed under `NO_LIBRARY`); a holding's URL to that holding's library.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from index.records.formats import parse
from index.store.catalog import CatalogStore

__all__ = ["NO_LIBRARY", "LinkUse", "link_uses"]

NO_LIBRARY = ""


@dataclass(frozen=True)
class LinkUse:
    """One URL at one place: the title (ISN and title proper), the library it is reported
    to, and where it sits: `856` (the title record) or `holding`."""

    url: str
    isn: int
    title: str
    library: str
    where: str


def _title_proper(record) -> str:
    field = next(iter(record.get_fields("245")), None)
    if field is None:
        return ""
    return " ".join(v for c, v in ((s.code, s.value) for s in field.subfields) if c in "abnp").strip(" /:;,.=")


def link_uses(store: CatalogStore, library: str | None = None) -> Iterator[LinkUse]:
    """Every URL of the catalog where it is used, title by title (ISN order); with `library`,
    only those of that library (its holdings' URLs and the URLs of the titles it holds)."""
    for isn, display, holdings in store.titles_with_holdings():
        holders = sorted({h.library for h in holdings}) or [NO_LIBRARY]
        if library is not None and library not in holders:
            continue
        if b"856" not in display and not any(h.url.strip() for h in holdings):
            continue   # cheap: no 856 tag anywhere in the record's bytes, no holding URL
        record = parse(display)
        title = _title_proper(record)
        for field in record.get_fields("856"):
            for url in field.get_subfields("u"):
                url = url.strip()
                if url:
                    for holder in holders:
                        if library is None or holder == library:
                            yield LinkUse(url, isn, title, holder, "856")
        for holding in holdings:
            if holding.url.strip() and (library is None or holding.library == library):
                yield LinkUse(holding.url.strip(), isn, title, holding.library, "holding")
