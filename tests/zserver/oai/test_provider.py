"""The OAI-PMH provider over the sample catalog (both engines), through the HTTP core: every
response valid against the OAI-PMH 2.0 schema (metadata included), lists walked through
resumption tokens, deletions, errors, restricted libraries."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import RestrictedHome, copy_home, shared
from lxml import etree
from oaischema import assert_valid

from index.config import OaiConfig
from index.home import Home
from index.search import Catalog
from index.store import changes
from index.titles import delete_record
from zserver.net.http import HttpCore
from zserver.oai import OaiProvider
from zserver.oai.provider import set_spec

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/",
      "m": "http://www.loc.gov/MARC21/slim"}
REPOSITORY = "unikat.example.org"


@pytest.fixture(scope="module")
def marc21slim() -> Path:
    return shared("schemas/MARC21slim.xsd")


@pytest.fixture(scope="module")
def catalog(sample_home) -> Catalog:
    opened = Catalog(sample_home)
    yield opened
    opened.close()


class Oai:
    """Requests to one provider, each response checked against the schema and parsed."""

    def __init__(self, provider: OaiProvider, marc21slim: Path, user: str | None = None) -> None:
        self.provider, self.marc21slim, self.user = provider, marc21slim, user

    def __call__(self, **params: str | list[str]) -> etree._Element:
        answer = self.provider.respond({name.rstrip("_"): value if isinstance(value, list) else [value]
                                        for name, value in params.items()}, base_url="http://localhost/oai",
                                       user=self.user)
        assert answer.status == 200 and answer.content_type.startswith("text/xml")
        return assert_valid(answer.body, self.marc21slim)

    def harvest(self, verb: str = "ListRecords", **params: str) -> tuple[list[etree._Element], int]:
        """Every header of a list, following the tokens; and the number of responses."""
        document = self(verb=verb, **params)
        headers, responses = [], 1
        while True:
            headers.extend(document.iterfind(".//o:header", NS))
            token = document.find(f"o:{verb}/o:resumptionToken", NS)
            if token is None or not token.text:
                if token is not None:   # the last page of a resumed list: an empty token, cursor = items before
                    assert int(token.get("cursor")) == len(headers) - len(document.findall(".//o:header", NS))
                return headers, responses
            document = self(verb=verb, resumptionToken=token.text)
            responses += 1


def provider(catalog: Catalog, **settings) -> OaiProvider:
    return OaiProvider(catalog, dataclasses.replace(OaiConfig(), **settings))


def error(document: etree._Element) -> tuple[str, str] | None:
    found = document.find("o:error", NS)
    return None if found is None else (found.get("code"), found.text)


def identifiers(headers) -> list[str]:
    return [header.findtext("o:identifier", namespaces=NS) for header in headers]


def titles(catalog: Catalog) -> int:
    return catalog.store.db.execute("SELECT count(*) FROM titles WHERE bibtype NOT LIKE 'z%'").fetchone()[0]


def test_identify_through_the_http_core(catalog, marc21slim) -> None:
    answer = HttpCore(catalog).respond("GET", b"/oai?verb=Identify", host="oai.test", port=8080)
    document = assert_valid(answer.body, marc21slim)
    assert document.findtext("o:Identify/o:baseURL", namespaces=NS) == "http://oai.test:8080/oai"
    assert document.findtext("o:Identify/o:deletedRecord", namespaces=NS) == "persistent"
    assert document.findtext("o:Identify/o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert document.findtext("o:request", namespaces=NS) == "http://oai.test:8080/oai"
    earliest = changes.earliest_change(catalog.store)
    assert document.findtext("o:Identify/o:earliestDatestamp", namespaces=NS) == earliest.replace(" ", "T") + "Z"
    posted = HttpCore(catalog).respond("POST", b"/oai", b"verb=Identify", content_type="application/x-www-form-urlencoded")
    assert posted.status == 200 and b"<Identify>" in posted.body


def test_the_schema_check_is_not_empty(catalog, marc21slim) -> None:
    body = provider(catalog).respond({"verb": ["Identify"]}, base_url="http://localhost/oai").body
    with pytest.raises(AssertionError, match="not valid"):
        assert_valid(body.replace(b"<protocolVersion>2.0<", b"<protocolVersion>2.1<"), marc21slim)


def test_formats_and_sets(catalog, marc21slim) -> None:
    oai = Oai(provider(catalog), marc21slim)
    formats = oai(verb="ListMetadataFormats")
    assert [p.text for p in formats.iterfind(".//o:metadataPrefix", NS)] == ["marc21", "oai_dc"]
    sets = oai(verb="ListSets")
    libraries = [d.library for d in catalog.databases() if d.library is not None]
    assert [s.text for s in sets.iterfind(".//o:setSpec", NS)] == [set_spec(code) for code in libraries]
    assert "WWW 1" in libraries and set_spec("WWW 1") == "WWW~201"   # a consortium sigel with a space
    one = oai(verb="ListMetadataFormats", identifier=f"oai:{REPOSITORY}:1")
    assert len(one.findall(".//o:metadataFormat", NS)) == 2


@pytest.mark.parametrize("prefix", ["marc21", "oai_dc"])
def test_the_whole_catalog_through_resumption_tokens(catalog, marc21slim, prefix) -> None:
    oai = Oai(provider(catalog, page_size=40), marc21slim)
    headers, responses = oai.harvest(metadataPrefix=prefix)
    found = identifiers(headers)
    deleted = [h for h in headers if h.get("status") == "deleted"]
    assert len(found) == len(set(found)) == titles(catalog) + len(deleted)
    assert len(deleted) == len(catalog.store.deleted_titles())   # titles merged away while loading
    assert responses == -(-len(found) // 40)
    stamps = [h.findtext("o:datestamp", namespaces=NS) for h in headers]
    assert stamps == sorted(stamps)
    only_ids, _ = oai.harvest("ListIdentifiers", metadataPrefix=prefix)
    assert identifiers(only_ids) == found


def test_a_set_is_what_the_library_holds(catalog, marc21slim) -> None:
    oai = Oai(provider(catalog, page_size=5), marc21slim)
    headers, _ = oai.harvest(metadataPrefix="oai_dc", set="C")
    held = {isn for (isn,) in catalog.store.db.execute(
        "SELECT DISTINCT r.isn FROM records r JOIN holdings h ON h.record_id = r.id WHERE h.library = 'C'")}
    live = [h for h in headers if h.get("status") != "deleted"]
    assert {int(i.rsplit(":", 1)[1]) for i in identifiers(live)} == held
    assert all("C" in [s.text for s in h.iterfind("o:setSpec", NS)] for h in live)
    assert len(headers) - len(live) == len(catalog.store.deleted_titles())   # every deletion, whoever held it


def test_get_record_in_both_formats(catalog, marc21slim) -> None:
    oai = Oai(provider(catalog), marc21slim)
    isn = catalog.store.db.execute("SELECT min(isn) FROM titles WHERE bibtype NOT LIKE 'z%'").fetchone()[0]
    title = catalog.record(isn)
    marc = oai(verb="GetRecord", identifier=f"oai:{REPOSITORY}:{isn}", metadataPrefix="marc21")
    assert marc.find(".//o:metadata/m:record/m:leader", NS) is not None
    dc = oai(verb="GetRecord", identifier=f"oai:{REPOSITORY}:{isn}", metadataPrefix="oai_dc")
    assert dc.findtext(".//dc:title", namespaces=NS)
    assert sorted(s.text for s in dc.iterfind(".//o:header/o:setSpec", NS)) == \
        sorted({set_spec(h.library) for h in title.holdings})


@pytest.mark.parametrize(("params", "code"), [
    ({}, "badVerb"),
    ({"verb": "Harvest"}, "badVerb"),
    ({"verb": ["Identify", "Identify"]}, "badVerb"),
    ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "marc21"]}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01T00:00:00"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01", "until": "2021-01-01T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2021-01-02", "until": "2021-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "NOSUCH"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai dc"}, "badArgument"),
    ({"verb": "GetRecord", "identifier": f"oai:{REPOSITORY}:1"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": f"oai:{REPOSITORY}:1", "metadataPrefix": "isbd"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": f"oai:{REPOSITORY}:999999", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "oai:elsewhere.org:1", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": f"oai:{REPOSITORY}:x", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "ListMetadataFormats", "identifier": f"oai:{REPOSITORY}:0"}, "idDoesNotExist"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2999-01-01"}, "noRecordsMatch"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "until": "1999-12-31T23:59:59Z"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "resumptionToken": "garbage"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "garbage"}, "badResumptionToken"),
])
def test_errors(catalog, marc21slim, params, code) -> None:
    document = Oai(provider(catalog), marc21slim)(**params)
    found = error(document)
    assert found is not None and found[0] == code, found
    assert found[1]   # says why
    request = document.find("o:request", NS)
    if code in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}   # the arguments are not echoed then
    else:
        assert request.get("verb") == params["verb"]


def test_tokens_are_checked_and_survive_a_restart(sample_home, catalog, marc21slim) -> None:
    first = Oai(provider(catalog, page_size=3), marc21slim)(verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.findtext(".//o:resumptionToken", namespaces=NS)
    assert token and first.find(".//o:resumptionToken", NS).get("cursor") == "0"
    restarted = Catalog(sample_home)   # a new process would open the catalog afresh: nothing kept in memory
    try:
        oai = Oai(provider(restarted, page_size=3), marc21slim)
        second = oai(verb="ListIdentifiers", resumptionToken=token)
        assert second.find(".//o:resumptionToken", NS).get("cursor") == "3"
        assert not set(identifiers(second.iterfind(".//o:header", NS))) & set(identifiers(first.iterfind(".//o:header", NS)))
        assert error(oai(verb="ListRecords", resumptionToken=token))[0] == "badResumptionToken"   # another verb
        cut = token[:-1] + ("0" if token[-1] != "0" else "1")
        assert error(oai(verb="ListIdentifiers", resumptionToken=cut))[0] == "badResumptionToken"
        other = Oai(provider(restarted, repository_identifier="other.example.org"), marc21slim)
        assert error(other(verb="ListIdentifiers", resumptionToken=token))[0] == "badResumptionToken"
        later = provider(restarted, page_size=3)
        later.clock = lambda: 10**10
        assert error(Oai(later, marc21slim)(verb="ListIdentifiers", resumptionToken=token)) == \
            ("badResumptionToken", "the resumptionToken has expired (they last 86400 seconds): start the list again")
    finally:
        restarted.close()


def test_deleted_titles_are_reported(sample_home, tmp_path, marc21slim) -> None:
    root = tmp_path / "home"
    copy_home(sample_home, root)
    catalog = Catalog(Home(root))
    try:
        store = catalog.store
        before = changes.changes(store, limit=10**6)
        isn = next(change.isn for change in before if len(store.records_of_title(change.isn)) == 1)
        with store.transaction():
            delete_record(store, store.records_of_title(isn)[0], None)
        when = store.deleted_titles()[-1][1]
        oai = Oai(provider(catalog, page_size=4), marc21slim)
        got = oai(verb="GetRecord", identifier=f"oai:{REPOSITORY}:{isn}", metadataPrefix="marc21")
        header = got.find(".//o:header", NS)
        assert header.get("status") == "deleted" and got.find(".//o:metadata", NS) is None
        assert header.findtext("o:datestamp", namespaces=NS) == when.replace(" ", "T") + "Z"
        since = oai.harvest(metadataPrefix="oai_dc", from_=when.replace(" ", "T") + "Z")[0]
        assert f"oai:{REPOSITORY}:{isn}" in identifiers(h for h in since if h.get("status") == "deleted")
        everything = oai.harvest("ListIdentifiers", metadataPrefix="oai_dc")[0]
        assert len(everything) == len(before)   # the title is still listed, as deleted
        in_a_set = oai.harvest("ListIdentifiers", metadataPrefix="oai_dc", set="C")[0]
        assert f"oai:{REPOSITORY}:{isn}" in identifiers(in_a_set)   # deletions go to every set
    finally:
        catalog.close()


def test_restricted_libraries(sample_home, marc21slim) -> None:
    catalog = Catalog(RestrictedHome(sample_home.root))   # database B restricted
    try:
        anonymous = Oai(provider(catalog), marc21slim)
        assert "B" not in [s.text for s in anonymous(verb="ListSets").iterfind(".//o:setSpec", NS)]
        assert error(anonymous(verb="ListIdentifiers", metadataPrefix="oai_dc", set="B")) == \
            ("badArgument", "set 'B' is open to signed-in users only")
        headers, _ = anonymous.harvest("ListRecords", metadataPrefix="marc21")
        assert "B" not in {s.text for h in headers for s in h.iterfind("o:setSpec", NS)}
        signed_in = Oai(provider(catalog), marc21slim, user="librarian")
        assert "B" in [s.text for s in signed_in(verb="ListSets").iterfind(".//o:setSpec", NS)]
        assert signed_in.harvest("ListIdentifiers", metadataPrefix="oai_dc", set="B")[0]
    finally:
        catalog.close()


def test_a_restricted_union_database_needs_a_login(sample_home) -> None:
    class Closed(Home):
        def config(self):
            return dataclasses.replace(super().config(), restricted=("unikat",))

    catalog = Catalog(Closed(sample_home.root))
    try:
        answer = HttpCore(catalog).respond("GET", b"/oai?verb=Identify")
        assert answer.status == 401 and ("WWW-Authenticate", 'Basic realm="unikat sample union catalog"') in answer.headers
    finally:
        catalog.close()
