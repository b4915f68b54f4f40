"""The OAI-PMH 2.0 schema with the schemas of what our responses carry (oai_dc, MARCXML,
oai-identifier), from local files only: tests/data/oai (sources in its README) and
../shared/data/schemas/MARC21slim.xsd."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

OAI_DATA = Path(__file__).resolve().parent / "data" / "oai"

# simpledc20021212.xsd imports the xml: namespace schema from w3.org: this is all it uses of it
_XML_XSD = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="lang" type="xs:language"/>
</xs:schema>"""


class _Local(etree.Resolver):
    def resolve(self, url, pubid, context):
        if url == "http://www.w3.org/2001/03/xml.xsd":
            return self.resolve_string(_XML_XSD, context)
        if url.startswith(("http:", "https:")):
            raise AssertionError(f"schema import from the network: {url}")
        return None


@cache
def oai_schema(marc21slim: Path) -> etree.XMLSchema:
    """The schema of OAI-PMH responses; `marc21slim` is ../shared/data/schemas/MARC21slim.xsd."""
    imports = {"http://www.openarchives.org/OAI/2.0/": OAI_DATA / "OAI-PMH.xsd",
               "http://www.openarchives.org/OAI/2.0/oai_dc/": OAI_DATA / "oai_dc.xsd",
               "http://www.openarchives.org/OAI/2.0/oai-identifier": OAI_DATA / "oai-identifier.xsd",
               "http://www.loc.gov/MARC21/slim": marc21slim}
    text = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
            + "".join(f'<xs:import namespace="{ns}" schemaLocation="{path.as_uri()}"/>' for ns, path in imports.items())
            + "</xs:schema>")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Local())
    return etree.XMLSchema(etree.fromstring(text.encode(), parser, base_url=(OAI_DATA / "all.xsd").as_uri()))


def assert_valid(body: bytes, marc21slim: Path) -> etree._Element:
    """The parsed response, after checking it against the OAI-PMH schema (strictly, metadata too)."""
    document = etree.fromstring(body)
    schema = oai_schema(marc21slim)
    if not schema.validate(document):
        raise AssertionError("not valid OAI-PMH: " + "; ".join(str(e) for e in schema.error_log[:5]))
    return document
