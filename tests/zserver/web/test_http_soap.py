"""SRW: SRU in SOAP 1.1 and 1.2 envelopes through HttpCore (as yaz-client's default `sru soap`)."""

from __future__ import annotations

import pytest
from lxml import etree
from sruschema import shared_schema

from index.search import Catalog
from zserver.net.http import HttpCore
from zserver.sru.soap import SOAP11_NS, SOAP12_NS, NotSoap, SoapFault, read_envelope

SRW = "http://www.loc.gov/zing/srw/"
SRU2_REQUEST = "http://docs.oasis-open.org/ns/search-ws/sruRequest"
SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU2_SCAN = "http://docs.oasis-open.org/ns/search-ws/scan"


def soap(body: str, namespace: str = SOAP11_NS) -> bytes:
    return (f'<?xml version="1.0"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="{namespace}"><SOAP-ENV:Body>'
            f"{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>").encode()


def search(query: str, version: str = "1.2", namespace: str = SRW, extra: str = "") -> str:
    version_element = f"<zs:version>{version}</zs:version>" if version else ""
    return (f'<zs:searchRetrieveRequest xmlns:zs="{namespace}">{version_element}<zs:query>{query}</zs:query>'
            f"<zs:maximumRecords>2</zs:maximumRecords>{extra}</zs:searchRetrieveRequest>")


@pytest.fixture(scope="module")
def catalog(sample_home):
    catalog = Catalog(sample_home)
    yield catalog
    catalog.close()


@pytest.fixture()
def core(catalog) -> HttpCore:
    return HttpCore(catalog, clock=lambda: 1000.0)


def inner(body: bytes, namespace: str = SOAP11_NS) -> etree._Element:
    """The one element in the response envelope's Body."""
    root = etree.fromstring(body)
    assert root.tag == f"{{{namespace}}}Envelope"
    (answer,) = root.find(f"{{{namespace}}}Body")
    return answer


@pytest.mark.parametrize(("namespace", "media"), [(SOAP11_NS, "text/xml"), (SOAP12_NS, "application/soap+xml")])
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_search_retrieve_in_soap_is_the_sru_response(core, namespace, media, version) -> None:
    answer = core.respond("POST", b"/unikat", soap(search("dc.title=water", version), namespace),
                          content_type=f"{media}; charset=utf-8")
    assert answer.status == 200
    assert dict(answer.headers)["Content-Type"] == f"{media}; charset=utf-8"
    plain = core.respond("GET", f"/unikat?version={version}&query=dc.title%3Dwater&maximumRecords=2".encode())
    response = inner(answer.body, namespace)
    same = {"method": "c14n", "exclusive": True}   # the envelope's namespace declaration aside
    assert etree.tostring(response, **same) == etree.tostring(etree.fromstring(plain.body), **same)
    assert response.tag == f"{{{SRW}}}searchRetrieveResponse"
    assert int(response.findtext(f"{{{SRW}}}numberOfRecords")) > 2
    assert len(response.findall(f"{{{SRW}}}records/{{{SRW}}}record")) == 2


def test_scan_and_explain_in_soap(core) -> None:
    scan = ('<zs:scanRequest xmlns:zs="http://www.loc.gov/zing/srw/"><zs:version>1.1</zs:version>'
            "<zs:scanClause>dc.title=hist</zs:scanClause><zs:maximumTerms>5</zs:maximumTerms></zs:scanRequest>")
    response = inner(core.respond("POST", b"/unikat", soap(scan), content_type="text/xml").body)
    assert response.tag == f"{{{SRW}}}scanResponse"
    assert len(response.findall(f"{{{SRW}}}terms/{{{SRW}}}term")) == 5
    explain = '<zs:explainRequest xmlns:zs="http://www.loc.gov/zing/srw/"><zs:version>1.2</zs:version></zs:explainRequest>'
    response = inner(core.respond("POST", b"/unikat", soap(explain), content_type="text/xml").body)
    assert response.tag == f"{{{SRW}}}explainResponse"
    assert response.find(f".//{{{SRW}}}recordData/*") is not None


def test_sru_2_0_in_soap_as_yaz_client_sends_it(core) -> None:
    body = soap(search("dc.title=water", "", SRU2_REQUEST, "<zs:queryType>cql</zs:queryType>"))
    response = inner(core.respond("POST", b"/unikat", body, content_type="text/xml").body)
    assert response.tag == f"{{{SRU2}}}searchRetrieveResponse"
    scan = (f'<zs:scanRequest xmlns:zs="{SRU2_SCAN}"><zs:scanClause>dc.title=hist</zs:scanClause>'
            "</zs:scanRequest>")
    response = inner(core.respond("POST", b"/unikat", soap(scan), content_type="text/xml").body)
    assert response.tag == f"{{{SRU2_SCAN}}}scanResponse"


