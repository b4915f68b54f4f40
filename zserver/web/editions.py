"""The "Other editions" part of a full record on the web page: each linked print or online
edition (`Catalog.other_editions`, both link directions) as a link to its own record page."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import builder as E

from index.search import Catalog

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def editions_section(catalog: Catalog, isn: int) -> list[etree._Element]:
    """A section listing the other editions of `isn`; none when it has none."""
    found = catalog.other_editions(isn)
    if not found:
        return []
    items = [E.LI(E.A(_NOT_XML.sub(" ", edition.label) or f"Record {edition.isn}", href=f"/record/{edition.isn}"))
             for edition in found]
    return [E.E.section(E.CLASS("editions"), E.H2("Other editions"), E.UL(*items))]
