"""The metadata formats the OAI-PMH provider disseminates, made by the SRU record schemas.

Each format names the SRU record schema that renders it (`zserver.sru.response.SCHEMAS`), so a
record looks the same in OAI-PMH as in SRU and nothing is rendered twice in the code base:

    marc21   MARCXML (MARC 21 slim), as SRU's `marcxml`
    oai_dc   Simple Dublin Core, SRU's `dc` moved into the `oai_dc:dc` wrapper OAI-PMH requires

A format is offered only when its SRU schema exists. SRU's `isbd` and `opac` are not offered:
they have no published XML Schema, and OAI-PMH requires one for every format (harvesters
validate). A schema with a public XSD (ISO 20775 holdings, say) becomes a format with one more
line in FORMATS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lxml import etree

from index.records.formats import DC_NS, MARCXML_NS
from index.search import TitleRecord
from zserver.sru.response import find_schema

__all__ = ["FORMATS", "OAI_DC_NS", "MetadataFormat", "find_format"]

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str         # the XML Schema's URL
    namespace: str
    sru_schema: str     # the SRU record schema that renders it
    wrap: Callable[[etree._Element], etree._Element] = lambda element: element

    def render(self, record: TitleRecord, library_names: Mapping[str, str]) -> etree._Element:
        """The element that goes into `<metadata>`."""
        schema = find_schema(self.sru_schema)
        data = schema.render(record, library_names)
        return self.wrap(etree.fromstring(data) if isinstance(data, bytes) else data)


def _oai_dc(dc: etree._Element) -> etree._Element:
    """SRU's `srw_dc:dc` as `oai_dc:dc`: the same dc: elements in the OAI wrapper."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS})
    root.extend(list(dc))
    return root


FORMATS: tuple[MetadataFormat, ...] = tuple(candidate for candidate in (
    MetadataFormat("marc21", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARCXML_NS, "marcxml"),
    MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS, "dc", _oai_dc),
) if find_schema(candidate.sru_schema) is not None)


def find_format(prefix: str) -> MetadataFormat | None:
    """The format with metadataPrefix `prefix` (exact: prefixes are case-sensitive)."""
    return next((candidate for candidate in FORMATS if candidate.prefix == prefix), None)
