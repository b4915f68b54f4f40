"""The Z39.50 handler against a real catalog built from sample_data/ (real LC records of three
libraries and PICA+ e-journals): every service, every diagnostic path. Requests are typed PDUs
(`pdus.py`); every response is written with `to_asn1`, encoded and decoded again, so it also fits
our ASN.1 and reads back as the same PDU."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import RestrictedHome
from lxml import etree

from index.engines.base import SortKey
from index.kept import KeptAnswers
from index.records.formats import MARCXML_NS, parse
from index.search import Catalog
from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import Attribute, rpn_to_asn1
from zserver.z3950.attributes import rpn_to_query
from zserver.z3950.codec import decode_pdu, decode_type, encode_pdu
from zserver.z3950.diagnostics import Z3950Diagnostic
from zserver.z3950.handler import USERINFO_1, Handler, Limits, Option
from zserver.z3950.pdus import (
    Close,
    DeleteResultSetRequest,
    DeleteResultSetResponse,
    ExtendedServicesResponse,
    IdPass,
    InitResponse,
    ListStatus,
    Pdu,
    PresentRequest,
    PresentResponse,
    Range,
    ScanRequest,
    ScanResponse,
    SearchRequest,
    SearchResponse,
    SortAttributes,
    SortKeySpec,
    SortRequest,
    SortResponse,
    from_asn1,
    to_asn1,
)
from zserver.z3950.present import brief_marc
from zserver.z3950.records import Oid, charset_negotiation, decode_record, negotiated_charsets
from zserver.z3950.state import RESPONSE_TO

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
HISTORY = "@attr 1=4 history"


def captured(name: str):
    return from_asn1(*decode_pdu((PDUS / f"{name}.ber").read_bytes()))


@pytest.fixture(scope="module")
def catalog(sample_home):
    opened = Catalog(RestrictedHome(sample_home.root))
    yield opened
    opened.close()


def answer(handler: Handler, request: Pdu) -> Pdu:
    response = handler.handle(request)
    assert from_asn1(*decode_pdu(encode_pdu(*to_asn1(response.pdu)))) == response.pdu
    assert response.summary
    return response.pdu


def init_request(**changes):
    return dataclasses.replace(captured("init-plain-01-c-initRequest"), **changes)


@pytest.fixture()
def handler(catalog) -> Handler:
    opened = Handler(catalog, Limits(max_result_sets=5))
    assert answer(opened, init_request()).result is True
    return opened


def search_request(pqf: str = HISTORY, **changes) -> SearchRequest:
    request = SearchRequest(small_set_upper_bound=0, large_set_lower_bound=1, medium_set_present_number=0,
                            replace_indicator=True, result_set_name="1", database_names=("unikat",),
                            query=("type-1", rpn_to_asn1(parse_pqf(pqf))))
    return dataclasses.replace(request, **changes)


def present_request(result_set: str = "1", start: int = 1, count: int = 1, syntax: str | None = None,
                    element_set: str | None = None, *, request: PresentRequest | None = None,
                    **changes) -> PresentRequest:
    if request is None:
        composition = None if element_set is None else ("simple", ("genericElementSetName", element_set))
        request = PresentRequest(result_set_id=result_set, result_set_start_point=start,
                                 number_of_records_requested=count, record_composition=composition,
                                 preferred_record_syntax=syntax)
    return dataclasses.replace(request, **changes)


def search(handler: Handler, pqf: str = HISTORY, *, request: SearchRequest | None = None,
           **changes) -> SearchResponse:
    response = answer(handler, dataclasses.replace(request, **changes) if request else search_request(pqf, **changes))
    assert isinstance(response, SearchResponse)
    return response


def present(handler: Handler, **arguments) -> PresentResponse:
    response = answer(handler, present_request(**arguments))
    assert isinstance(response, PresentResponse)
    return response


def diagnostic(records: tuple) -> tuple[int, str]:
    kind, diag = records
    assert kind == "nonSurrogateDiagnostic"
    assert diag["diagnosticSetId"] == "1.2.840.10003.4.1"
    return diag["condition"], diag["addinfo"][1]


def search_fails(handler: Handler, code: int, pqf: str = HISTORY, **changes) -> str:
    value = search(handler, pqf, **changes)
    assert value.search_status is False
    assert value.result_set_status == 3 and value.result_count == 0
    found, addinfo = diagnostic(value.records)
    assert found == code, addinfo
    return addinfo


def present_fails(handler: Handler, code: int, **arguments) -> str:
    value = present(handler, **arguments)
    assert value.present_status == 5 and value.number_of_records_returned == 0
    found, addinfo = diagnostic(value.records)
    assert found == code, addinfo
    return addinfo


def expected_isns(catalog: Catalog, pqf: str, database: str = "unikat") -> list[int]:
    return catalog.search(rpn_to_query(parse_pqf(pqf)), catalog.database(database)).isns()


def records_of(value: SearchResponse | PresentResponse) -> list:
    kind, records = value.records
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
    value = answer(handler, init_request(preferred_message_size=100_000))
    assert isinstance(value, InitResponse) and value.result is True
    assert value.implementation_id == "unikat"
    assert value.implementation_name and value.implementation_version
    assert value.protocol_version == {0, 1, 2}
    assert value.options == {Option.SEARCH, Option.PRESENT, Option.DEL_SET, Option.SCAN,
                             Option.SORT, Option.NAMED_RESULT_SETS, Option.EXTENDED_SERVICES}
    assert value.preferred_message_size == 100_000
    assert value.exceptional_record_size == 1 << 21
    assert value.other_info is None and value.user_information_field is None


def test_init_offers_only_what_the_client_asked_for(catalog):
    handler = Handler(catalog)
    value = answer(handler, init_request(options=frozenset({0, 1, 10, 19})))
    assert value.options == {Option.SEARCH, Option.PRESENT, Option.EXTENDED_SERVICES}


def test_init_echoes_reference_id(catalog):
    value = answer(Handler(catalog), init_request(reference_id=b"ref-7"))
    assert value.reference_id == b"ref-7"


def test_init_accepts_utf8_charset_negotiation(catalog):
    handler = Handler(catalog)
    value = answer(handler, captured("zoomsh-charset-01-c-initRequest"))
    assert Option.NEGOTIATION_MODEL in value.options
    negotiation = charset_negotiation(value.other_info, value.user_information_field)
    assert negotiation[0] == "response"
    assert negotiated_charsets(negotiation) == ["UTF-8"]
    assert negotiation[1]["recordsInSelectedCharSets"] is True
    assert handler.association.charset == "UTF-8"


def test_init_without_utf8_in_the_proposal_is_not_answered(catalog):
    from zserver.z3950.records import charset_proposal

    value = init_request(other_info=(charset_proposal(["ISO-8859-1"]),), options=frozenset({0, 1, 17}))
    response = answer(Handler(catalog), value)
    assert charset_negotiation(response.other_info, response.user_information_field) is None
    assert Option.NEGOTIATION_MODEL not in response.options


@pytest.mark.parametrize("credentials", [
    ("idPass", IdPass(user_id="librarian", password="secret")),
    ("idPass", IdPass(group_id="staff", user_id="librarian", password="secret")),
    ("open", "librarian/secret"),
])
def test_init_with_good_credentials(catalog, credentials):
    handler = Handler(catalog)
    value = answer(handler, init_request(id_authentication=credentials))
    assert value.result is True
    assert handler.association.user == "librarian"


@pytest.mark.parametrize("credentials", [("anonymous", None), ("open", "")])
def test_init_anonymous(catalog, credentials):
    handler = Handler(catalog)
    assert answer(handler, init_request(id_authentication=credentials)).result is True
    assert handler.association.user is None


def init_diagnostic(value: InitResponse) -> tuple[int, str]:
    """The diagnostic in a rejected InitResponse: userinfo-1 -> diag-1 -> DefaultDiagFormat."""
    external = value.user_information_field
    assert external["direct-reference"] == USERINFO_1
    units = decode_type("OtherInformation", external["encoding"][1])
    kind, inner = units[0]["information"]
    assert kind == "externallyDefinedInfo" and inner["direct-reference"] == Oid.DIAG1_FORMAT
    (entry,) = decode_type("DiagnosticFormat", inner["encoding"][1])
    form, diag = entry["diagnostic"]
    assert form == "defaultDiagRec"
    return diag["condition"], diag["addinfo"][1]


@pytest.mark.parametrize("init_pdu, credentials", [
    ("init-plain-01-c-initRequest", ("idPass", IdPass(user_id="librarian", password="wrong"))),
    ("init-plain-01-c-initRequest", ("open", "librarian/wrong")),
    ("init-plain-01-c-initRequest", ("open", "nobody")),
    ("init-idpass-charset-01-c-initRequest", None),     # alice/secret, as yaz-client sent it
    ("init-open-auth-01-c-initRequest", None),          # open "opensesame"
])
def test_init_with_bad_credentials_is_rejected(catalog, init_pdu, credentials):
    value = captured(init_pdu)
    if credentials is not None:
        value = dataclasses.replace(value, id_authentication=credentials)
    response = answer(Handler(catalog), value)
    assert isinstance(response, InitResponse) and response.result is False
    code, addinfo = init_diagnostic(response)
    assert code == 1011
    assert addinfo in ("librarian", "nobody", "alice", "opensesame")


# -- Search ----------------------------------------------------------------------------------

def test_search_type_1(handler, catalog):
    value = search(handler)
    assert value == SearchResponse(result_count=len(expected_isns(catalog, HISTORY)), number_of_records_returned=0,
                                   next_result_set_position=1, search_status=True)
    assert value.result_count > 10
    assert handler.association.result_sets["1"].isns() == expected_isns(catalog, HISTORY)


def test_search_type_101_and_reference_id(handler, catalog):
    value = search(handler, query=("type-101", rpn_to_asn1(parse_pqf(HISTORY))), reference_id=b"abc")
    assert value.reference_id == b"abc"
    assert value.result_count == len(expected_isns(catalog, HISTORY))


def test_search_captured_requests(handler):
    for name in ("search-rpn-03-c-searchRequest", "piggyback-03-c-searchRequest", "search-ccl-03-c-searchRequest"):
        value = search(handler, request=captured(name))
        assert value.search_status is True


def test_search_type_2_ccl(handler, catalog):
    value = search(handler, query=("type-2", b"ti=history and au=smith"))
    assert value.result_count == len(expected_isns(catalog, "@and @attr 1=4 history @attr 1=1003 smith"))
    assert value.result_count >= 1


@pytest.mark.parametrize("ccl, code", [("ti=(history", 108), ("nosuch=history", 114), ("", 108),
                                       ("(" * 1_000_000 + "history", 11)])   # held the parser 25 s at 4 MB
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
    assert search_fails(handler, 109, database_names=("nosuch",)) == "nosuch"
    assert search_fails(handler, 111, database_names=("unikat", "A")) == "1"
    search_fails(handler, 109, database_names=())
    assert search_fails(handler, 236, database_names=("B",)) == "B"


def test_restricted_database_after_login(catalog):
    handler = Handler(catalog)
    credentials = ("idPass", IdPass(user_id="librarian", password="secret"))
    answer(handler, init_request(id_authentication=credentials))
    value = search(handler, database_names=("B",))
    assert value.result_count == len(expected_isns(catalog, HISTORY, "B"))


def test_default_database_alias_and_library_view(handler, catalog):
    assert search(handler, database_names=("Default",)).result_count == len(expected_isns(catalog, HISTORY))
    in_a = search(handler, database_names=("A",), result_set_name="a").result_count
    assert in_a == len(expected_isns(catalog, HISTORY, "A")) < len(expected_isns(catalog, HISTORY))


def test_named_result_sets_and_set_references(handler, catalog):
    search(handler, result_set_name="first")
    search(handler, "@attr 1=1003 smith", result_set_name="second")
    value = search(handler, "@or @set first @set second", result_set_name="both")
    expected = set(expected_isns(catalog, HISTORY)) | set(expected_isns(catalog, "@attr 1=1003 smith"))
    assert value.result_count == len(expected)


def test_a_query_nested_too_deep_gets_bib1_6(handler):
    # as yaz-client builds a long OR (left-deep): 200 operators deep are answered, 201 refused
    words = [f"w{number}" for number in range(202)]
    assert search(handler, "@or " * 200 + " ".join(words[:201])).search_status is True
    assert "200" in search_fails(handler, 6, "@or " * 201 + " ".join(words))


def test_replace_indicator_off(handler):
    search(handler)
    assert search_fails(handler, 21, replace_indicator=False) == "1"
    assert search(handler, replace_indicator=False, result_set_name="2").search_status is True


def test_result_sets_beyond_the_limit_drop_the_least_recently_used(handler):
    for number in range(5):
        search(handler, result_set_name=str(number))
    present(handler, result_set_id="0")                                     # set 0 is now the most recently used
    assert search(handler, result_set_name="5").search_status is True
    assert search_fails(handler, 27, "@set 1", result_set_name="x") == "1"  # the least recently used went
    assert search(handler, "@set 0", result_set_name="6").search_status is True
    assert len(handler.association.result_sets) == 5


def test_a_set_the_limit_dropped_is_deleted_by_the_target(handler):
    # Bib-1 27 "result set no longer exists - unilaterally deleted by target", not 30 (never existed)
    for number in range(6):
        search(handler, result_set_name=str(number))   # the limit is 5: set 0 goes
    assert present_fails(handler, 27, result_set_id="0") == "0"
    present_fails(handler, 30, result_set_id="never")
    assert delete(handler, "0", "never") == DeleteResultSetResponse(
        delete_operation_status=9, delete_list_statuses=(ListStatus("0", 2), ListStatus("never", 1)))
    present_fails(handler, 30, result_set_id="0")   # the client was told; the name is free again
    search(handler, result_set_name="0")
    assert present(handler, result_set_id="0").present_status == 0


def test_a_failed_search_costs_no_result_set(handler):
    for number in range(6):
        search(handler, result_set_name=str(number))   # the limit is 5: set 0 goes
    kept = set(handler.association.result_sets)
    # named like the dropped set and using it: 27, and no other set evicted for a search that failed
    assert search_fails(handler, 27, "@set 0", result_set_name="0") == "0"
    assert search_fails(handler, 114, "@attr 1=9999 x", result_set_name="new") == "9999"
    assert set(handler.association.result_sets) == kept


def test_result_set_names_need_the_option(catalog):
    handler = Handler(catalog)
    answer(handler, init_request(options=frozenset({0, 1})))
    search_fails(handler, 22, result_set_name="1")
    assert search(handler, result_set_name="default").search_status is True


def test_relevance_ranking(handler, catalog, monkeypatch):
    seen = []
    original = catalog.engine.search

    def spy(node, resolve, *, ranked=False):
        seen.append(ranked)
        return original(node, resolve, ranked=ranked)

    monkeypatch.setattr(catalog.engine, "search", spy)
    monkeypatch.setattr(catalog, "kept_searches", KeptAnswers(0))   # no search given again from the kept ones
    search(handler, "@attr 2=102 @attr 1=4 history")
    search(handler, "@and @attr 1=4 history @attr 2=102 @attr 1=21 history")
    search(handler)
    assert seen == [True, True, False]


# -- piggy-backed present --------------------------------------------------------------------

def test_small_set_gets_all_records(handler, catalog):
    pqf = "@attr 1=1003 smith"
    size = len(expected_isns(catalog, pqf))
    value = search(handler, pqf, small_set_upper_bound=size, large_set_lower_bound=size + 10,
                   small_set_element_set_names=("genericElementSetName", "B"), preferred_record_syntax=Oid.MARC21)
    assert value.number_of_records_returned == size == len(records_of(value))
    assert value.next_result_set_position == size + 1 and value.present_status == 0
    first = retrieval(records_of(value)[0])
    assert first.syntax == Oid.MARC21
    assert {f.tag for f in parse(first.content).fields} <= {"001", "003", "005", "008", "020", "022", "100",
                                                             "110", "111", "245", "250", "260", "264"}


def test_medium_set_gets_medium_set_present_number(handler):
    value = search(handler, request=captured("piggyback-03-c-searchRequest"), database_names=("unikat",))
    assert value.result_count > 5
    assert value.number_of_records_returned == 3 and value.next_result_set_position == 4


def test_large_set_gets_none(handler):
    value = search(handler, small_set_upper_bound=1, large_set_lower_bound=2, medium_set_present_number=5)
    assert value.number_of_records_returned == 0 and value.records is None


def test_piggyback_problem_keeps_the_search(handler):
    value = search(handler, small_set_upper_bound=0, large_set_lower_bound=10_000, medium_set_present_number=2,
                   preferred_record_syntax=Oid.GRS1)
    assert value.search_status is True and value.result_count > 0
    assert value.present_status == 5
    assert diagnostic(value.records) == (239, Oid.GRS1)
    assert "1" in handler.association.result_sets


# -- Present ---------------------------------------------------------------------------------

def test_present_usmarc_full_is_the_stored_record(handler, catalog):
    search(handler)
    value = present(handler, start=2, count=3, syntax=Oid.MARC21, element_set="F")
    assert value.number_of_records_returned == 3 and value.next_result_set_position == 5
    assert value.present_status == 0
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


def test_present_html_is_not_xml(handler):
    # 1.2.840.10003.5.109.3 is text/html in the OID register (yaz-client's `format html`): no MARCXML under it
    search(handler)
    html = "1.2.840.10003.5.109.3"
    assert diagnostic(present(handler, syntax=html).records) == (239, html)


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
    value = search(handler, "@attr 1=1031 ejournal", result_set_name="ej")
    assert value.result_count > 0
    entries = records_of(present(handler, result_set="ej", count=value.result_count, syntax=Oid.OPAC))
    notes = [item.get("publicNote", "") for entry in entries
             for _, item in retrieval(entry).content["holdingsData"]]
    assert any("http" in note for note in notes)


def test_present_opac_in_a_library_view_shows_its_holdings_only(handler):
    search(handler, database_names=("A",))
    for entry in records_of(present(handler, count=5, syntax=Oid.OPAC)):
        assert entry["name"] == "A"
        assert {item["nucCode"] for _, item in retrieval(entry).content["holdingsData"]} == {"A"}


def test_present_clips_at_the_end_and_allows_zero(handler):
    size = search(handler).result_count
    value = present(handler, start=size - 1, count=10)
    assert value.number_of_records_returned == 2 and value.next_result_set_position == size + 1
    assert present(handler, start=1, count=0).number_of_records_returned == 0


@pytest.mark.parametrize("arguments, code", [
    ({"start": 0}, 13),
    ({"start": 100_000}, 13),
    ({"count": -1}, 13),
    ({"result_set": "nosuch"}, 30),
    ({"syntax": Oid.GRS1}, 239),
    ({"element_set": "X"}, 25),
    ({"record_composition": ("simple", ("databaseSpecific", [{"dbName": "unikat", "esn": "F"}]))}, 26),
    ({"record_composition": ("complex", {"selectAlternativeSyntax": False})}, 244),
    ({"additional_ranges": (Range(5, 1),)}, 243),
])
def test_present_diagnostics(handler, arguments, code):
    search(handler)
    present_fails(handler, code, **arguments)


def test_present_captured_requests(handler):
    search(handler)
    for name in ("present-usmarc-05-c-presentRequest", "present-xml-05-c-presentRequest",
                 "present-sutrs-05-c-presentRequest", "present-opac-05-c-presentRequest"):
        value = present(handler, request=captured(name))
        assert value.present_status == 0 and value.number_of_records_returned >= 1
    present_fails(handler, 13, request=captured("diagnostics-05-c-presentRequest"), result_set_start_point=5000)


def sizes(catalog: Catalog, count: int) -> list[int]:
    return [len(title.marc) for title in catalog.records(expected_isns(catalog, HISTORY)[:count])]


def test_present_stops_at_the_preferred_message_size(handler, catalog):
    first, second, third = sizes(catalog, 3)
    search(handler)
    handler.association.preferred_message_size = first + second + third - 1
    value = present(handler, count=3)
    assert value.present_status == 2    # partial-2
    assert value.number_of_records_returned == 2 and value.next_result_set_position == 3


@pytest.mark.parametrize("preferred", range(2_000, 6_000, 250))
def test_a_present_response_fits_the_preferred_message_size_with_its_wrappers(handler, preferred):
    """Records alone were counted: 10,000 JSON records made a 4.5 MB answer past a 4 MB limit.
    Many small records (brief SUTRS) make the wrappers count."""
    search(handler, "@attr 1=4 the")
    handler.association.preferred_message_size = preferred
    value = present(handler, count=100, syntax="1.2.840.10003.5.101", element_set="B")
    assert value.number_of_records_returned >= 1
    assert len(encode_pdu(*to_asn1(value))) <= preferred


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

def scan_request(term: str = "history", use: int = 4, count: int = 5, position: int = 1, *,
                 request: ScanRequest | None = None, **changes) -> ScanRequest:
    if request is None:
        request = ScanRequest(
            database_names=("unikat",), attribute_set=Oid.BIB1_ATTRIBUTES,
            term_list_and_start_point={"attributes": [{"attributeType": 1, "attributeValue": ("numeric", use)}],
                                       "term": ("general", term.encode())},
            step_size=0, number_of_terms_requested=count, preferred_position_in_response=position)
    return dataclasses.replace(request, **changes)


def scan(handler: Handler, *arguments, **changes) -> ScanResponse:
    response = answer(handler, scan_request(*arguments, **changes))
    assert isinstance(response, ScanResponse)
    return response


def test_scan_titles(handler, catalog):
    value = scan(handler, "history", count=5, position=2)
    entries, position = catalog.scan("title", "history", count=5, preferred_position=2)
    assert value.scan_status == 0 and value.number_of_entries_returned == 5
    assert value.position_of_term == position
    got = [(info["term"][1].decode(), info["displayTerm"], info["globalOccurrences"])
           for kind, info in value.entries["entries"]]
    assert got == [(entry.term, entry.display, entry.count) for entry in entries]
    assert any(display != term for term, display, _ in got)   # headings as catalogued, not keys


def test_scan_captured_requests(handler):
    for name in ("scan-03-c-scanRequest", "scan-05-c-scanRequest", "zoomsh-charset-07-c-scanRequest"):
        value = scan(handler, request=captured(name))
        assert value.scan_status in (0, 5)


def test_scan_at_the_end_of_the_list_is_partial_5(handler):
    term = "\u9fff"     # walk to the end of the title list, 50 terms at a time
    for _ in range(100):
        value = scan(handler, term, count=50, position=1)
        if value.number_of_entries_returned < 50:
            break
        term = value.entries["entries"][-1][1]["displayTerm"]
    assert value.scan_status == 5 and value.number_of_entries_returned < 50


def test_scan_zero_terms(handler):
    value = scan(handler, count=0, position=1)
    assert value.scan_status == 0 and value.number_of_entries_returned == 0


@pytest.mark.parametrize("changes, code", [
    ({"step_size": 1}, 205),
    ({"number_of_terms_requested": 5000}, 1029),
    ({"number_of_terms_requested": -1}, 228),
    ({"preferred_position_in_response": 0}, 233),
    ({"preferred_position_in_response": 7}, 233),
    ({"database_names": ("nosuch",)}, 109),
    ({"database_names": ("B",)}, 236),
    ({"attribute_set": "1.2.840.10003.3.5"}, 121),
    ({"term_list_and_start_point": {"attributes": [{"attributeType": 1, "attributeValue": ("numeric", 9999)}],
                                    "term": ("general", b"x")}}, 114),
])
def test_scan_diagnostics(handler, changes, code):
    value = scan(handler, **changes)
    assert value.scan_status == 6 and value.number_of_entries_returned == 0
    ((form, diag),) = value.entries["nonsurrogateDiagnostics"]
    assert diag["condition"] == code


def test_scan_of_an_index_searched_but_not_scanned_names_its_use_attribute(handler):
    # 1=1032 (the title number) is searched, not scanned: 114 names 1032 as asked, not the index inside
    value = scan(handler, "12", use=1032)
    ((form, diag),) = value.entries["nonsurrogateDiagnostics"]
    assert (diag["condition"], diag["addinfo"][1]) == (114, "1032")


# -- Sort ------------------------------------------------------------------------------------

def sort_spec(element: tuple, relation: int = 0, **changes) -> SortKeySpec:
    return dataclasses.replace(SortKeySpec(("generic", element), relation, 1, ("null", None)), **changes)


def use(value: int | str) -> tuple:
    """A Bib-1 Use sort key; a str value is the complex form with one string (`@attr 1=author`)."""
    return ("sortAttributes", SortAttributes(Oid.BIB1_ATTRIBUTES, (Attribute(1, value),)))


def sort(handler: Handler, *specs: SortKeySpec, inputs=("1",), output: str = "1") -> SortResponse:
    response = answer(handler, SortRequest(input_result_set_names=tuple(inputs), sorted_result_set_name=output,
                                           sort_sequence=specs))
    assert isinstance(response, SortResponse)
    return response


@pytest.mark.parametrize("element, key", [
    (("sortfield", "title"), "title"), (("sortfield", "Date"), "year"), (use(4), "title"),
    (use(1003), "author"), (use(31), "year"), (use("author"), "author"),
])
@pytest.mark.parametrize("relation", [0, 1])
def test_sort_keys(handler, catalog, element, key, relation):
    search(handler)
    value = sort(handler, sort_spec(element, relation), output="sorted")
    assert value == SortResponse(sort_status=0, result_count=handler.association.result_sets["1"].size)
    expected = catalog.sort(handler.association.result_sets["1"], [SortKey.named(key, relation == 1)]).isns()
    assert handler.association.result_sets["sorted"].isns() == expected


def test_sort_by_relevance_and_captured_requests(handler):
    search(handler)
    relevance = ("sortAttributes", SortAttributes(Oid.BIB1_ATTRIBUTES, (Attribute(2, 102),)))
    assert sort(handler, sort_spec(relevance)).sort_status == 0
    assert sort(handler, sort_spec(("sortfield", "rank"))).sort_status == 0
    for name in ("sort-05-c-sortRequest", "sort-07-c-sortRequest"):
        assert answer(handler, captured(name)).sort_status == 0


def test_sort_in_place_keeps_the_titles(handler):
    search(handler)
    before = sorted(handler.association.result_sets["1"].isns())
    sort(handler, sort_spec(("sortfield", "author"), 1))
    assert sorted(handler.association.result_sets["1"].isns()) == before


def sort_fails(value: SortResponse, code: int) -> None:
    assert value.sort_status == 2
    ((form, diag),) = value.diagnostics
    assert diag["condition"] == code


@pytest.mark.parametrize("spec, code", [
    (sort_spec(("sortfield", "colour")), 207),
    (sort_spec(("elementSpec", {"elementSpec": ("elementSetName", "F")})), 207),
    (sort_spec(use(21)), 207),
    (sort_spec(use(4), 3), 214),
    (sort_spec(use(4), missing_value_action=("abort", None)), 213),
    (sort_spec(use(4), missing_value_action=("missingValueData", b"x")), 213),
    (SortKeySpec(("datbaseSpecific", [{"databaseName": "unikat", "dbSort": ("sortfield", "title")}]), 0, 0), 210),
    (sort_spec(("sortAttributes", SortAttributes("1.2.840.10003.3.5", ()))), 121),
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
        search(handler, result_set_name=f"s{number}")
    sort(handler, sort_spec(use(4)), output="sixth")
    assert len(handler.association.result_sets) == 5


# -- Delete, Extended Services, Close ---------------------------------------------------------

def delete(handler: Handler, *names: str, all_sets: bool = False) -> DeleteResultSetResponse:
    request = DeleteResultSetRequest(delete_function=1 if all_sets else 0, result_set_list=names or None)
    response = answer(handler, request)
    assert isinstance(response, DeleteResultSetResponse)
    return response


def test_delete_one_and_several(handler):
    for name in ("1", "2", "3"):
        search(handler, result_set_name=name)
    assert delete(handler, "1") == DeleteResultSetResponse(delete_operation_status=0,
                                                           delete_list_statuses=(ListStatus("1", 0),))
    assert delete(handler, "1") == DeleteResultSetResponse(delete_operation_status=1,
                                                           delete_list_statuses=(ListStatus("1", 1),))
    assert delete(handler, "2", "nosuch", "3") == DeleteResultSetResponse(
        delete_operation_status=9,
        delete_list_statuses=(ListStatus("2", 0), ListStatus("nosuch", 1), ListStatus("3", 0)))
    assert handler.association.result_sets == {}
    present_fails(handler, 30)


def test_delete_all(handler):
    search(handler, result_set_name="a")
    search(handler, result_set_name="b")
    assert delete(handler, all_sets=True) == DeleteResultSetResponse(delete_operation_status=0)
    assert handler.association.result_sets == {}


def test_delete_captured(handler):
    search(handler)
    assert answer(handler, captured("delete-07-c-deleteResultSetRequest")).delete_operation_status == 0


def test_an_item_order_without_an_ill_login_is_refused(handler):
    # yaz-client's `itemorder ill 1`; the association has no ILL account's login (index.ill)
    value = answer(handler, captured("itemorder-05-c-extendedServicesRequest"))
    assert isinstance(value, ExtendedServicesResponse) and value.operation_status == 3
    ((form, diag),) = value.diagnostics
    assert diag["condition"] == 1004


def test_extended_services_other_than_item_order_are_refused(handler):
    # Export Specification (9.6); Update (9.5.1.1) is offered now (zserver/z3950/update.py)
    request = dataclasses.replace(captured("itemorder-05-c-extendedServicesRequest"), package_type="1.2.840.10003.9.6")
    ((form, diag),) = answer(handler, request).diagnostics
    assert diag["condition"] == 221


def test_close_by_client(handler):
    search(handler)
    value = answer(handler, captured("init-plain-03-c-close"))
    assert isinstance(value, Close) and value.close_reason == 0
    assert handler.association.result_sets == {}


# -- failures reported by the network layer ---------------------------------------------------

def test_failure_answers_each_request_kind(handler):
    system_error = Z3950Diagnostic(1, "internal error")
    requests = [init_request(), search_request(), present_request(), scan_request(),
                DeleteResultSetRequest(delete_function=1),
                SortRequest(input_result_set_names=("1",), sorted_result_set_name="1", sort_sequence=()),
                captured("itemorder-05-c-extendedServicesRequest")]
    for request in requests:
        response = handler.failure(dataclasses.replace(request, reference_id=b"r"), system_error)
        assert type(response.pdu) is RESPONSE_TO[type(request)]
        assert response.pdu.reference_id == b"r"
        encode_pdu(*to_asn1(response.pdu))
    assert handler.failure(Close(close_reason=0), system_error).pdu.close_reason == 2


def test_version_2_clients_get_v2_addinfo(catalog):
    handler = Handler(catalog)
    answer(handler, init_request(protocol_version=frozenset({0, 1})))
    assert handler.association.version == 2
    value = search(handler, database_names=("nosuch",))
    assert value.records[1]["addinfo"] == ("v2Addinfo", "nosuch")


# -- restricted libraries' holdings (B is restricted in this catalog) -----------------------

HELD_BY_B = "@attr 1=56 B"


def by_isn(isns: list[int]) -> str:
    """A PQF query for exactly these titles, naming no library (a client not logged in may not)."""
    query = f"@attr 1=1032 {isns[0]}"
    for isn in isns[1:]:
        query = f"@or {query} @attr 1=1032 {isn}"
    return query


def signed_in(catalog: Catalog) -> Handler:
    handler = Handler(catalog)
    credentials = ("idPass", IdPass(user_id="librarian", password="secret"))
    assert answer(handler, init_request(id_authentication=credentials)).result is True
    return handler


def libraries_shown(handler: Handler, syntax: str, count: int) -> set[str]:
    """The library codes in OPAC holdings, SUTRS "Held by" lines or MARC 852 $a of the first `count` records."""
    found: set[str] = set()
    for entry in records_of(present(handler, count=count, syntax=syntax, element_set="F")):
        record = retrieval(entry)
        if syntax == Oid.OPAC:
            found |= {item["nucCode"] for _, item in record.content["holdingsData"]}
            record = decode_record(record.content["bibliographicRecord"])
        if syntax == Oid.SUTRS:
            found |= {line.split(":", 1)[1].split()[0] for line in record.content.splitlines()
                      if line.startswith("Held by:")}
        else:
            found |= {field.get("a", "").strip() for field in parse(record.content).get_fields("852")}
    return found


@pytest.mark.parametrize("syntax", [Oid.OPAC, Oid.SUTRS, Oid.MARC21])
def test_union_records_leave_out_restricted_holdings_without_login(handler, catalog, syntax):
    held = by_isn(expected_isns(catalog, HELD_BY_B)[:10])
    count = search(handler, held).result_count
    assert count == min(10, len(expected_isns(catalog, HELD_BY_B))) > 0
    anonymous = libraries_shown(handler, syntax, count)
    assert "B" not in anonymous
    librarian = signed_in(catalog)
    search(librarian, held)
    assert "B" in libraries_shown(librarian, syntax, count)
    if syntax == Oid.OPAC:   # the others' holdings stay
        assert anonymous


def test_restricted_holdings_stay_out_of_other_library_views(handler, catalog):
    both = expected_isns(catalog, "@and @attr 1=56 A @attr 1=56 B", "A")[:10]
    assert both
    search(handler, by_isn(both), database_names=("A",))
    assert libraries_shown(handler, Oid.OPAC, len(both)) == {"A"}


@pytest.mark.parametrize("pqf", [HELD_BY_B, "@attr 1=56 @attr 5=1 b", "@and @attr 1=4 history @attr 1=56 b"])
def test_naming_a_restricted_library_needs_a_login(handler, catalog, pqf):
    # a library term would count the restricted library's titles: 236 without a login
    assert search_fails(handler, 236, pqf)
    assert search(signed_in(catalog), pqf).search_status is True
    assert search(handler, "@attr 1=56 A").result_count > 0     # an open library stays searchable


def test_a_scan_of_the_library_index_leaves_out_restricted_libraries_without_login(handler, catalog):
    def terms(client: Handler) -> set[bytes]:
        return {entry[1]["term"][1] for entry in scan(client, "a", use=56, count=10).entries["entries"]}

    assert b"a" in terms(handler) and b"b" not in terms(handler)
    assert b"b" in terms(signed_in(catalog))


def test_restricted_database_scans_after_login(handler, catalog):
    assert scan(handler, database_names=("B",)).scan_status == 6     # 236, see test_scan_diagnostics
    assert scan(signed_in(catalog), database_names=("B",)).scan_status == 0