def test_sru_2_0_soap_response_is_valid(core) -> None:
    schema = shared_schema("sruResponse.xsd")
    body = soap(search("dc.title=water", "", SRU2_REQUEST, "<zs:recordSchema>dc</zs:recordSchema>"))
    response = inner(core.respond("POST", b"/unikat", body, content_type="text/xml").body)
    assert schema.validate(etree.ElementTree(response)), schema.error_log


def test_diagnostics_and_unknown_databases_stay_in_the_envelope(core) -> None:
    answer = core.respond("POST", b"/unikat", soap(search("dc.nosuch=water")), content_type="text/xml")
    response = inner(answer.body)
    assert answer.status == 200
    assert response.xpath("//*[local-name()='uri']/text()") == ["info:srw/diagnostic/1/16"]
    answer = core.respond("POST", b"/nosuch", soap(search("water")), content_type="text/xml")
    assert answer.status == 404
    assert inner(answer.body).xpath("//*[local-name()='uri']/text()") == ["info:srw/diagnostic/1/235"]
    unknown = search("water", extra="<zs:nosuch>1</zs:nosuch>")
    assert inner(core.respond("POST", b"/unikat", soap(unknown), content_type="text/xml").body).xpath(
        "//*[local-name()='uri']/text()") == ["info:srw/diagnostic/1/8"]


@pytest.mark.parametrize(("body", "status", "namespace"), [
    (soap("<nosuch/>"), 500, SOAP11_NS),
    (soap("<nosuch/>", SOAP12_NS), 400, SOAP12_NS),
    (soap(search("a") + search("b")), 500, SOAP11_NS),
    (soap("<zs:searchRetrieveRequest xmlns:zs='urn:other'/>"), 500, SOAP11_NS),
    (soap(search("a")).replace(b"<SOAP-ENV:Body>", b"<SOAP-ENV:Header><h SOAP-ENV:mustUnderstand='1'/>"
                               b"</SOAP-ENV:Header><SOAP-ENV:Body>"), 500, SOAP11_NS),
])
def test_envelopes_we_cannot_serve_get_a_fault(core, body: bytes, status: int, namespace: str) -> None:
    answer = core.respond("POST", b"/unikat", body, content_type="text/xml")
    assert answer.status == status
    fault = inner(answer.body, namespace)
    assert fault.tag == f"{{{namespace}}}Fault"
    assert fault.xpath("string(.)")


@pytest.mark.parametrize("body", [
    b"<soap/>", b"not xml", b"",
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x "y">]>'
    + soap(search("&x;")).split(b"?>", 1)[1],
    b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>',
])
def test_what_is_not_a_soap_envelope_is_415(core, body: bytes) -> None:
    answer = core.respond("POST", b"/unikat", body, content_type="text/xml")
    assert answer.status == 415
    assert b"SOAP" in answer.body


def test_read_envelope_never_reads_entities_or_files() -> None:
    local = b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + soap(search("&x;")).split(b"?>", 1)[1]
    with pytest.raises(NotSoap):
        read_envelope(local)
    with pytest.raises(SoapFault):
        read_envelope(soap(search("x", extra="".join(f"<zs:x-{i}>1</zs:x-{i}>" for i in range(200)))))
    request = read_envelope(soap(search("dc.title = water")))
    assert request.params == {"operation": ["searchRetrieve"], "version": ["1.2"],
                              "query": ["dc.title = water"], "maximumRecords": ["2"]}


# --- refusals answer in the version and operation asked for ---------------------------------

@pytest.mark.parametrize(("method", "uri", "body", "status", "root", "version"), [
    ("GET", b"/unikat?version=1.2&query=%ff%fe", b"", 400, f"{{{SRW}}}searchRetrieveResponse", "1.2"),
    ("GET", b"/unikat?version=1.1&operation=scan&scanClause=%ff", b"", 400, f"{{{SRW}}}scanResponse", "1.1"),
    ("GET", b"/unikat?version=1.2&x=%ff", b"", 400, f"{{{SRW}}}explainResponse", "1.2"),
    ("GET", b"/unikat?query=%ff", b"", 400, f"{{{SRU2}}}searchRetrieveResponse", "2.0"),
    ("POST", b"/unikat", b"version=1.2&query=%ff", 400, f"{{{SRW}}}searchRetrieveResponse", "1.2"),
    ("GET", b"/unikat?version=1.2&query=" + b"a" * 9000, b"", 414, f"{{{SRW}}}searchRetrieveResponse", "1.2"),
])
def test_refusals_keep_the_version_asked_for(core, method, uri, body, status, root, version) -> None:
    answer = core.respond(method, uri, body, content_type="application/x-www-form-urlencoded")
    assert answer.status == status
    response = etree.fromstring(answer.body)
    assert response.tag == root
    assert response.xpath("string(*[local-name()='version'])") == version
