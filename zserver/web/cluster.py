"""The "Why these records are one title" part of a full record on the web page: every member
record (library, record number, quality score, the master marked) and the matcher's reason for
each pair, or a librarian's override (`index.consolidation.view`). A title of one record has none."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import builder as E

from index.consolidation.view import cluster_view
from index.search import Catalog

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub(" ", text)


def cluster_section(catalog: Catalog, isn: int, *, signed_in: bool = False) -> list[etree._Element]:
    """The section for title `isn`; none when it has a single member (or no such title)."""
    view = cluster_view(catalog.store, isn, catalog.config.consolidation.rules, catalog.hidden_libraries(signed_in))
    if view is None or len(view.members) + view.hidden_members < 2:
        return []
    names = catalog.library_names
    members = [E.LI(E.CLASS("member master" if m.master else "member"),
                    _clean(f"{names.get(m.library, m.library)}: {m.source_system} {m.source_id}"
                           f" (record {m.record}, quality {m.quality})" + (" – shown as the title" if m.master else "")))
               for m in view.members]
    reasons = [E.LI(_clean(f"records {p.a} and {p.b}: {p.why}")) for p in view.pairs]
    body: list = [E.H2("Why these records are one title"), E.UL(*members)]
    if reasons:
        body += [E.P("Each pair, as the matcher (or a librarian) decided:"), E.UL(E.CLASS("reasons"), *reasons)]
    if view.overrides:
        body.append(E.UL(E.CLASS("overrides"), *[E.LI(_clean(f"{o.action} by {o.made_by} ({o.made}): {o.note or '-'}"))
                                                 for o in view.overrides]))
    if view.redirects:
        body.append(E.P(_clean("Also found as title number " + ", ".join(map(str, view.redirects))
                               + " (merged into this one).")))
    if view.hidden_members:
        body.append(E.P(f"{view.hidden_members} more record(s) of libraries shown only after signing in."))
    return [E.E.section(E.CLASS("cluster"), *body)]
