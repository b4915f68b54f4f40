"""Schemas of ../shared/data/schemas (sruResponse.xsd, facetedResults.xsd ...) for validating
our SRU answers, read from local files only: what one imports is the file of that name beside it."""

from __future__ import annotations

from pathlib import Path

from conftest import shared
from lxml import etree


class _Beside(etree.Resolver):
    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def resolve(self, url, public_id, context):
        return self.resolve_filename(str(self.directory / url.rsplit("/", 1)[-1]), context)


def shared_schema(name: str) -> etree.XMLSchema:
    """../shared/data/schemas/`name`; skips the test with a printed reason when it is absent."""
    path = shared(f"schemas/{name}")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Beside(path.parent))
    return etree.XMLSchema(etree.parse(str(path), parser))
