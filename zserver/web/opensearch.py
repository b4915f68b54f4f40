"""The OpenSearch 1.1 description document at `/opensearch.xml`
(https://github.com/dewitt/opensearch/blob/master/opensearch-1-1-draft-6.md).

The search and record pages advertise it (`<link rel="search"
type="application/opensearchdescription+xml" href="/opensearch.xml">`), so a browser can add
the catalog as a search engine. Its templates are the web page's own search:

- `text/html`: `/?q={searchTerms}&start={startIndex?}` – the brief list people read;
- `application/json`: the same with `format=json` (`zserver.web.briefjson`).

`start` is 1-based like OpenSearch's default startIndex; an empty optional parameter means the
first page. Templates are absolute URLs (OpenSearch requires it), made from the host and port
the client addressed. It must not know Twisted or HTTP servers.
"""

from __future__ import annotations

from lxml import etree

from index.config import Config
from zserver.web.answer import WebAnswer

PATH = "/opensearch.xml"
MEDIA_TYPE = "application/opensearchdescription+xml"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"


def description(config: Config, host: str | None, port: int | None) -> WebAnswer:
    """The description document as seen at host:port (the configured ones when unknown)."""
    host = host or config.server.host
    port = port or config.server.port
    base = f"http://{host}" + ("" if port == 80 else f":{port}")
    q = f"{{{OPENSEARCH_NS}}}"
    root = etree.Element(q + "OpenSearchDescription", nsmap={None: OPENSEARCH_NS})
    etree.SubElement(root, q + "ShortName").text = config.name[:16]   # at most 16 characters
    etree.SubElement(root, q + "Description").text = (
        f"Search {config.name}: words, CCL (ti=... and au=...) or cql:...")[:1024]
    etree.SubElement(root, q + "Url", type="text/html", template=f"{base}/?q={{searchTerms}}&start={{startIndex?}}")
    etree.SubElement(root, q + "Url", type="application/json",
                     template=f"{base}/?q={{searchTerms}}&format=json&start={{startIndex?}}")
    etree.SubElement(root, q + "InputEncoding").text = "UTF-8"
    etree.SubElement(root, q + "OutputEncoding").text = "UTF-8"
    etree.SubElement(root, q + "SyndicationRight").text = "open"
    body = etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return WebAnswer(200, f"{MEDIA_TYPE}; charset=utf-8", body)
