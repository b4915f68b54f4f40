"""Issue 15 against a real `unikat serve` on each engine: MARC-in-JSON over Z39.50 (yaz-client
`format json`) and SRU (recordSchema=json), ISO 20775 holdings (recordSchema=isohold) valid
against tests/data/iso20775, SRU answered as JSON (httpAccept=application/json) read with
json.loads, SRU 2.0 responses valid against ../shared/data/schemas, explain listing all of it,
unAPI's status codes and records, the OpenSearch template, and the web page's brief JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pymarc
import pytest
from lxml import etree
from sruschema import shared_schema
from test_http_curl import curl
from test_yaz_client import Server, require, run_yaz_client, start_serving, stop_serving

from index.records.formats import parse
from index.records.isoholdings import ISO20775_NS
from index.records.marcjson import to_marc_dict
from index.search import Catalog

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ISO_SCHEMA = etree.XMLSchema(etree.parse(str(REPO / "tests/data/iso20775/holdings.xsd")))
SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
ZR = "http://explain.z3950.org/dtd/2.0/"


@pytest.fixture(scope="module")
def server(sample_home) -> Server:
    running = start_serving(sample_home, workers=1)
    yield running
    stop_serving(running)


@pytest.fixture(scope="module")
def catalog(sample_home):
    opened = Catalog(sample_home)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def sru_schema():
    return shared_schema("sruResponse.xsd")


def get(server: Server, path: str) -> tuple[int, str, bytes]:
    """Status, Content-Type and body of a GET with curl."""
    done = curl("--include", f"http://{server.host}:{server.port}{path}")
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    kind = re.search(rb"(?im)^content-type: (.*?)\r?$", head)
    return status, kind.group(1).decode() if kind else "", body


def sru(server: Server, **params: str) -> tuple[int, str, bytes]:
    return get(server, "/unikat?" + "&".join(f"{name}={quote(value)}" for name, value in params.items()))


def test_yaz_client_json_record_syntax(server, catalog, tmp_path) -> None:
    require("yaz-client")
    out = run_yaz_client(server, tmp_path, "format json", "find @attr 1=12 A000003", "show 1",
                         "elements B", "show 1")
    assert "Number of hits: 1" in out, out
    texts = re.findall(r'^\{"leader":.*$', out, re.M)   # yaz-client prints the JSON as it came
    assert len(texts) == 2, out
    full, brief = (json.loads(text) for text in texts)
    assert {"001": "A000003"} in full["fields"]
    assert len(brief["fields"]) < len(full["fields"])
    assert all(next(iter(field)) in {"001", "003", "005", "008", "020", "022", "100", "110", "111", "245", "250",
                                     "260", "264"} for field in brief["fields"])


def test_yaz_client_unknown_syntax_still_refused(server, tmp_path) -> None:
    out = run_yaz_client(server, tmp_path, "format 1.2.840.10003.5.1001", "find @attr 1=12 A000003", "show 1")
    assert "239" in out, out


def test_sru_json_schema(server, catalog, sru_schema) -> None:
    status, kind, body = sru(server, query="rec.id=3", recordSchema="json")
    assert status == 200 and kind.startswith("text/xml")
    root = etree.fromstring(body)
    assert sru_schema.validate(root), sru_schema.error_log
    data = root.find(f"{{{SRU2}}}records/{{{SRU2}}}record/{{{SRU2}}}recordData")
    record = catalog.record(3)
    assert json.loads(data.text) == parse(record.marc).as_dict() == to_marc_dict(record.marc)
    assert root.findtext(f"{{{SRU2}}}records/{{{SRU2}}}record/{{{SRU2}}}recordSchema") == \
        "info:unikat/schema/marc-in-json"
    for name in ("marcjson", "info:unikat/schema/marc-in-json"):
        assert json.loads(etree.fromstring(sru(server, query="rec.id=3", recordSchema=name)[2]).findtext(
            f".//{{{SRU2}}}recordData")) == to_marc_dict(record.marc)


def test_sru_isohold(server, catalog, sru_schema) -> None:
    status, _, body = sru(server, query="dc.title=history", recordSchema="isohold", maximumRecords="20")
    root = etree.fromstring(body)
    assert status == 200 and sru_schema.validate(root), sru_schema.error_log
    records = root.findall(f"{{{SRU2}}}records/{{{SRU2}}}record")
    assert len(records) == 20
    for record in records:
        holdings = record.find(f"{{{SRU2}}}recordData/{{{ISO20775_NS}}}holdings")
        assert ISO_SCHEMA.validate(holdings), ISO_SCHEMA.error_log
    # every library of a title, with its location and call number
    title = catalog.record(3)
    body = sru(server, query="rec.id=3", recordSchema="isohold")[2]
    holdings = etree.fromstring(body).find(f".//{{{ISO20775_NS}}}holdings")
    h = f"{{{ISO20775_NS}}}"
    got = sorted((holding.findtext(f"{h}institutionIdentifier/{h}value"), copy.findtext(h + "sublocation") or "",
                  copy.findtext(h + "shelfLocator") or "")
                 for holding in holdings.findall(h + "holding")
                 for copy in holding.findall(f"{h}holdingSimple/{h}copyInformation"))
    assert got == sorted((x.library, x.location, x.call_number) for x in title.holdings)
    # SRU 1.2 too, and the short names
    body = sru(server, version="1.2", operation="searchRetrieve", query="rec.id=3", recordSchema="iso20775")[2]
    assert etree.fromstring(body).find(f".//{{{ISO20775_NS}}}holdings") is not None


def test_httpaccept_json_search_scan_explain_diagnostics(server, catalog) -> None:
    status, kind, body = sru(server, query="dc.title=history", httpAccept="application/json",
                             recordSchema="json", maximumRecords="3")
    answer = json.loads(body)
    assert status == 200 and kind == "application/json; charset=utf-8"
    assert answer["operation"] == "searchRetrieve" and answer["version"] == "2.0"
    xml = etree.fromstring(sru(server, query="dc.title=history", maximumRecords="0")[2])
    assert answer["numberOfRecords"] == int(xml.findtext(f"{{{SRU2}}}numberOfRecords")) > 3
    assert [r["recordPosition"] for r in answer["records"]] == [1, 2, 3]
    assert answer["nextRecordPosition"] == 4 and answer["resultSetId"]
    assert all(set(r["recordData"]) == {"leader", "fields"} for r in answer["records"])
    assert answer["echoedRequest"]["query"] == "dc.title=history" and "diagnostics" not in answer
    # an XML schema travels as its XML text
    answer = json.loads(sru(server, query="rec.id=3", httpAccept="application/json")[2])
    assert etree.fromstring(answer["records"][0]["recordData"].encode()).tag == "{http://www.loc.gov/MARC21/slim}record"
    # diagnostics, whole-response and per record
    answer = json.loads(sru(server, query="dc.title=(", httpAccept="application/json")[2])
    assert answer["numberOfRecords"] == 0 and answer["diagnostics"][0]["uri"] == "info:srw/diagnostic/1/10"
    answer = json.loads(sru(server, query="rec.id=3", recordSchema="nosuch", httpAccept="application/json")[2])
    assert answer["diagnostics"][0]["uri"] == "info:srw/diagnostic/1/66"
    status, kind, body = get(server, "/nosuchdb?query=a&httpAccept=application/json")
    assert status == 404 and json.loads(body)["diagnostics"][0]["uri"] == "info:srw/diagnostic/1/235"
    # scan
    answer = json.loads(sru(server, scanClause="dc.title=hist", maximumTerms="5", httpAccept="application/json")[2])
    assert answer["operation"] == "scan" and len(answer["terms"]) == 5
    assert all(isinstance(term["numberOfRecords"], int) and term["value"] for term in answer["terms"])
    # explain
    answer = json.loads(get(server, "/unikat?httpAccept=application/json")[2])
    assert answer["operation"] == "explain" and answer["explain"]["database"] == "unikat"
    assert {"json", "isohold", "marcxml"} <= {schema["name"] for schema in answer["explain"]["schemas"]}
    assert "application/json" in answer["explain"]["httpAccept"]
    assert any("dc.title" in index["names"] for index in answer["explain"]["indexes"])
    # a media type we do not have is still diagnostic 6
    body = sru(server, query="a", httpAccept="text/html")[2]
    assert b"info:srw/diagnostic/1/6" in body


def test_explain_lists_schemas_and_json(server, sru_schema) -> None:
    root = etree.fromstring(get(server, "/unikat")[2])
    assert sru_schema.validate(root), sru_schema.error_log
    schemas = {s.get("name"): s.get("identifier") for s in root.iter(f"{{{ZR}}}schema")}
    assert schemas["json"] == "info:unikat/schema/marc-in-json"
    assert schemas["isohold"] == ISO20775_NS
    assert {"marcxml", "dc", "isbd", "opac"} <= set(schemas)
    accepts = [s.text for s in root.iter(f"{{{ZR}}}supports") if s.get("type") == "httpAccept"]
    assert "application/json" in accepts


def test_unapi(server, catalog) -> None:
    status, kind, body = get(server, "/")
    page = body.decode()
    assert '<link rel="unapi-server" type="application/xml" title="unAPI" href="/unapi">' in page
    status, _, body = get(server, "/?q=history")
    ids = re.findall(r'<abbr title="(\d+)" class="unapi-id">', body.decode())
    assert len(ids) == 20
    status, kind, body = get(server, "/unapi")
    assert status == 200 and {f.get("name") for f in etree.fromstring(body)} >= {"marcxml", "json", "isohold"}
    status, kind, body = get(server, f"/unapi?id={ids[0]}")
    formats = etree.fromstring(body)
    assert status == 300 and formats.get("id") == ids[0]
    assert [f.get("name") for f in formats] == ["marcxml", "marc21", "json", "dc", "isbd", "opac", "isohold"]
    status, kind, body = get(server, f"/unapi?id={ids[0]}&format=json")
    assert status == 200 and kind.startswith("application/marc+json")
    assert json.loads(body) == to_marc_dict(catalog.record(int(ids[0])).marc)
    status, kind, body = get(server, f"/unapi?id={ids[0]}&format=marc21")
    assert status == 200 and kind == "application/marc"
    assert pymarc.Record(data=body, to_unicode=True, force_utf8=True)["001"].data == \
        parse(catalog.record(int(ids[0])).marc)["001"].data
    status, kind, body = get(server, f"/unapi?id={ids[0]}&format=isohold")
    assert status == 200 and ISO_SCHEMA.validate(etree.fromstring(body)), ISO_SCHEMA.error_log
    status, kind, body = get(server, f"/unapi?id={ids[0]}&format=marcxml")
    assert status == 200 and etree.fromstring(body).tag == "{http://www.loc.gov/MARC21/slim}record"
    assert get(server, "/unapi?id=99999999&format=json")[0] == 404
    assert get(server, "/unapi?id=abc")[0] == 404
    status, _, body = get(server, f"/unapi?id={ids[0]}&format=mods")
    assert status == 406 and b"mods" in body
    assert get(server, "/unapi?format=json")[0] == 400


def test_opensearch_template_works(server) -> None:
    page = get(server, "/")[2].decode()
    assert 'rel="search" type="application/opensearchdescription+xml" href="/opensearch.xml"' in page
    status, kind, body = get(server, "/opensearch.xml")
    assert status == 200 and kind.startswith("application/opensearchdescription+xml")
    root = etree.fromstring(body)
    ns = "{http://a9.com/-/spec/opensearch/1.1/}"
    assert len(root.findtext(ns + "ShortName")) <= 16
    templates = {url.get("type"): url.get("template") for url in root.findall(ns + "Url")}
    base = f"http://{server.host}:{server.port}"
    for kind, template in templates.items():
        assert template.startswith(base + "/")
        url = template.replace("{searchTerms}", quote("united states")).replace("{startIndex?}", "")
        status, got, body = get(server, url[len(base):])
        assert status == 200 and got.startswith(kind), (url, got)
        if kind == "text/html":
            assert "titles found" in body.decode()
        else:
            assert json.loads(body)["numberOfRecords"] > 0


def test_brief_json(server, catalog) -> None:
    status, kind, body = get(server, "/?q=history&format=json")
    answer = json.loads(body)
    assert status == 200 and kind == "application/json; charset=utf-8"
    html = get(server, "/?q=history")[2].decode()
    assert f"<strong>{answer['numberOfRecords']:,}</strong>" in html
    assert [r["isn"] for r in answer["records"]] == [int(i) for i in re.findall(r'href="/record/(\d+)\?', html)]
    assert answer["records"][0]["link"] == f"/record/{answer['records'][0]['isn']}"
    following = json.loads(get(server, answer["next"])[2])
    assert following["start"] == 21 and following["records"][0]["isn"] not in {r["isn"] for r in answer["records"]}
    status, _, body = get(server, "/?q=ti%3D(&format=json")
    assert status == 400 and "Cannot read the query" in json.loads(body)["error"]
    status, _, body = get(server, "/?format=json")
    assert status == 400 and json.loads(body)["error"]
