"""The e-journal list as Dublin Core XML: one `record` per title, its elements in the DCMI
terms namespace (http://purl.org/dc/terms/), encoding schemes as `xsi:type` (dcterms:URI,
dcterms:DDC, dcterms:ISO639-2, dcterms:DCMIType), as DCMI's "Guidelines for implementing
Dublin Core in XML" show. The wrapper (`records`, `record`) is in no namespace.

The link-check state is not part of Dublin Core and stays in the HTML and CSV lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from index.ejournals.select import EJournal

__all__ = ["DCTERMS", "XSI", "write_dcterms"]

DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XML_UNSAFE = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _term(parent: etree._Element, name: str, value: str, scheme: str = "") -> None:
    value = value.translate(_XML_UNSAFE).strip()
    if value:
        element = etree.SubElement(parent, f"{{{DCTERMS}}}{name}")
        element.text = value
        if scheme:
            element.set(f"{{{XSI}}}type", f"dcterms:{scheme}")


def write_dcterms(journals: Iterable[EJournal], path: Path) -> int:
    """Write the list to `path` (UTF-8); returns the number of records."""
    root = etree.Element("records", nsmap={"dcterms": DCTERMS, "xsi": XSI})
    count = 0
    for journal in journals:
        record = etree.SubElement(root, "record", id=str(journal.isn))
        _term(record, "title", journal.title)
        _term(record, "type", "Text", "DCMIType")
        _term(record, "publisher", journal.publisher)
        _term(record, "issued", journal.years)
        _term(record, "language", journal.language, "ISO639-2")
        for issn in journal.issns:
            _term(record, "identifier", f"urn:ISSN:{issn}")
        for url in journal.urls:
            _term(record, "identifier", url, "URI" if url.lower().startswith(("http://", "https://")) else "")
        for subject in journal.subjects:
            _term(record, "subject", subject.code, "DDC" if subject.scheme == "DDC" else "")
        count += 1
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    return count
