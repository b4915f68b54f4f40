"""The Z39.50 handler against a real catalog built from sample_data/ (real LC records of three
libraries and PICA+ e-journals): every service, every diagnostic path. Every response is
encoded and decoded again, so it also fits our ASN.1."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree

from index.engines.base import SortKey
from index.records.formats import MARCXML_NS, parse
from index.search import Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import rpn_to_asn1
from zserver.z3950.attributes import rpn_to_query
from zserver.z3950.codec import bit_string, bit_string_positions, decode_pdu, decode_type, encode_pdu
from zserver.z3950.diagnostics import Z3950Diagnostic
from zserver.z3950.handler import USERINFO_1, Handler, Limits, Option
from zserver.z3950.present import brief_marc
from zserver.z3950.records import Oid, decode_record, find_charset_negotiation, negotiated_charsets

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
HISTORY = "@attr 1=4 history"


def captured(name: str) -> dict:
    return decode_pdu((PDUS / f"{name}.ber").read_bytes())[1]


@pytest.fixture(scope="module")
def catalog(sample_home):
    opened = Catalog(sample_home)
    opened.config = dataclasses.replace(opened.config, restricted=("B",))
    yield opened
    opened.close()


def answer(handler: Handler, name: str, value: dict) -> tuple[str, dict]:
    response = handler.handle(name, value)
    data = encode_pdu(response.name, response.value)
    assert decode_pdu(data) == (response.name, response.value)
    assert response.summary
    return response.name, response.value


def init_value(**changes) -> dict:
    return {**captured("init-plain-01-c-initRequest"), **changes}


@pytest.fixture()
def handler(catalog) -> Handler:
    opened = Handler(catalog, Limits(max_result_sets=5))
    name, value = answer(opened, "initRequest", init_value())
    assert value["result"] is True
    return opened


def search_value(pqf: str = HISTORY, **changes) -> dict:
    value = {"smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
             "replaceIndicator": True, "resultSetName": "1", "databaseNames": ["unikat"],
             "query": ("type-1", rpn_to_asn1(parse_pqf(pqf)))}
    value.update(changes)
    return value


def present_value(result_set: str = "1", start: int = 1, count: int = 1, syntax: str | None = None,
                  element_set: str | None = None, **changes) -> dict:
    value = {"resultSetId": result_set, "resultSetStartPoint": start, "numberOfRecordsRequested": count}
    if element_set is not None:
        value["recordComposition"] = ("simple", ("genericElementSetName", element_set))
    if syntax is not None:
        value["preferredRecordSyntax"] = syntax
    value.update(changes)
    return value


def search(handler: Handler, pqf: str = HISTORY, **changes) -> dict:
    name, value = answer(handler, "searchRequest", search_value(pqf, **changes))
    assert name == "searchResponse"
    return value


def present(handler: Handler, **arguments) -> dict:
    name, value = answer(handler, "presentRequest", present_value(**arguments))
    assert name == "presentResponse"
    return value


def diagnostic(records: tuple) -> tuple[int, str]:
    kind, diag = records
    assert kind == "nonSurrogateDiagnostic"
    assert diag["diagnosticSetId"] == "1.2.840.10003.4.1"
    return diag["condition"], diag["addinfo"][1]


def search_fails(handler: Handler, code: int, pqf: str = HISTORY, **changes) -> str:
    value = search(handler, pqf, **changes)
    assert value["searchStatus"] is False
    assert value["resultSetStatus"] == 3 and value["resultCount"] == 0
    found, addinfo = diagnostic(value["records"])
    assert found == code, addinfo
    return addinfo


def present_fails(handler: Handler, code: int, **arguments) -> str:
    value = present(handler, **arguments)
    assert value["presentStatus"] == 5 and value["numberOfRecordsReturned"] == 0
    found, addinfo = diagnostic(value["records"])
    assert found == code, addinfo
    return addinfo


def expected_isns(catalog: Catalog, pqf: str, database: str = "unikat") -> list[int]:
    return catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database(database)).isns()


def records_of(value: dict) -> list:
    kind, records = value["records"]
    assert kind == "responseRecords"
    return records


def retrieval(entry: dict):
    kind, external = entry["record"]
    assert kind == "retrievalRecord"
    return decode_record(external)


def surrogate(entry: dict) -> int:
    kind, (form, diag) = entry["record"]
    assert (kind, form) == ("surrogateDiagnostic", "defaultFormat")
    return diag["condition"]


# -- Init ------------------------------------------------------------------------------------

def test_init_negotiates_options_and_sizes(catalog):
    handler = Handler(catalog, Limits(max_message_size=1 << 20, max_record_size=1 << 21))
    name, value = answer(handler, "initRequest", init_value(preferredMessageSize=100_000))
    assert name == "initResponse" and value["result"] is True
    assert value["implementationId"] == "unikat"
    assert value["implementationName"] and value["implementationVersion"]
    assert bit_string_positions(value["protocolVersion"]) == {0, 1, 2}
    assert bit_string_positions(value["options"]) == {Option.SEARCH, Option.PRESENT, Option.DEL_SET, Option.SCAN,
                                                      Option.SORT, Option.NAMED_RESULT_SETS}
    assert value["preferredMessageSize"] == 100_000
    assert value["exceptionalRecordSize"] == 1 << 21
    assert "otherInfo" not in value and "userInformationField" not in value


def test_init_offers_only_what_the_client_asked_for(catalog):
    handler = Handler(catalog)
    _, value = answer(handler, "initRequest", init_value(options=bit_string({0, 1, 10, 19}, 24)))
    assert bit_string_positions(value["options"]) == {Option.SEARCH, Option.PRESENT}


def test_init_echoes_reference_id(catalog):
    _, value = answer(Handler(catalog), "initRequest", init_value(referenceId=b"ref-7"))
    assert value["referenceId"] == b"ref-7"


def test_init_accepts_utf8_charset_negotiation(catalog):
    handler = Handler(catalog)
    _, value = answer(handler, "initRequest", captured("zoomsh-charset-01-c-initRequest"))
    assert Option.NEGOTIATION_MODEL in bit_string_positions(value["options"])
    negotiation = find_charset_negotiation(value)
    assert negotiation[0] == "response"
    assert negotiated_charsets(negotiation) == ["UTF-8"]
    assert negotiation[1]["recordsInSelectedCharSets"] is True
    assert handler.association.charset == "UTF-8"


def test_init_without_utf8_in_the_proposal_is_not_answered(catalog):
    from zserver.z3950.records import charset_proposal

    value = init_value(otherInfo=[charset_proposal(["ISO-8859-1"])], options=bit_string({0, 1, 17}, 24))
    _, response = answer(Handler(catalog), "initRequest", value)
    assert find_charset_negotiation(response) is None
    assert Option.NEGOTIATION_MODEL not in bit_string_positions(response["options"])


@pytest.mark.parametrize("credentials", [
    ("idPass", {"userId": "librarian", "password": "secret"}),
    ("idPass", {"groupId": "staff", "userId": "librarian", "password": "secret"}),
    ("open", "librarian/secret"),
])
def test_init_with_good_credentials(catalog, credentials):
    handler = Handler(catalog)
    _, value = answer(handler, "initRequest", init_value(idAuthentication=credentials))
    assert value["result"] is True
    assert handler.association.user == "librarian"


@pytest.mark.parametrize("credentials", [("anonymous", None), ("open", "")])
def test_init_anonymous(catalog, credentials):
    handler = Handler(catalog)
    assert answer(handler, "initRequest", init_value(idAuthentication=credentials))[1]["result"] is True
    assert handler.association.user is None


def init_diagnostic(value: dict) -> tuple[int, str]:
    """The diagnostic in a rejected InitResponse: userinfo-1 -> diag-1 -> DefaultDiagFormat."""
    external = value["userInformationField"]
    assert external["direct-reference"] == USERINFO_1
    units = decode_type("OtherInformation", external["encoding"][1])
    kind, inner = units[0]["information"]
    assert kind == "externallyDefinedInfo" and inner["direct-reference"] == Oid.DIAG1_FORMAT
    (entry,) = decode_type("DiagnosticFormat", inner["encoding"][1])
    form, diag = entry["diagnostic"]
    assert form == "defaultDiagRec"
    return diag["condition"], diag["addinfo"][1]


@pytest.mark.parametrize("init_pdu, credentials", [
    ("init-plain-01-c-initRequest", ("idPass", {"userId": "librarian", "password": "wrong"})),
    ("init-plain-01-c-initRequest", ("open", "librarian/wrong")),
    ("init-plain-01-c-initRequest", ("open", "nobody")),
    ("init-idpass-charset-01-c-initRequest", None),     # alice/secret, as yaz-client sent it
    ("init-open-auth-01-c-initRequest", None),          # open "opensesame"
])
def test_init_with_bad_credentials_is_rejected(catalog, init_pdu, credentials):
    value = captured(init_pdu)
    if credentials is not None:
        value["idAuthentication"] = credentials
    name, response = answer(Handler(catalog), "initRequest", value)
    assert name == "initResponse" and response["result"] is False
    code, addinfo = init_diagnostic(response)
    assert code == 1011
    assert addinfo in ("librarian", "nobody", "alice", "opensesame")


# -- Search ----------------------------------------------------------------------------------

def test_search_type_1(handler, catalog):
    value = search(handler)
    assert value == {"resultCount": len(expected_isns(catalog, HISTORY)), "numberOfRecordsReturned": 0,
                     "nextResultSetPosition": 1, "searchStatus": True}
    assert value["resultCount"] > 10
    assert handler.association.result_sets["1"].isns() == expected_isns(catalog, HISTORY)


def test_search_type_101_and_reference_id(handler, catalog):
    value = search(handler, query=("type-101", rpn_to_asn1(parse_pqf(HISTORY))), referenceId=b"abc")
    assert value["referenceId"] == b"abc"
    assert value["resultCount"] == len(expected_isns(catalog, HISTORY))


def test_search_captured_requests(handler):
    for name in ("search-rpn-03-c-searchRequest", "piggyback-03-c-searchRequest", "search-ccl-03-c-searchRequest"):
        value = search(handler, **captured(name))
        assert value["searchStatus"] is True


def test_search_type_2_ccl(handler, catalog):
    value = search(handler, query=("type-2", b"ti=history and au=smith"))
    assert value["resultCount"] == len(expected_isns(catalog, "@and @attr 1=4 history @attr 1=1003 smith"))
    assert value["resultCount"] >= 1


@pytest.mark.parametrize("ccl, code", [("ti=(history", 108), ("nosuch=history", 114), ("", 108)])
def test_search_type_2_errors(handler, ccl, code):
    search_fails(handler, code, query=("type-2", ccl.encode()))


def test_search_unsupported_query_type(handler):
    assert search_fails(handler, 107, query=("type-100", b"x")) == "100"


@pytest.mark.parametrize("pqf, code", [
    ("@attr 1=9999 history", 114),
    ("@attr 2=100 @attr 1=4 history", 117),
    ("@attr 9=1 history", 113),
    ("@attr gils 1=4 history", 121),
    ("@attr 1=31 @attr 4=4 nineteen", 126),
    ("@attr 1=7 0415", 125),
    ("@and @attr 1=4 history @set nosuch", 30),
])
def test_search_query_diagnostics(handler, pqf, code):
    search_fails(handler, code, pqf)


def test_search_database_diagnostics(handler):
    assert search_fails(handler, 109, databaseNames=["nosuch"]) == "nosuch"
    assert search_fails(handler, 111, databaseNames=["unikat", "A"]) == "1"
    search_fails(handler, 109, databaseNames=[])
    assert search_fails(handler, 236, databaseNames=["B"]) == "B"


def test_restricted_database_after_login(catalog):
    handler = Handler(catalog)
    credentials = ("idPass", {"userId": "librarian", "password": "secret"})
    answer(handler, "initRequest", init_value(idAuthentication=credentials))
    value = search(handler, databaseNames=["B"])
    assert value["resultCount"] == len(expected_isns(catalog, HISTORY, "B"))


def test_default_database_alias_and_library_view(handler, catalog):
    assert search(handler, databaseNames=["Default"])["resultCount"] == len(expected_isns(catalog, HISTORY))
    in_a = search(handler, databaseNames=["A"], resultSetName="a")["resultCount"]
    assert in_a == len(expected_isns(catalog, HISTORY, "A")) < len(expected_isns(catalog, HISTORY))


def test_named_result_sets_and_set_references(handler, catalog):
    search(handler, resultSetName="first")
    search(handler, "@attr 1=1003 smith", resultSetName="second")
    value = search(handler, "@or @set first @set second", resultSetName="both")
    expected = set(expected_isns(catalog, HISTORY)) | set(expected_isns(catalog, "@attr 1=1003 smith"))
    assert value["resultCount"] == len(expected)


def test_replace_indicator_off(handler):
    search(handler)
    assert search_fails(handler, 21, replaceIndicator=False) == "1"
    assert search(handler, replaceIndicator=False, resultSetName="2")["searchStatus"] is True


def test_result_sets_beyond_the_limit_drop_the_least_recently_used(handler):
    for number in range(5):
        search(handler, resultSetName=str(number))
    present(handler, resultSetId="0")                                     # set 0 is now the most recently used
    assert search(handler, resultSetName="5")["searchStatus"] is True
    assert search_fails(handler, 30, "@set 1", resultSetName="x") == "1"  # the least recently used went
    assert search(handler, "@set 0", resultSetName="6")["searchStatus"] is True
    assert len(handler.association.result_sets) == 5


def test_result_set_names_need_the_option(catalog):
    handler = Handler(catalog)
    answer(handler, "initRequest", init_value(options=bit_string({0, 1}, 24)))
    search_fails(handler, 22, resultSetName="1")
    assert search(handler, resultSetName="default")["searchStatus"] is True


def test_relevance_ranking(handler, catalog, monkeypatch):
    seen = []
    original = catalog.search

    def spy(node, database, result_sets=None, *, ranked=False):
        seen.append(ranked)
        return original(node, database, result_sets, ranked=ranked)

    monkeypatch.setattr(catalog, "search", spy)
    search(handler, "@attr 2=102 @attr 1=4 history")
    search(handler, "@and @attr 1=4 history @attr 2=102 @attr 1=21 history")
    search(handler)
    assert seen == [True, True, False]


# -- piggy-backed present --------------------------------------------------------------------

def test_small_set_gets_all_records(handler, catalog):
    pqf = "@attr 1=1003 smith"
    size = len(expected_isns(catalog, pqf))
    value = search(handler, pqf, smallSetUpperBound=size, largeSetLowerBound=size + 10,
                   smallSetElementSetNames=("genericElementSetName", "B"), preferredRecordSyntax=Oid.MARC21)
    assert value["numberOfRecordsReturned"] == size == len(records_of(value))
    assert value["nextResultSetPosition"] == size + 1 and value["presentStatus"] == 0
    first = retrieval(records_of(value)[0])
    assert first.syntax == Oid.MARC21
    assert {f.tag for f in parse(first.content).fields} <= {"001", "003", "005", "008", "020", "022", "100",
                                                             "110", "111", "245", "250", "260", "264"}


def test_medium_set_gets_medium_set_present_number(handler):
    value = search(handler, **captured("piggyback-03-c-searchRequest") | {"databaseNames": ["unikat"]})
    assert value["resultCount"] > 5
    assert value["numberOfRecordsReturned"] == 3 and value["nextResultSetPosition"] == 4


def test_large_set_gets_none(handler):
    value = search(handler, smallSetUpperBound=1, largeSetLowerBound=2, mediumSetPresentNumber=5)
    assert value["numberOfRecordsReturned"] == 0 and "records" not in value


def test_piggyback_problem_keeps_the_search(handler):
    value = search(handler, smallSetUpperBound=0, largeSetLowerBound=10_000, mediumSetPresentNumber=2,
                   preferredRecordSyntax=Oid.GRS1)
    assert value["searchStatus"] is True and value["resultCount"] > 0
    assert value["presentStatus"] == 5
    assert diagnostic(value["records"]) == (239, Oid.GRS1)
    assert "1" in handler.association.result_sets


# -- Present ---------------------------------------------------------------------------------

def test_present_usmarc_full_is_the_stored_record(handler, catalog):
    search(handler)
    value = present(handler, start=2, count=3, syntax=Oid.MARC21, element_set="F")
    assert value["numberOfRecordsReturned"] == 3 and value["nextResultSetPosition"] == 5
    assert value["presentStatus"] == 0
    isns = expected_isns(catalog, HISTORY)[1:4]
    stored = [title.marc for title in catalog.records(isns)]
    for entry, marc in zip(records_of(value), stored, strict=True):
        assert entry["name"] == "unikat"
        record = retrieval(entry)
        assert record.content[9:10] == b"a"
        assert record.content[:9] + record.content[10:] == marc[:9] + marc[10:]


def test_present_default_syntax_is_marc21(handler):
    search(handler)
    assert retrieval(records_of(present(handler))[0]).syntax == Oid.MARC21


@pytest.mark.parametrize("syntax", [Oid.XML, Oid.XML_APPLICATION])
def test_present_xml_is_marcxml(handler, catalog, syntax):
    search(handler)
    record = retrieval(records_of(present(handler, syntax=syntax))[0])
    root = etree.fromstring(record.content)
    assert root.tag == f"{{{MARCXML_NS}}}record"
    title = catalog.records(expected_isns(catalog, HISTORY)[:1])[0]
    wanted = parse(title.marc)["245"]["a"]
    assert wanted in [e.text for e in root.iter(f"{{{MARCXML_NS}}}subfield")]


def test_present_xml_brief(handler):
    search(handler)
    record = retrieval(records_of(present(handler, syntax=Oid.XML, element_set="b"))[0])
    tags = {e.get("tag") for e in etree.fromstring(record.content) if e.get("tag")}
    assert "245" in tags and not tags & {"300", "650", "852"}


def test_present_sutrs_is_isbd_with_holdings(handler, catalog):
    search(handler)
    full = retrieval(records_of(present(handler, syntax=Oid.SUTRS, element_set="F"))[0]).content
    brief = retrieval(records_of(present(handler, syntax=Oid.SUTRS, element_set="B"))[0]).content
    assert isinstance(full, str) and " — " in full
    assert "Held by: " in full and "Held by" not in brief
    title = catalog.records(expected_isns(catalog, HISTORY)[:1], with_holdings=True)[0]
    assert f"Held by: {title.holdings[0].library}" in full


def test_present_opac_has_holdings(handler, catalog):
    search(handler)
    record = retrieval(records_of(present(handler, syntax=Oid.OPAC))[0])
    assert record.syntax == Oid.OPAC
    bib = decode_record(record.content["bibliographicRecord"])
    assert bib.syntax == Oid.MARC21
    title = catalog.records(expected_isns(catalog, HISTORY)[:1], with_holdings=True)[0]
    holdings = [item for kind, item in record.content["holdingsData"]]
    assert len(holdings) == len(title.holdings) >= 1
    assert holdings[0]["nucCode"] == title.holdings[0].library
    assert holdings[0]["callNumber"] == title.holdings[0].call_number
    assert holdings[0]["localLocation"] == catalog.config.libraries[title.holdings[0].library].name


def test_present_opac_urls_go_into_public_note(handler, catalog):
    value = search(handler, "@attr 1=1031 ejournal", resultSetName="ej")
    assert value["resultCount"] > 0
    entries = records_of(present(handler, result_set="ej", count=value["resultCount"], syntax=Oid.OPAC))
    notes = [item.get("publicNote", "") for entry in entries
             for _, item in retrieval(entry).content["holdingsData"]]
    assert any("http" in note for note in notes)


def test_present_opac_in_a_library_view_shows_its_holdings_only(handler):
    search(handler, databaseNames=["A"])
    for entry in records_of(present(handler, count=5, syntax=Oid.OPAC)):
        assert entry["name"] == "A"
        assert {item["nucCode"] for _, item in retrieval(entry).content["holdingsData"]} == {"A"}


def test_present_clips_at_the_end_and_allows_zero(handler):
    size = search(handler)["resultCount"]
    value = present(handler, start=size - 1, count=10)
    assert value["numberOfRecordsReturned"] == 2 and value["nextResultSetPosition"] == size + 1
    assert present(handler, start=1, count=0)["numberOfRecordsReturned"] == 0


@pytest.mark.parametrize("arguments, code", [
    ({"start": 0}, 13),
    ({"start": 100_000}, 13),
    ({"count": -1}, 13),
    ({"result_set": "nosuch"}, 30),
    ({"syntax": Oid.GRS1}, 239),
    ({"element_set": "X"}, 25),
    ({"recordComposition": ("simple", ("databaseSpecific", [{"dbName": "unikat", "esn": "F"}]))}, 26),
    ({"recordComposition": ("complex", {"selectAlternativeSyntax": False})}, 244),
    ({"additionalRanges": [{"startingPosition": 5, "numberOfRecords": 1}]}, 243),
])
def test_present_diagnostics(handler, arguments, code):
    search(handler)
    present_fails(handler, code, **arguments)


def test_present_captured_requests(handler):
    search(handler)
    for name in ("present-usmarc-05-c-presentRequest", "present-xml-05-c-presentRequest",
                 "present-sutrs-05-c-presentRequest", "present-opac-05-c-presentRequest"):
        value = present(handler, **captured(name))
        assert value["presentStatus"] == 0 and value["numberOfRecordsReturned"] >= 1
    present_fails(handler, 13, **captured("diagnostics-05-c-presentRequest") | {"resultSetStartPoint": 5000})


def sizes(catalog: Catalog, count: int) -> list[int]:
    return [len(title.marc) for title in catalog.records(expected_isns(catalog, HISTORY)[:count])]


def test_present_stops_at_the_preferred_message_size(handler, catalog):
    first, second, third = sizes(catalog, 3)
    search(handler)
    handler.association.preferred_message_size = first + second + third - 1
    value = present(handler, count=3)
    assert value["presentStatus"] == 2    # partial-2
    assert value["numberOfRecordsReturned"] == 2 and value["nextResultSetPosition"] == 3


def test_record_over_preferred_size_alone_or_as_surrogate_16(handler, catalog):
    search(handler)
    handler.association.preferred_message_size = min(sizes(catalog, 2)) - 1
    handler.association.exceptional_record_size = 1 << 20
    alone = present(handler, count=1)
    assert retrieval(records_of(alone)[0]).syntax == Oid.MARC21
    several = present(handler, count=2)
    assert [surrogate(entry) for entry in records_of(several)] == [16, 16]


def test_record_over_exceptional_size_is_surrogate_17(handler, catalog):
    search(handler)
    handler.association.preferred_message_size = handler.association.exceptional_record_size = 100
    value = present(handler, count=1)
    assert [surrogate(entry) for entry in records_of(value)] == [17]


def test_record_deleted_since_the_search_is_surrogate_1028(handler, catalog, monkeypatch):
    search(handler)
    real = catalog.records
    monkeypatch.setattr(catalog, "records", lambda isns, with_holdings=False:
                        [None] + real(isns[1:], with_holdings=with_holdings))
    entries = records_of(present(handler, count=2))
    assert surrogate(entries[0]) == 1028
    assert retrieval(entries[1]).syntax == Oid.MARC21


def test_brief_marc_keeps_the_essentials(catalog):
    (title,) = catalog.records(expected_isns(catalog, "@attr 1=7 0719051673")[:1])
    full, brief = parse(title.marc), parse(brief_marc(title.marc))
    assert brief["001"].data == full["001"].data
    assert brief["245"]["a"] == full["245"]["a"]
    assert "c" not in [sub.code for sub in brief["245"].subfields]
    assert brief.get_fields("020") and not brief.get_fields("300")
    assert brief.leader[9] == "a"


# -- Scan ------------------------------------------------------------------------------------

def scan_value(term: str = "history", use: int = 4, count: int = 5, position: int = 1, **changes) -> dict:
    value = {"databaseNames": ["unikat"], "attributeSet": Oid.BIB1_ATTRIBUTES,
             "termListAndStartPoint": {"attributes": [{"attributeType": 1, "attributeValue": ("numeric", use)}],
                                       "term": ("general", term.encode())},
             "stepSize": 0, "numberOfTermsRequested": count, "preferredPositionInResponse": position}
    value.update(changes)
    return value


def scan(handler: Handler, *arguments, **changes) -> dict:
    name, value = answer(handler, "scanRequest", scan_value(*arguments, **changes))
    assert name == "scanResponse"
    return value


def test_scan_titles(handler, catalog):
    value = scan(handler, "history", count=5, position=2)
    entries, position = catalog.scan("title", "history", count=5, preferred_position=2)
    assert value["scanStatus"] == 0 and value["numberOfEntriesReturned"] == 5
    assert value["positionOfTerm"] == position
    got = [(info["term"][1].decode(), info["displayTerm"], info["globalOccurrences"])
           for kind, info in value["entries"]["entries"]]
    assert got == [(entry.term, entry.term, entry.count) for entry in entries]


def test_scan_captured_requests(handler):
    for name in ("scan-03-c-scanRequest", "scan-05-c-scanRequest", "zoomsh-charset-07-c-scanRequest"):
        value = scan(handler, **captured(name))
        assert value["scanStatus"] in (0, 5)


def test_scan_at_the_end_of_the_list_is_partial_5(handler):
    term = "\u9fff"     # walk to the end of the title list, 50 terms at a time
    for _ in range(100):
        value = scan(handler, term, count=50, position=1)
        if value["numberOfEntriesReturned"] < 50:
            break
        term = value["entries"]["entries"][-1][1]["displayTerm"]
    assert value["scanStatus"] == 5 and value["numberOfEntriesReturned"] < 50


def test_scan_zero_terms(handler):
    value = scan(handler, count=0, position=1)
    assert value["scanStatus"] == 0 and value["numberOfEntriesReturned"] == 0


@pytest.mark.parametrize("changes, code", [
    ({"stepSize": 1}, 205),
    ({"numberOfTermsRequested": 5000}, 1029),
    ({"numberOfTermsRequested": -1}, 228),
    ({"preferredPositionInResponse": 0}, 233),
    ({"preferredPositionInResponse": 7}, 233),
    ({"databaseNames": ["nosuch"]}, 109),
    ({"databaseNames": ["B"]}, 236),
    ({"attributeSet": "1.2.840.10003.3.5"}, 121),
    ({"termListAndStartPoint": {"attributes": [{"attributeType": 1, "attributeValue": ("numeric", 9999)}],
                                "term": ("general", b"x")}}, 114),
])
def test_scan_diagnostics(handler, changes, code):
    value = scan(handler, **changes)
    assert value["scanStatus"] == 6 and value["numberOfEntriesReturned"] == 0
    ((form, diag),) = value["entries"]["nonsurrogateDiagnostics"]
    assert diag["condition"] == code


# -- Sort ------------------------------------------------------------------------------------

def sort_spec(element: tuple, relation: int = 0, **changes) -> dict:
    return {"sortElement": ("generic", element), "sortRelation": relation, "caseSensitivity": 1,
            "missingValueAction": ("null", None), **changes}


def use(value: int | str) -> tuple:
    form = ("numeric", value) if isinstance(value, int) else ("complex", {"list": [("string", value)]})
    return ("sortAttributes", {"id": Oid.BIB1_ATTRIBUTES, "list": [{"attributeType": 1, "attributeValue": form}]})


def sort(handler: Handler, *specs: dict, inputs=("1",), output: str = "1") -> dict:
    name, value = answer(handler, "sortRequest", {"inputResultSetNames": list(inputs), "sortedResultSetName": output,
                                                  "sortSequence": list(specs)})
    assert name == "sortResponse"
    return value


@pytest.mark.parametrize("element, key", [
    (("sortfield", "title"), "title"), (("sortfield", "Date"), "year"), (use(4), "title"),
    (use(1003), "author"), (use(31), "year"), (use("author"), "author"),
])
@pytest.mark.parametrize("relation", [0, 1])
def test_sort_keys(handler, catalog, element, key, relation):
    search(handler)
    value = sort(handler, sort_spec(element, relation), output="sorted")
    assert value == {"sortStatus": 0, "resultCount": handler.association.result_sets["1"].size}
    expected = catalog.sort(handler.association.result_sets["1"], [SortKey.named(key, relation == 1)]).isns()
    assert handler.association.result_sets["sorted"].isns() == expected


def test_sort_by_relevance_and_captured_requests(handler):
    search(handler)
    relevance = ("sortAttributes", {"id": Oid.BIB1_ATTRIBUTES,
                                    "list": [{"attributeType": 2, "attributeValue": ("numeric", 102)}]})
    assert sort(handler, sort_spec(relevance))["sortStatus"] == 0
    assert sort(handler, sort_spec(("sortfield", "rank")))["sortStatus"] == 0
    for name in ("sort-05-c-sortRequest", "sort-07-c-sortRequest"):
        _, value = answer(handler, "sortRequest", captured(name))
        assert value["sortStatus"] == 0


def test_sort_in_place_keeps_the_titles(handler):
    search(handler)
    before = sorted(handler.association.result_sets["1"].isns())
    sort(handler, sort_spec(("sortfield", "author"), 1))
    assert sorted(handler.association.result_sets["1"].isns()) == before


def sort_fails(value: dict, code: int) -> None:
    assert value["sortStatus"] == 2
    ((form, diag),) = value["diagnostics"]
    assert diag["condition"] == code


@pytest.mark.parametrize("spec, code", [
    (sort_spec(("sortfield", "colour")), 207),
    (sort_spec(("elementSpec", {"elementSpec": ("elementSetName", "F")})), 207),
    (sort_spec(use(21)), 207),
    (sort_spec(use(4), 3), 214),
    (sort_spec(use(4), missingValueAction=("abort", None)), 213),
    (sort_spec(use(4), missingValueAction=("missingValueData", b"x")), 213),
    ({"sortElement": ("datbaseSpecific", [{"databaseName": "unikat", "dbSort": ("sortfield", "title")}]),
      "sortRelation": 0, "caseSensitivity": 0}, 210),
    (sort_spec(("sortAttributes", {"id": "1.2.840.10003.3.5", "list": []})), 121),
])
def test_sort_key_diagnostics(handler, spec, code):
    search(handler)
    sort_fails(sort(handler, spec), code)


def test_sort_set_diagnostics(handler):
    search(handler)
    sort_fails(sort(handler, sort_spec(use(4)), inputs=("nosuch",)), 30)
    sort_fails(sort(handler, sort_spec(use(4)), inputs=("1", "1")), 230)
    sort_fails(sort(handler, sort_spec(use(4)), inputs=()), 208)
    sort_fails(sort(handler), 207)
    sort_fails(sort(handler, *[sort_spec(use(4))] * 6), 211)
    for number in range(4):
        search(handler, resultSetName=f"s{number}")
    sort(handler, sort_spec(use(4)), output="sixth")
    assert len(handler.association.result_sets) == 5


# -- Delete, Extended Services, Close ---------------------------------------------------------

def delete(handler: Handler, *names: str, all_sets: bool = False) -> dict:
    value = {"deleteFunction": 1 if all_sets else 0}
    if names:
        value["resultSetList"] = list(names)
    name, response = answer(handler, "deleteResultSetRequest", value)
    assert name == "deleteResultSetResponse"
    return response


def test_delete_one_and_several(handler):
    for name in ("1", "2", "3"):
        search(handler, resultSetName=name)
    assert delete(handler, "1") == {"deleteOperationStatus": 0, "deleteListStatuses": [{"id": "1", "status": 0}]}
    assert delete(handler, "1") == {"deleteOperationStatus": 1, "deleteListStatuses": [{"id": "1", "status": 1}]}
    assert delete(handler, "2", "nosuch", "3") == {
        "deleteOperationStatus": 9,
        "deleteListStatuses": [{"id": "2", "status": 0}, {"id": "nosuch", "status": 1}, {"id": "3", "status": 0}]}
    assert handler.association.result_sets == {}
    present_fails(handler, 30)


def test_delete_all(handler):
    search(handler, resultSetName="a")
    search(handler, resultSetName="b")
    assert delete(handler, all_sets=True) == {"deleteOperationStatus": 0}
    assert handler.association.result_sets == {}


def test_delete_captured(handler):
    search(handler)
    assert delete(handler, *captured("delete-07-c-deleteResultSetRequest")["resultSetList"])["deleteOperationStatus"] == 0


def test_extended_services_are_refused(handler):
    name, value = answer(handler, "extendedServicesRequest", captured("itemorder-05-c-extendedServicesRequest"))
    assert name == "extendedServicesResponse" and value["operationStatus"] == 3
    ((form, diag),) = value["diagnostics"]
    assert diag["condition"] == 221


def test_close_by_client(handler):
    search(handler)
    name, value = answer(handler, "close", captured("init-plain-03-c-close"))
    assert name == "close" and value["closeReason"] == 0
    assert handler.association.result_sets == {}


# -- failures reported by the network layer ---------------------------------------------------

def test_failure_answers_each_request_kind(handler):
    system_error = Z3950Diagnostic(1, "internal error")
    requests = {"initRequest": init_value(), "searchRequest": search_value(), "presentRequest": present_value(),
                "scanRequest": scan_value(), "deleteResultSetRequest": {"deleteFunction": 1},
                "sortRequest": {"inputResultSetNames": ["1"], "sortedResultSetName": "1", "sortSequence": []},
                "extendedServicesRequest": captured("itemorder-05-c-extendedServicesRequest")}
    for name, value in requests.items():
        response = handler.failure(name, {**value, "referenceId": b"r"}, system_error)
        assert response.value["referenceId"] == b"r"
        encode_pdu(response.name, response.value)
    assert handler.failure("close", {"closeReason": 0}, system_error).value["closeReason"] == 2


def test_version_2_clients_get_v2_addinfo(catalog):
    handler = Handler(catalog)
    answer(handler, "initRequest", init_value(protocolVersion=bit_string({0, 1}, 8)))
    assert handler.association.version == 2
    value = search(handler, databaseNames=["nosuch"])
    assert value["records"][1]["addinfo"] == ("v2Addinfo", "nosuch")
