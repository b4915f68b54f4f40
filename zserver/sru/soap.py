"""SRW: SRU requests and responses in SOAP envelopes (SOAP 1.1 and 1.2), as YAZ speaks them.

This module owns the SOAP side of SRU: reading a request envelope into the same parameters a
GET or form POST gives (`read_envelope`), and putting a serialized SRU response, or a SOAP
Fault, back into an envelope of the client's SOAP version. What the parameters mean stays
request.py's; the response body is response.py's, byte for byte the same as over GET.

A request is an envelope whose Body holds one `searchRetrieveRequest`, `scanRequest` or
`explainRequest` in the SRW namespace (`http://www.loc.gov/zing/srw/`, SRU 1.1/1.2) or in an
SRU 2.0 namespace (what yaz-client sends for `sru soap 2.0`). Each child element is one
parameter: its local name is the parameter name, its text the value. The root element names
the operation; a missing `version` is 1.2 in the SRW namespace and 2.0 in the others.

The XML comes from anyone: it is parsed with no DTD, no entities, no network and lxml's
default depth and size limits (the HTTP layer has already bounded the body), and a document
with a DOCTYPE is refused. A body that is not XML or not a SOAP envelope is not SRW at all
(the HTTP layer answers 415); an envelope we cannot serve gets a SOAP Fault with HTTP 500
(SOAP 1.1, section 6.2) or 400 (SOAP 1.2 Sender fault, part 2 section 7.5.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

__all__ = ["SOAP11_NS", "SOAP12_NS", "NotSoap", "SoapFault", "SoapRequest", "content_type", "envelope",
           "fault", "read_envelope"]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
_CONTENT_TYPES = {SOAP11_NS: "text/xml", SOAP12_NS: "application/soap+xml"}

SRW_NS = "http://www.loc.gov/zing/srw/"
_SRU2_NAMESPACES = ("http://docs.oasis-open.org/ns/search-ws/sruRequest",
                    "http://docs.oasis-open.org/ns/search-ws/scan",
                    "http://docs.oasis-open.org/ns/search-ws/explain")
_OPERATIONS = {"searchRetrieveRequest": "searchRetrieve", "scanRequest": "scan",
               "explainRequest": "explain"}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, remove_comments=True, remove_pis=True,
                          huge_tree=False)


class NotSoap(Exception):
    """The body is not XML, or not a SOAP envelope: not an SRW request at all."""


class SoapFault(Exception):
    """An envelope we cannot serve; `namespace` is the client's SOAP version."""

    def __init__(self, namespace: str, message: str) -> None:
        super().__init__(message)
        self.namespace = namespace


@dataclass(frozen=True)
class SoapRequest:
    """The parameters of one SRW request, and the SOAP version to answer in."""

    namespace: str
    params: dict[str, list[str]]


def read_envelope(body: bytes, *, max_fields: int = 100) -> SoapRequest:
    """The SRU parameters of the SOAP request `body`. Raises NotSoap or SoapFault."""
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise NotSoap(f"the body is not well-formed XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise NotSoap("a document type declaration is not allowed")
    namespace = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or namespace not in _CONTENT_TYPES:
        raise NotSoap("the body is not a SOAP 1.1 or 1.2 envelope")
    for part in root:
        if not isinstance(part.tag, str):
            continue
        if part.tag == f"{{{namespace}}}Header":
            for entry in part:
                if entry.get(f"{{{namespace}}}mustUnderstand") in ("1", "true"):
                    raise SoapFault(namespace, f"header {etree.QName(entry).localname} not understood")
        elif part.tag != f"{{{namespace}}}Body":
            raise SoapFault(namespace, f"unexpected element {etree.QName(part).localname} in the envelope")
    bodies = root.findall(f"{{{namespace}}}Body")
    requests = [element for element in bodies[0] if isinstance(element.tag, str)] if len(bodies) == 1 else []
    if len(requests) != 1:
        raise SoapFault(namespace, "the SOAP Body must hold exactly one SRU request")
    request = etree.QName(requests[0])
    operation = _OPERATIONS.get(request.localname)
    if operation is None or (request.namespace != SRW_NS and request.namespace not in _SRU2_NAMESPACES):
        raise SoapFault(namespace, f"not an SRU request: {{{request.namespace}}}{request.localname}")
    params: dict[str, list[str]] = {"operation": [operation]}
    fields = 0
    for element in requests[0]:
        if not isinstance(element.tag, str):
            continue
        fields += 1
        if fields > max_fields:
            raise SoapFault(namespace, f"more than {max_fields} parameters")
        if len(element):   # structured content (extraRequestData): kept whole, so it is refused by name
            value = "".join(etree.tostring(child, encoding="unicode") for child in element)
        else:
            value = element.text or ""
        params.setdefault(etree.QName(element).localname, []).append(value.strip())
    if "version" not in params:
        params["version"] = ["1.2" if request.namespace == SRW_NS else "2.0"]
    return SoapRequest(namespace, params)


def content_type(namespace: str) -> str:
    """The media type of a response in SOAP version `namespace`."""
    return f"{_CONTENT_TYPES.get(namespace, 'text/xml')}; charset=utf-8"


def envelope(namespace: str, document: bytes) -> bytes:
    """`document` (a serialized SRU response, XML declaration and all) in a SOAP Body."""
    inner = document
    while inner.startswith(b"<?"):   # the XML declaration and any xml-stylesheet instruction
        inner = inner[inner.index(b"?>") + 2:].lstrip()
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="'
            + namespace.encode() + b'"><SOAP-ENV:Body>' + inner + b"</SOAP-ENV:Body></SOAP-ENV:Envelope>")


def fault(namespace: str, message: str) -> tuple[int, bytes]:
    """The HTTP status and body of a SOAP Fault blaming the client, in SOAP version `namespace`."""
    text = escape(message).encode("utf-8")
    if namespace == SOAP12_NS:
        body = (b"<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
                b'</SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">' + text
                + b"</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>")
        status = 400
    else:
        body = (b"<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>" + text
                + b"</faultstring></SOAP-ENV:Fault>")
        status = 500
    return status, envelope(namespace, body)
