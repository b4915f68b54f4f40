"""Typed PDUs at the codec edge: every captured yaz-client/zoomsh/server PDU read with
`from_asn1` and written back with `to_asn1` gives the asn1tools value again; every field of
every PDU in our ASN.1 has its attribute."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from zserver.querylang.rpn import Attribute
from zserver.z3950.codec import bit_string, bit_string_positions, decode_pdu, encode_pdu, specification
from zserver.z3950.pdus import (
    PDU_CLASSES,
    Close,
    CloseReason,
    DeleteResultSetRequest,
    DeleteResultSetResponse,
    IdPass,
    InitRequest,
    InitResponse,
    ListStatus,
    PresentRequest,
    Range,
    SearchRequest,
    SortAttributes,
    SortKeySpec,
    SortRequest,
    close_pdu,
    from_asn1,
    to_asn1,
)
from zserver.z3950.records import Oid, charset_negotiation, negotiated_charsets

PDUS = Path(__file__).resolve().parents[2] / "data" / "pdus"
CAPTURES = sorted(PDUS.glob("*.ber"))
BIT_STRINGS = ("protocolVersion", "options")


def captured(stem: str):
    data = (PDUS / f"{stem}.ber").read_bytes()
    return from_asn1(*decode_pdu(data), wire_size=len(data))


def test_every_pdu_kind_is_captured():
    kinds = {decode_pdu(path.read_bytes())[0] for path in CAPTURES}
    assert kinds == set(PDU_CLASSES)
    assert len(CAPTURES) >= 60


@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.stem)
def test_captured_pdu_round_trip(path):
    name, value = decode_pdu(path.read_bytes())
    pdu = from_asn1(name, value)
    assert type(pdu) is PDU_CLASSES[name] and pdu.asn1_name == name
    written_name, written = to_asn1(pdu)
    assert written_name == name
    # A named-bit BIT STRING means its set bits; we write Options 24 bits long (yaz-client's are 16).
    for key in BIT_STRINGS:
        if key in value:
            assert bit_string_positions(written.pop(key)) == bit_string_positions(value[key])
    assert written == {key: item for key, item in value.items() if key not in BIT_STRINGS}


@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.stem)
def test_captured_pdu_through_the_codec_and_back(path):
    pdu = from_asn1(*decode_pdu(path.read_bytes()))
    assert from_asn1(*decode_pdu(encode_pdu(*to_asn1(pdu)))) == pdu


@pytest.mark.parametrize("name", sorted(PDU_CLASSES))
def test_every_asn1_member_has_its_field(name):
    (alternative,) = [member for member in specification().types["PDU"].type.members if member.name == name]
    members = {member.name: member.optional for member in alternative.root_members}
    cls = PDU_CLASSES[name]
    found = {}
    for f in dataclasses.fields(cls):
        if f.name == "wire_size":
            continue
        first, *rest = f.name.split("_")
        found[first + "".join(part.capitalize() for part in rest)] = f.default is None
    assert found == members


@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.stem)
def test_from_asn1_makes_what_the_constructor_makes(path):
    data = path.read_bytes()
    pdu = from_asn1(*decode_pdu(data), wire_size=len(data))
    built = type(pdu)(**{f.name: getattr(pdu, f.name) for f in dataclasses.fields(pdu)})
    assert built == pdu and repr(built) == repr(pdu) and built.wire_size == pdu.wire_size == len(data)
    assert dataclasses.replace(pdu, reference_id=b"r").reference_id == b"r"
    with pytest.raises(dataclasses.FrozenInstanceError):
        pdu.reference_id = b"r"


def test_wire_size_is_not_part_of_equality():
    unsized = from_asn1(*decode_pdu((PDUS / "search-rpn-03-c-searchRequest.ber").read_bytes()))
    assert unsized.wire_size == 0
    assert captured("search-rpn-03-c-searchRequest") == unsized


def test_init_request_is_typed():
    init = captured("init-idpass-charset-01-c-initRequest")
    assert isinstance(init, InitRequest)
    assert init.protocol_version == frozenset({0, 1, 2})
    assert {0, 1, 2, 7, 8, 14, 17} <= init.options and isinstance(init.options, frozenset)
    assert init.id_authentication == ("idPass", IdPass(user_id="alice", password="secret"))
    assert init.implementation_name == "YAZ" and init.reference_id is None
    negotiation = charset_negotiation(init.other_info, init.user_information_field)
    assert negotiation[0] == "proposal" and "UTF-8" in negotiated_charsets(negotiation)
    assert captured("init-open-auth-01-c-initRequest").id_authentication == ("open", "opensesame")


def test_init_response_writes_bits_as_before():
    response = InitResponse(protocol_version=frozenset({0, 1, 2}), options=frozenset({0, 1, 14}),
                            preferred_message_size=1024, exceptional_record_size=2048, result=True)
    _, value = to_asn1(response)
    assert value["protocolVersion"] == bit_string({0, 1, 2}, 8)
    assert value["options"] == bit_string({0, 1, 14}, 24)
    wide = dataclasses.replace(response, options=frozenset({0, 30}))
    assert to_asn1(wide)[1]["options"] == bit_string({0, 30}, 31)


def test_search_request_keeps_the_query_choice_without_copying():
    name, value = decode_pdu((PDUS / "piggyback-03-c-searchRequest.ber").read_bytes())
    search = from_asn1(name, value)
    assert isinstance(search, SearchRequest)
    assert search.database_names == tuple(value["databaseNames"]) and isinstance(search.database_names, tuple)
    assert search.query is value["query"]
    assert search.small_set_element_set_names == value["smallSetElementSetNames"]
    assert search.preferred_record_syntax == value["preferredRecordSyntax"]
    assert search.additional_search_info is None and search.other_info is None


def test_reference_id_and_other_info_survive():
    unit = {"information": ("characterInfo", "note")}
    value = {"referenceId": b"ref-1", "resultSetId": "1", "resultSetStartPoint": 1, "numberOfRecordsRequested": 2,
             "additionalRanges": [{"startingPosition": 5, "numberOfRecords": 1}],
             "recordComposition": ("simple", ("genericElementSetName", "B")), "otherInfo": [unit]}
    present = from_asn1("presentRequest", value)
    assert isinstance(present, PresentRequest)
    assert present.reference_id == b"ref-1"
    assert present.additional_ranges == (Range(5, 1),)
    assert present.other_info == (unit,)
    assert to_asn1(present) == ("presentRequest", value)


def test_sort_request_is_typed():
    sort = captured("sort-07-c-sortRequest")
    assert isinstance(sort, SortRequest)
    assert sort.input_result_set_names == ("1",) and sort.sorted_result_set_name == "1"
    assert sort.sort_sequence == (
        SortKeySpec(("generic", ("sortfield", "title")), 1, 1, ("null", None)),
        SortKeySpec(("generic", ("sortAttributes", SortAttributes(Oid.BIB1_ATTRIBUTES, (Attribute(1, 1003),)))),
                    0, 1, ("null", None)),
    )


def test_delete_pdus_are_typed():
    request = captured("delete-07-c-deleteResultSetRequest")
    assert request == DeleteResultSetRequest(delete_function=0, result_set_list=("1",))
    response = captured("delete-08-s-deleteResultSetResponse")
    assert response == DeleteResultSetResponse(delete_operation_status=0, delete_list_statuses=(ListStatus("1", 0),))


def test_close():
    assert captured("init-plain-03-c-close") == Close(close_reason=CloseReason.FINISHED)
    assert to_asn1(close_pdu(CloseReason.PROTOCOL_ERROR, "bad", b"r")) == (
        "close", {"referenceId": b"r", "closeReason": 6, "diagnosticInformation": "bad"})
    assert to_asn1(close_pdu(CloseReason.SHUTDOWN)) == ("close", {"closeReason": 1})
