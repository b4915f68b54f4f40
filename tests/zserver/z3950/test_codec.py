"""The Z39.50 BER codec against real PDUs captured from yaz-client, zoomsh and
yaz-ztest (tests/data/pdus/, recorded by tests/data/pdus/capture.py)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from zserver.querylang.errors import MAX_QUERY_DEPTH
from zserver.z3950 import codec, fastber
from zserver.z3950.codec import (
    CodecError,
    Framer,
    FramingError,
    PduTooLargeError,
    TooManyElementsError,
    UnknownPduError,
    bit_string,
    bit_string_positions,
    decode_pdu,
    decode_type,
    encode_pdu,
    find_pdu_end,
)
from zserver.z3950.records import (
    DecodedRecord,
    Oid,
    charset_proposal,
    charset_response,
    decode_record,
    default_diagnostic,
    find_charset_negotiation,
    marc21_record,
    name_plus_record,
    negotiated_charsets,
    opac_record,
    surrogate_diagnostic,
    sutrs_record,
    xml_record,
)

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
CAPTURED = sorted(PDUS.glob("*.ber"))


def pdu(name: str) -> bytes:
    return (PDUS / f"{name}.ber").read_bytes()


def decoded(name: str) -> dict:
    return decode_pdu(pdu(name))[1]


def test_captures_are_present():
    assert len(CAPTURED) >= 60


# ------------------------------------------------ every captured PDU


@pytest.mark.parametrize("path", CAPTURED, ids=lambda path: path.stem)
def test_captured_pdu_decodes_as_named(path):
    name, value = decode_pdu(path.read_bytes())
    assert path.stem.endswith(f"-{name}")
    assert isinstance(value, dict)


@pytest.mark.parametrize("path", CAPTURED, ids=lambda path: path.stem)
def test_captured_pdu_round_trips(path):
    name, value = decode_pdu(path.read_bytes())
    encoded = encode_pdu(name, value)
    assert decode_pdu(encoded) == (name, value)
    assert find_pdu_end(encoded) == len(encoded)


@pytest.mark.parametrize("path", CAPTURED, ids=lambda path: path.stem)
def test_framing_whole_and_with_trailing_bytes(path):
    data = path.read_bytes()
    assert find_pdu_end(data) == len(data)
    assert find_pdu_end(data + b"\xbf\x30") == len(data)
    assert find_pdu_end(data + data) == len(data)


@pytest.mark.parametrize("path", CAPTURED, ids=lambda path: path.stem)
def test_framing_one_byte_at_a_time(path):
    data = path.read_bytes()
    for size in range(len(data)):
        assert find_pdu_end(data[:size]) is None
    assert find_pdu_end(data) == len(data)


def test_framing_cuts_a_stream_of_all_captures():
    stream = b"".join(path.read_bytes() for path in CAPTURED)
    names = []
    while stream:
        end = find_pdu_end(stream)
        names.append(decode_pdu(stream[:end])[0])
        stream = stream[end:]
    assert len(names) == len(CAPTURED)


# ------------------------------------------- what yaz sends, in detail


def test_init_plain_options_and_versions():
    init = decoded("init-plain-01-c-initRequest")
    assert bit_string_positions(init["protocolVersion"]) == {0, 1, 2}
    # search present delSet triggerResourceCtrl scan sort extendedServices namedResultSets
    assert bit_string_positions(init["options"]) == {0, 1, 2, 4, 7, 8, 10, 14}
    assert init["preferredMessageSize"] == 64 * 1024 * 1024
    assert init["implementationName"] == "YAZ"
    assert "idAuthentication" not in init


def test_init_authentication_forms():
    assert decoded("init-open-auth-01-c-initRequest")["idAuthentication"] == ("open", "opensesame")
    assert decoded("init-idpass-charset-01-c-initRequest")["idAuthentication"] == (
        "idPass", {"userId": "alice", "password": "secret"})
    assert decoded("init-group-charset-lang-01-c-initRequest")["idAuthentication"] == (
        "idPass", {"groupId": "staff", "userId": "alice", "password": "secret"})


def test_init_charset_negotiation_proposal_from_yaz_client_and_zoom():
    for name in ("init-idpass-charset-01-c-initRequest", "zoomsh-charset-01-c-initRequest"):
        init = decoded(name)
        assert 17 in bit_string_positions(init["options"])  # negotiationModel
        negotiation = find_charset_negotiation(init)
        assert negotiation == ("proposal", {
            "proposedCharSets": [("iso10646", {"encodingLevel": Oid.UTF8})],
            "recordsInSelectedCharSets": True})
        assert negotiated_charsets(negotiation) == ["UTF-8"]
        # our helper builds the same negotiation (bytes differ: yaz writes TRUE as 01, asn1tools as FF)
        assert find_charset_negotiation({"otherInfo": [charset_proposal(["UTF-8"])]}) == negotiation


def test_init_charset_proposal_with_language():
    negotiation = find_charset_negotiation(decoded("init-group-charset-lang-01-c-initRequest"))
    assert negotiation[1]["proposedlanguages"] == ["eng"]


def test_init_charset_response_from_yaz_ztest_is_private_by_name():
    response = decoded("init-idpass-charset-02-s-initResponse")
    assert response["result"] is True
    negotiation = find_charset_negotiation(response)
    assert negotiation[0] == "response"
    assert negotiated_charsets(negotiation) == ["ISO-8859-1"]
    assert negotiation[1]["recordsInSelectedCharSets"] is False


def test_init_without_negotiation():
    assert find_charset_negotiation(decoded("init-plain-01-c-initRequest")) is None


def rpn(name: str):
    query = decoded(name)["query"]
    assert query[0] == "type-1"
    assert query[1]["attributeSet"] == Oid.BIB1_ATTRIBUTES
    return query[1]["rpn"]


def test_search_all_six_attribute_types():
    assert rpn("search-rpn-03-c-searchRequest") == ("op", ("attrTerm", {
        "attributes": [{"attributeType": kind, "attributeValue": ("numeric", value)}
                       for kind, value in ((6, 1), (5, 100), (4, 2), (3, 3), (2, 3), (1, 4))],
        "term": ("general", b"computer")}))


def test_search_boolean_tree():
    kind, tree = rpn("search-rpn-05-c-searchRequest")
    assert kind == "rpnRpnOp"
    assert tree["op"] == ("and", None)
    assert tree["rpn2"][1]["op"] == ("or", None)
    assert tree["rpn2"][1]["rpn2"] == ("op", ("attrTerm", {"attributes": [], "term": ("general", b"zimmerman")}))
    assert rpn("search-rpn-07-c-searchRequest")[1]["op"] == ("and-not", None)


def test_search_proximity():
    # find @prox 0 3 1 2 k 2 a b
    assert rpn("search-rpn-09-c-searchRequest")[1]["op"] == ("prox", {
        "exclusion": False, "distance": 3, "ordered": True, "relationType": 2,
        "proximityUnitCode": ("known", 2)})
    # find @prox 1 5 0 4 p 7 ...
    assert rpn("search-rpn-11-c-searchRequest")[1]["op"] == ("prox", {
        "exclusion": True, "distance": 5, "ordered": False, "relationType": 4,
        "proximityUnitCode": ("private", 7)})


def test_search_complex_attribute_and_attribute_set_per_element():
    attributes = rpn("search-rpn-13-c-searchRequest")[1][1]["attributes"]
    assert attributes[1] == {"attributeType": 1, "attributeValue": ("complex", {"list": [("string", "title")]})}
    attributes = rpn("search-rpn-15-c-searchRequest")[1][1]["attributes"]
    assert attributes == [{"attributeSet": Oid.EXP1_ATTRIBUTES, "attributeType": 1,
                           "attributeValue": ("numeric", 1)}]


def test_search_numeric_and_utf8_terms():
    assert rpn("search-rpn-19-c-searchRequest")[1][1]["term"] == ("numeric", 1999)
    term = rpn("search-rpn-21-c-searchRequest")[1][1]["term"]
    assert term[1].decode("utf-8") == "grüße aus köln"


def test_search_result_set_operand_and_names():
    request = decoded("search-rpn-25-c-searchRequest")
    assert request["query"][1]["rpn"][1]["rpn1"] == ("op", ("resultSet", "10"))
    assert request["resultSetName"] == "default"
    assert request["databaseNames"] == ["Default"]


def test_search_ccl_is_type_2():
    assert decoded("search-ccl-03-c-searchRequest")["query"] == ("type-2", b"ti=computer and au=knuth")


def test_search_piggyback_request_and_response():
    request = decoded("piggyback-03-c-searchRequest")
    bounds = request["smallSetUpperBound"], request["largeSetLowerBound"], request["mediumSetPresentNumber"]
    assert bounds == (5, 100, 3)
    assert request["mediumSetElementSetNames"] == ("genericElementSetName", "B")
    assert request["preferredRecordSyntax"] == Oid.MARC21
    response = decoded("piggyback-04-s-searchResponse")
    assert (response["resultCount"], response["numberOfRecordsReturned"]) == (23, 3)
    kind, records = response["records"]
    assert kind == "responseRecords" and len(records) == 3
    record = decode_record(records[0]["record"][1])
    assert record.syntax == Oid.MARC21
    assert record.content.startswith(b"00366nam")


def test_search_response_plain_and_diagnostic():
    assert decoded("search-rpn-04-s-searchResponse") == {
        "resultCount": 23, "numberOfRecordsReturned": 0, "nextResultSetPosition": 1, "searchStatus": True}
    response = decoded("diagnostics-08-s-searchResponse")
    assert response["searchStatus"] is False
    assert response["resultSetStatus"] == 3
    assert response["records"] == ("nonSurrogateDiagnostic", {
        "diagnosticSetId": Oid.BIB1_DIAGNOSTICS, "condition": 109, "addinfo": ("v2Addinfo", "nosuchdb")})


def test_present_requests_name_syntax_and_element_set():
    request = decoded("present-usmarc-05-c-presentRequest")
    assert request == {"resultSetId": "1", "resultSetStartPoint": 1, "numberOfRecordsRequested": 2,
                       "recordComposition": ("simple", ("genericElementSetName", "F")),
                       "preferredRecordSyntax": Oid.MARC21}
    assert decoded("present-xml-05-c-presentRequest")["preferredRecordSyntax"] == Oid.XML
    assert decoded("present-sutrs-05-c-presentRequest")["preferredRecordSyntax"] == Oid.SUTRS
    assert decoded("present-opac-05-c-presentRequest")["preferredRecordSyntax"] == Oid.OPAC


def present_records(name: str) -> list[DecodedRecord]:
    kind, records = decoded(name)["records"]
    assert kind == "responseRecords"
    assert all(record["name"] == "Default" for record in records)
    return [decode_record(record["record"][1]) for record in records]


def test_present_response_marc21_xml_sutrs():
    marc = present_records("present-usmarc-06-s-presentResponse")
    assert [len(record.content) for record in marc] == [366, 366]
    (xml,) = present_records("present-xml-06-s-presentResponse")
    assert xml.syntax == Oid.XML
    assert xml.content.startswith(b'<record xmlns="http://www.loc.gov/MARC21/slim">')
    (sutrs,) = present_records("present-sutrs-06-s-presentResponse")
    assert sutrs == DecodedRecord(Oid.SUTRS, "This is dummy SUTRS record number 1\n")


def test_present_response_opac_with_holdings():
    opac = present_records("present-opac-06-s-presentResponse")[0]
    assert opac.syntax == Oid.OPAC
    bibliographic = decode_record(opac.content["bibliographicRecord"])
    assert bibliographic.syntax == Oid.MARC21
    assert bibliographic.content.endswith(b"\x1e\x1d")
    (holding,) = opac.content["holdingsData"]
    assert holding == ("holdingsAndCirc", {
        "typeOfRecord": "u", "encodingLevel": "u", "receiptAcqStatus": "0", "dateOfReport": "000000",
        "nucCode": "s-FM/GC", "localLocation": "Main or Science/Business Reading Rms - STORED OFFSITE",
        "callNumber": "MLCM 89/00602 (N)", "shelvingData": "FT MEADE", "copyNumber": "Copy 1",
        "circulationData": [{"availableNow": True, "itemId": "1226176", "renewable": False, "onHold": False}]})


def test_present_out_of_range_diagnostic():
    response = decoded("diagnostics-06-s-presentResponse")
    assert response["presentStatus"] == 5
    assert response["records"][1]["condition"] == 13


def test_scan_request_and_responses():
    request = decoded("scan-03-c-scanRequest")
    assert request["termListAndStartPoint"] == {
        "attributes": [{"attributeType": 1, "attributeValue": ("numeric", 4)}], "term": ("general", b"computer")}
    assert (request["numberOfTermsRequested"], request["preferredPositionInResponse"], request["stepSize"]) == (5, 2, 0)
    response = decoded("scan-04-s-scanResponse")
    entries = response["entries"]["entries"]
    assert entries[1] == ("termInfo", {"term": ("general", b"COMPUTER"), "globalOccurrences": 23})
    assert response["numberOfEntriesReturned"] == len(entries) == 5
    entries = decoded("scan-06-s-scanResponse")["entries"]["entries"]
    diagnostic = {"diagnosticSetId": Oid.BIB1_DIAGNOSTICS, "condition": 233,
                  "addinfo": ("v2Addinfo", "SD for Scan Term")}
    assert ("surrogateDiagnostic", ("defaultFormat", diagnostic)) in entries


def test_sort_requests():
    (key,) = decoded("sort-05-c-sortRequest")["sortSequence"]
    assert key == {"sortElement": ("generic", ("sortAttributes", {
        "id": Oid.BIB1_ATTRIBUTES, "list": [{"attributeType": 1, "attributeValue": ("numeric", 4)}]})),
        "sortRelation": 0, "caseSensitivity": 1, "missingValueAction": ("null", None)}
    request = decoded("sort-07-c-sortRequest")
    assert request["inputResultSetNames"] == ["1"] and request["sortedResultSetName"] == "1"
    assert request["sortSequence"][0]["sortElement"] == ("generic", ("sortfield", "title"))
    assert request["sortSequence"][0]["sortRelation"] == 1
    assert decoded("sort-06-s-sortResponse") == {"sortStatus": 0}


def test_delete_and_close():
    assert decoded("delete-07-c-deleteResultSetRequest") == {"deleteFunction": 0, "resultSetList": ["1"]}
    assert decoded("delete-08-s-deleteResultSetResponse") == {
        "deleteOperationStatus": 0, "deleteListStatuses": [{"id": "1", "status": 0}]}
    assert decoded("init-plain-03-c-close") == {"closeReason": 0}
    assert decoded("init-plain-04-s-close") == {"closeReason": 0,
                                                "diagnosticInformation": "Association terminated by client"}


def test_extended_services_task_parameters_are_externals():
    order = decoded("itemorder-05-c-extendedServicesRequest")
    assert order["packageType"] == order["taskSpecificParameters"]["direct-reference"] == Oid.ES_ITEM_ORDER
    assert order["taskSpecificParameters"]["encoding"][0] == "single-ASN1-type"
    update = decoded("update-03-c-extendedServicesRequest")
    assert update["packageType"] == Oid.ES_UPDATE
    # yaz-client sent the EXTERNAL's content with indefinite lengths (a1 80);
    # asn1tools cannot read those inside ANY, so the codec re-encodes them
    assert b"\xa1\x80" in pdu("update-03-c-extendedServicesRequest")
    payload = update["taskSpecificParameters"]["encoding"][1]
    assert payload[:2] == b"\xa1\x82"
    assert "Grüße aus Köln".encode() in payload
    response = decoded("update-04-s-extendedServicesResponse")
    assert response["operationStatus"] == 1
    assert response["taskPackage"]["direct-reference"] == Oid.ES_TASK_PACKAGE


# ------------------------------------------------------------ framing


@pytest.mark.parametrize("garbage, reason", [
    (b"GET / HTTP/1.1\r\n", "not a Z39.50 PDU"),
    (b"\x30\x03\x02\x01\x00", "not a Z39.50 PDU"),   # universal SEQUENCE
    (b"\x94\x01\x00", "not a Z39.50 PDU"),           # primitive [20]
    (b"\xb4\x85\x01\x00\x00\x00\x00", "length of length"),
    (b"\xb4\xff", "reserved length"),
    (b"\xb4\x80\x83\x80", "indefinite length on a primitive"),
    (b"\xb4\x80\x00\x05", "end-of-contents"),
    (b"\xbf\xff\xff\xff\xff\xff\x7f\x00", "tag number too long"),
    (b"\xb4\x80" + b"\xa0\x80" * 300, "nested too deep"),
])
def test_framing_rejects_garbage(garbage, reason):
    with pytest.raises(FramingError, match=reason):
        find_pdu_end(garbage)
    with pytest.raises(CodecError):
        decode_pdu(garbage)


def test_framing_refuses_oversize_definite_pdu_before_it_arrives():
    header = b"\xb6\x84\x7f\xff\xff\xff"  # searchRequest declaring 2 GiB
    with pytest.raises(PduTooLargeError):
        find_pdu_end(header, max_size=1024)


@pytest.mark.parametrize("name", ["present-opac-06-s-presentResponse", "present-usmarc-06-s-presentResponse",
                                  "present-sutrs-06-s-presentResponse"])
def test_framing_refuses_oversize_pdu(name):
    data = pdu(name)
    assert find_pdu_end(data, max_size=len(data)) == len(data)
    with pytest.raises(PduTooLargeError):
        find_pdu_end(data, max_size=len(data) - 1)


def test_framing_refuses_endless_indefinite_pdu_once_past_the_limit():
    stream = b"\xb4\x80" + b"\x83\x01\x00" * 400  # no end-of-contents yet
    assert find_pdu_end(stream[:900], max_size=1000) is None
    with pytest.raises(PduTooLargeError):
        find_pdu_end(stream, max_size=1000)


def _values_in(data: bytes, pos: int = 0, end: int | None = None) -> int:
    """How many BER values `data[pos:end]` holds, counted by a plain recursive walk."""
    end = len(data) if end is None else end
    count = 0
    while pos < end:
        if end - pos >= 2 and data[pos] == 0 and data[pos + 1] == 0:
            return count        # end-of-contents of the enclosing indefinite value
        first = data[pos]
        pos += 1
        if first & 0x1F == 0x1F:
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        length = data[pos]
        pos += 1
        count += 1
        if length == 0x80:
            inner = _values_in(data, pos, end)
            count += inner
            pos = _after_indefinite(data, pos)
            continue
        if length > 0x80:
            octets = length & 0x7F
            length = int.from_bytes(data[pos:pos + octets], "big")
            pos += octets
        if first & 0x20:
            count += _values_in(data, pos, pos + length)
        pos += length
    return count


def _after_indefinite(data: bytes, pos: int) -> int:
    framer = Framer(max_size=1 << 40, max_elements=None)
    framer.receive_data(b"\xa0\x80" + data[pos:])
    return pos + framer.pdu_end() - 2


@pytest.mark.parametrize("chunk", [1, 7, 100, 1024])
def test_framer_cuts_a_stream_of_all_captures_in_any_chunks(chunk):
    stream = b"".join(path.read_bytes() for path in CAPTURED)
    framer = Framer(max_elements=10_000)
    found = []
    for start in range(0, len(stream), chunk):
        framer.receive_data(stream[start:start + chunk])
        while (data := framer.next_pdu()) is not None:
            found.append(data)
    assert found == [path.read_bytes() for path in CAPTURED]
    assert framer.next_pdu() is None


@pytest.mark.parametrize("path", CAPTURED, ids=lambda path: path.stem)
def test_framer_counts_every_value_of_a_pdu_it_must_walk(path):
    # a limit below half the PDU's size makes the framer walk it instead of skipping it
    data = path.read_bytes()
    values = _values_in(data)
    assert 1 < values <= len(data) // 2
    exact = Framer(max_elements=values)
    exact.receive_data(data)
    assert exact.next_pdu() == data
    one_less = Framer(max_elements=values - 1)
    one_less.receive_data(data)
    with pytest.raises(TooManyElementsError, match=f"more than {values - 1} BER values"):
        one_less.next_pdu()


def test_framer_skips_a_small_definite_pdu_by_its_length():
    # 04 00 x 10: ten values the framer does not count, since 24 bytes cannot hold 13
    data = b"\xb6\x14" + b"\x04\x00" * 10
    framer = Framer(max_elements=12)
    framer.receive_data(data[:5])
    assert framer.next_pdu() is None
    framer.receive_data(data[5:] + data[:1])
    assert framer.next_pdu() == data
    assert framer.next_pdu() is None


@pytest.mark.parametrize("stream, error, reason", [
    (b"\xb6\x0a" + b"\x04\x00" * 5, TooManyElementsError, "more than 4 BER values"),          # definite, walked
    (b"\xb6\x80" + b"\x04\x00" * 5, TooManyElementsError, "more than 4 BER values"),          # indefinite
    (b"\xb6\x80\xa0\x0a" + b"\x04\x00" * 5, TooManyElementsError, "more than 4 BER values"),  # definite inside
    (b"\xb6\x08\xa0\x07" + b"\x04\x00" * 3, FramingError, "overruns"),               # walked: child > parent
    (b"\xb6\x08\xa0\x80\x04\x04abcd", FramingError, "overruns"),    # walked: unended indefinite child
])
def test_framer_refuses_too_many_values_and_overruns(stream, error, reason):
    framer = Framer(max_elements=4)
    framer.receive_data(stream)
    with pytest.raises(error, match=reason):
        framer.next_pdu()


@pytest.mark.parametrize("garbage, reason", [
    (b"GET / HTTP/1.1\r\n", "not a Z39.50 PDU"),
    (b"\xb4\x80\x00\x05", "end-of-contents"),
    (b"\xb4\x80" + b"\xa0\x80" * 300, "nested too deep"),
])
def test_framer_rejects_garbage_fed_a_byte_at_a_time(garbage, reason):
    framer = Framer()
    with pytest.raises(FramingError, match=reason):
        for byte in garbage:
            framer.receive_data(bytes([byte]))
            assert framer.next_pdu() is None


def _outcome(framer: Framer, data: bytes, pieces: list[int]) -> object:
    """The framer's answer for `data` fed in pieces of the given sizes: the PDU's end, or the
    class of its error."""
    start = 0
    try:
        for size in pieces:
            framer.receive_data(data[start:start + size])
            start += size
            if (end := framer.pdu_end()) is not None:
                return end
        framer.receive_data(data[start:])
        return framer.pdu_end()
    except FramingError as error:
        return type(error)


def test_framer_answers_alike_however_mutated_captures_are_cut():
    """Broken PDUs (captures with bytes changed, inserted or cut) framed whole and in random
    pieces, counting values or not: the same end or the same error; without a value limit, the
    same as find_pdu_end."""
    rng = random.Random(16)
    seeds = [path.read_bytes() for path in CAPTURED]
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(0, 3)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.5:
                data[at] = rng.choice([0x00, 0x80, 0x82, 0xA0, 0x30, 0x04, rng.randrange(256)])
            elif choice < 0.7:
                data.insert(at, rng.choice([0x00, 0x80, 0xA0]))
            else:
                del data[at:at + rng.randint(1, 4)]
        data = bytes(data)
        pieces = [rng.randint(1, 9) for _ in range(len(data))]
        limit = rng.choice([None, rng.randint(2, 60)])
        whole = _outcome(Framer(max_elements=limit), data, [])
        assert _outcome(Framer(max_elements=limit), data, pieces) == whole, (data.hex(), limit)
        if limit is None:
            try:
                assert find_pdu_end(data) == whole
            except FramingError as error:
                assert type(error) is whole


def test_framer_reads_each_byte_once_however_the_stream_is_cut(monkeypatch):
    """An endless indefinite-length PDU of empty OCTET STRINGs fed in 1 KB pieces: the headers
    read grow with the values, not with values times pieces (issue 16: quadratic framing)."""
    reads = 0
    real = codec._read_header

    def counting(buf, offset):
        nonlocal reads
        reads += 1
        return real(buf, offset)

    monkeypatch.setattr(codec, "_read_header", counting)
    values = 300_000
    stream = b"\xb4\x80" + b"\x04\x00" * values
    framer = Framer(max_size=len(stream) + 2, max_elements=values + 1)
    pieces = 0
    for start in range(0, len(stream), 1024):
        framer.receive_data(stream[start:start + 1024])
        pieces += 1
        assert framer.next_pdu() is None
    framer.receive_data(b"\x00\x00")
    assert framer.next_pdu() == stream + b"\x00\x00"
    assert reads <= values + 1 + 2 * pieces


# ------------------------------------------------------ decode errors


@pytest.mark.parametrize("path", CAPTURED[::7], ids=lambda path: path.stem)
def test_truncated_pdu_is_a_codec_error(path):
    data = path.read_bytes()
    with pytest.raises(CodecError, match="truncated"):
        decode_pdu(data[:-1])


def test_trailing_bytes_are_a_codec_error():
    with pytest.raises(CodecError, match="after the PDU"):
        decode_pdu(pdu("init-plain-03-c-close") + b"\x00")


def test_unknown_pdu_tag():
    access_control = b"\xbc\x04\x85\x02\x00\x01"  # [28] accessControlRequest
    assert find_pdu_end(access_control) == len(access_control)
    with pytest.raises(UnknownPduError) as error:
        decode_pdu(access_control)
    assert error.value.tag == 28
    segment = b"\xbf\x2d\x03\x98\x01\x00"  # [45] segmentRequest
    with pytest.raises(UnknownPduError):
        decode_pdu(segment)


@pytest.mark.parametrize("data", [
    b"\xbf\x30\x03\x02\x01\x00",                    # close with INTEGER instead of [211]
    b"\xb6\x00",                                     # empty searchRequest
    b"\xbf\x30\x05\x9f\x81\x53\x05\x00",              # closeReason overruns the close
    b"\xb4\x03\x83\x01\x00",                         # initRequest with only a protocolVersion
])
def test_malformed_content_is_a_codec_error(data):
    with pytest.raises(CodecError) as error:
        decode_pdu(data)
    assert len(str(error.value)) <= 300


def test_encode_errors_are_codec_errors():
    with pytest.raises(CodecError):
        encode_pdu("close", {})
    with pytest.raises(CodecError):
        encode_pdu("noSuchPdu", {"closeReason": 0})
    with pytest.raises(CodecError):
        encode_pdu("close", {"closeReason": "finished"})


# ------------------------------------------------ strings and charsets


def test_international_strings_are_utf8_both_ways():
    data = encode_pdu("close", {"closeReason": 2, "diagnosticInformation": "Grüße"})
    assert "Grüße".encode() in data
    assert decode_pdu(data)[1]["diagnosticInformation"] == "Grüße"


def test_latin1_from_an_old_client_is_kept_readable():
    data = b"\xbf\x30\x0a\x9f\x81\x53\x01\x00\x83\x03\x4b\xf6\x6c"  # "Köl" in Latin-1
    assert decode_pdu(data)[1]["diagnosticInformation"] == "Köl"


def test_non_ascii_visible_string_from_a_server_is_read():
    # yaz-ztest puts the failing term or database into v2Addinfo (a VisibleString)
    response = {"resultCount": 0, "numberOfRecordsReturned": 0, "nextResultSetPosition": 0, "searchStatus": False,
                "records": ("nonSurrogateDiagnostic", {"diagnosticSetId": Oid.BIB1_DIAGNOSTICS, "condition": 109,
                                                       "addinfo": ("v2Addinfo", "K__ln")})}
    data = encode_pdu("searchResponse", response).replace(b"\x1a\x05K__ln", "\x1a\x05Köln".encode())
    assert decode_pdu(data)[1]["records"][1]["addinfo"] == ("v2Addinfo", "Köln")
    latin1 = data.replace("\x1a\x05Köln".encode(), b"\x1a\x05K\xf6ln!")
    assert decode_pdu(latin1)[1]["records"][1]["addinfo"] == ("v2Addinfo", "Köln!")


def test_charset_can_be_latin1():
    data = encode_pdu("close", {"closeReason": 0, "diagnosticInformation": "Köln"}, charset="latin-1")
    assert b"K\xf6ln" in data
    assert decode_pdu(data, charset="latin-1")[1]["diagnosticInformation"] == "Köln"


# -------------------------------------------- building what we answer


def test_init_response_with_charset_negotiation_round_trips():
    options = bit_string([0, 1, 2, 7, 8, 10, 14, 17], 24)
    response = {
        "protocolVersion": bit_string([0, 1, 2], 8), "options": options,
        "preferredMessageSize": 1 << 20, "exceptionalRecordSize": 1 << 22, "result": True,
        "implementationId": "unikat", "implementationName": "unikat", "implementationVersion": "0.1",
        "otherInfo": [charset_response("UTF-8", records_in_selected_charsets=True)],
    }
    name, value = decode_pdu(encode_pdu("initResponse", response))
    assert bit_string_positions(value["options"]) == {0, 1, 2, 7, 8, 10, 14, 17}
    negotiation = find_charset_negotiation(value)
    assert negotiation == ("response", {"selectedCharSets": ("iso10646", {"encodingLevel": Oid.UTF8}),
                                        "recordsInSelectedCharSets": True})
    assert negotiated_charsets(negotiation) == ["UTF-8"]
    assert negotiated_charsets(find_charset_negotiation(
        decode_pdu(encode_pdu("initResponse", {**response, "otherInfo": [charset_response(None)]}))[1])) == []


def test_charset_negotiation_in_user_information_field():
    external = charset_proposal(["ISO-8859-1", "UTF-8"])["information"][1]
    init = {"protocolVersion": bit_string([0, 1, 2]), "options": bit_string([0, 1]),
            "preferredMessageSize": 1024, "exceptionalRecordSize": 1024, "userInformationField": external}
    negotiation = find_charset_negotiation(decode_pdu(encode_pdu("initRequest", init))[1])
    assert negotiated_charsets(negotiation) == ["ISO-8859-1", "UTF-8"]


def test_bit_string_matches_yaz_options():
    options = decoded("init-idpass-charset-01-c-initRequest")["options"]
    assert bit_string(bit_string_positions(options), 24) == options
    with pytest.raises(ValueError):
        bit_string([9], 8)


MARC = pdu("present-usmarc-06-s-presentResponse")[-400:]  # any bytes will do; codec does not parse MARC


def test_present_response_built_from_records_round_trips():
    holdings = [{"nucCode": "DE-7", "callNumber": "QA76 .K5 ü", "circulationData": [
        {"availableNow": False, "availablityDate": "2026-12-01", "renewable": True, "onHold": True}],
        "volumes": [{"enumeration": "Bd. 1"}]}]
    records = [
        name_plus_record(marc21_record(MARC), "unikat"),
        name_plus_record(xml_record("<record>Köln</record>"), "unikat"),
        name_plus_record(sutrs_record("Köln : Verlag, 2001.\n"), "unikat"),
        name_plus_record(opac_record(MARC, holdings), "unikat"),
        surrogate_diagnostic(238, "1.2.840.10003.5.105", "unikat"),
    ]
    response = {"numberOfRecordsReturned": 4, "nextResultSetPosition": 6, "presentStatus": 0,
                "records": ("responseRecords", records)}
    name, value = decode_pdu(encode_pdu("presentResponse", response))
    assert (name, value) == ("presentResponse", response)
    found = [decode_record(record["record"][1]) for record in value["records"][1][:4]]
    assert found[0] == DecodedRecord(Oid.MARC21, MARC)
    assert found[1] == DecodedRecord(Oid.XML, "<record>Köln</record>".encode())
    assert found[2] == DecodedRecord(Oid.SUTRS, "Köln : Verlag, 2001.\n")
    assert found[3].content["holdingsData"] == [("holdingsAndCirc", holdings[0])]
    assert decode_record(found[3].content["bibliographicRecord"]) == found[0]
    assert value["records"][1][4]["record"] == ("surrogateDiagnostic", ("defaultFormat", {
        "diagnosticSetId": Oid.BIB1_DIAGNOSTICS, "condition": 238, "addinfo": ("v3Addinfo", "1.2.840.10003.5.105")}))


def test_our_sutrs_and_opac_have_yaz_ztest_shape():
    ours = sutrs_record("This is dummy SUTRS record number 1\n")
    theirs = decoded("present-sutrs-06-s-presentResponse")["records"][1][0]["record"][1]
    assert ours == theirs
    theirs = present_records("present-opac-06-s-presentResponse")[0]
    holding = theirs.content["holdingsData"][0][1]
    marc = decode_record(theirs.content["bibliographicRecord"]).content
    assert decode_record(opac_record(marc, [holding])) == theirs


def test_record_decoding_errors():
    with pytest.raises(CodecError):
        decode_record({"direct-reference": Oid.GRS1, "encoding": ("single-ASN1-type", b"\x30\x00")})
    with pytest.raises(CodecError):
        decode_record({"direct-reference": Oid.OPAC, "encoding": ("single-ASN1-type", b"\x1b\x01x")})
    with pytest.raises(CodecError):
        decode_type("OPACRecord", b"\x30\x00\x00")


def deep_query(levels: int) -> dict:
    def leaf(term: bytes) -> tuple:
        return ("op", ("attrTerm", {"attributes": [], "term": ("general", term)}))

    tree = leaf(b"x")
    for _ in range(levels):
        tree = ("rpnRpnOp", {"rpn1": tree, "rpn2": leaf(b"y"), "op": ("and", None)})
    return {"smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
            "replaceIndicator": True, "resultSetName": "default", "databaseNames": ["unikat"],
            "query": ("type-1", {"attributeSet": Oid.BIB1_ATTRIBUTES, "rpn": tree})}


def nested(levels: int) -> bytes:
    """A searchRequest whose content is ``levels`` nested definite-length values."""
    value = b"\x05\x00"
    for _ in range(levels):
        length = len(value).to_bytes(4, "big")
        value = b"\xa1\x84" + length + value
    return b"\xb6\x84" + len(value).to_bytes(4, "big") + value


def test_long_boolean_query_decodes_and_absurd_nesting_is_refused():
    # deeper than a query may nest (MAX_QUERY_DEPTH): decoded, so that the search answers Bib-1 6
    value = deep_query(MAX_QUERY_DEPTH + 40)
    assert decode_pdu(encode_pdu("searchRequest", value)) == ("searchRequest", value)
    with pytest.raises(CodecError, match="nested too deep"):
        decode_pdu(nested(1000))


def test_other_pdu_shapes_round_trip():
    """Forms yaz-client does not send but peers may: type-101, anonymous, diagnostics lists."""
    query = ("type-101", {"attributeSet": Oid.BIB1_ATTRIBUTES, "rpn": ("op", ("resultAttr", {
        "resultSet": "1", "attributes": [{"attributeType": 1, "attributeValue": ("numeric", 4)}]}))})
    search = {"smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
              "replaceIndicator": True, "resultSetName": "default", "databaseNames": ["unikat"],
              "query": query, "referenceId": b"\x00\x01"}
    init = {"protocolVersion": bit_string([0, 1, 2]), "options": bit_string([0]),
            "preferredMessageSize": 1, "exceptionalRecordSize": 1, "idAuthentication": ("anonymous", None)}
    response = {"resultCount": 0, "numberOfRecordsReturned": 0, "nextResultSetPosition": 0,
                "searchStatus": False, "records": ("multipleNonSurDiagnostics", [
                    ("defaultFormat", default_diagnostic(114, "1=9999")),
                    ("defaultFormat", default_diagnostic(2))])}
    scan = {"stepSize": 0, "scanStatus": 0, "numberOfEntriesReturned": 1, "positionOfTerm": 1,
            "entries": {"entries": [("termInfo", {"term": ("general", b"knuth"), "displayTerm": "Knuth",
                                                  "globalOccurrences": 9})]}}
    for name, value in (("searchRequest", search), ("initRequest", init),
                        ("searchResponse", response), ("scanResponse", scan)):
        assert decode_pdu(encode_pdu(name, value)) == (name, value)


def test_codec_imports_no_twisted_or_index():
    code = ("import sys, zserver.z3950.codec, zserver.z3950.records; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'index')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[3])
    assert result.stdout.strip() == "[]"


def test_pdus_go_to_fastber_first_and_to_asn1tools_when_it_declines(monkeypatch):
    data = pdu("init-plain-03-c-close")
    monkeypatch.setattr(fastber, "decode_pdu", lambda data, charset: ("close", {"closeReason": 7}))
    monkeypatch.setattr(fastber, "encode_pdu", lambda name, value, charset: b"fast")
    assert decode_pdu(data) == ("close", {"closeReason": 7})
    assert encode_pdu("close", {"closeReason": 0}) == b"fast"
    monkeypatch.setattr(fastber, "decode_pdu", lambda data, charset: None)
    monkeypatch.setattr(fastber, "encode_pdu", lambda name, value, charset: None)
    assert decode_pdu(data) == ("close", {"closeReason": 0})
    assert encode_pdu("close", {"closeReason": 0}) == data
