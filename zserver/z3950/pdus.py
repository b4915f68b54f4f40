"""The Z39.50 PDUs unikat serves, as frozen dataclasses made at the codec edge.

This module owns the typed form of the fifteen PDUs in `z3950.asn` (Z39.50-2003 section 3.2)
and its conversion to and from the asn1tools form that `codec.py` decodes and encodes:
`from_asn1(name, value)` for what arrives, `to_asn1(pdu)` for what we send (both work for
every PDU, so tests and clients can go either way). It must not know bytes (`codec.py`), the
order of PDUs (`state.py`) or what a request means (`handler.py`).

Every field of each ASN.1 SEQUENCE has an attribute, named as the standard names it in snake
case (`resultSetStartPoint` -> `result_set_start_point`); an absent OPTIONAL field is None.
So nothing a client sends is lost: `reference_id` is echoed, Init's `other_info` carries the
charset negotiation. Values:

- INTEGER int, BOOLEAN bool, InternationalString str, OCTET STRING bytes, OBJECT IDENTIFIER
  the dotted str; ProtocolVersion and Options a frozenset of bit numbers (bit 0 first);
  SEQUENCE OF a tuple; the small SEQUENCEs the handler reads a dataclass (`IdPass`, `Range`,
  `SortKeySpec`, `SortAttributes`, `ListStatus`).
- A CHOICE stays asn1tools' `(alternative, value)` pair, and so does every part handed on
  whole to the module that reads or builds it: the query (`querylang.rpn`, CCL), the scan
  term, ElementSetNames and record composition (`present.composition`), Records, ListEntries,
  DiagRec, EXTERNAL and OtherInformation units (`records.py`, `diagnostics.py`).

`from_asn1` trusts the codec: it checks nothing asn1tools has checked and copies nothing it
does not convert (a list becomes a tuple, a bit string a frozenset; nested asn1tools values
are shared, not copied).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Any, ClassVar

from zserver.querylang.rpn import (
    BIB1_OID,
    Attribute,
    AttributesPlusTerm,
    Query,
    TermType,
    rpn_from_asn1,
    rpn_to_asn1,
)
from zserver.z3950.codec import bit_string, bit_string_positions

__all__ = [
    "PDU_CLASSES",
    "Close",
    "CloseReason",
    "DeleteResultSetRequest",
    "DeleteResultSetResponse",
    "ExtendedServicesRequest",
    "ExtendedServicesResponse",
    "IdPass",
    "InitRequest",
    "InitResponse",
    "ListStatus",
    "Pdu",
    "PresentRequest",
    "PresentResponse",
    "Range",
    "ScanRequest",
    "ScanResponse",
    "SearchRequest",
    "SearchResponse",
    "SortAttributes",
    "SortKeySpec",
    "SortRequest",
    "SortResponse",
    "close_pdu",
    "from_asn1",
    "to_asn1",
]

Choice = tuple[str, Any]
"""A CHOICE in asn1tools form: (alternative name, value)."""

External = Mapping[str, Any]
"""An EXTERNAL in asn1tools form (`records.py` builds and reads them)."""

Unit = Mapping[str, Any]
"""One unit of an OtherInformation (or one DiagRec, Range...) in asn1tools form."""


class CloseReason(IntEnum):
    """`CloseReason` of the Close PDU (Z39.50-2003 section 3.2.11.1.5)."""

    FINISHED = 0
    SHUTDOWN = 1
    SYSTEM_PROBLEM = 2
    COST_LIMIT = 3
    RESOURCES = 4
    SECURITY_VIOLATION = 5
    PROTOCOL_ERROR = 6
    LACK_OF_ACTIVITY = 7
    PEER_ABORT = 8
    UNSPECIFIED = 9


# -- small SEQUENCEs ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IdPass:
    """The idPass alternative of `IdAuthentication` (3.2.1.1.7)."""

    group_id: str | None = None
    user_id: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Range:
    """One of PresentRequest's additionalRanges."""

    starting_position: int
    number_of_records: int


@dataclass(frozen=True, slots=True)
class SortAttributes:
    """The sortAttributes alternative of `SortKey`: an attribute set and its attributes, read
    as `querylang.rpn` reads a query's (so a sort key and a search term mean the same)."""

    id: str
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True, slots=True)
class SortKeySpec:
    """One `SortKeySpec` (3.2.7.1.2). `sort_element` is the SortElement CHOICE: ("generic",
    SortKey) or ("datbaseSpecific", [...] in asn1tools form); a generic SortKey is
    ("sortfield", str), ("elementSpec", Specification in asn1tools form) or
    ("sortAttributes", SortAttributes). `missing_value_action`: ("abort", None), ("null",
    None), ("missingValueData", bytes) or None."""

    sort_element: Choice
    sort_relation: int
    case_sensitivity: int
    missing_value_action: Choice | None = None


@dataclass(frozen=True, slots=True)
class ListStatus:
    """One entry of DeleteResultSetResponse's deleteListStatuses or bulkStatuses."""

    id: str
    status: int


# -- the PDUs ----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Pdu:
    """What every PDU has: its name in the PDU CHOICE (`asn1_name`), its referenceId (3.4:
    the target echoes the request's in the response), and, for one decoded by a `Session`, its
    size on the wire in bytes (`wire_size`, 0 for one built in code; not part of equality)."""

    asn1_name: ClassVar[str]
    wire_size: int = field(default=0, compare=False, repr=False)
    reference_id: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class InitRequest(Pdu):
    """3.2.1.1. `id_authentication`: ("open", str), ("idPass", IdPass), ("anonymous", None)
    or ("other", External)."""

    asn1_name: ClassVar[str] = "initRequest"
    protocol_version: frozenset[int]
    options: frozenset[int]
    preferred_message_size: int
    exceptional_record_size: int
    id_authentication: Choice | None = None
    implementation_id: str | None = None
    implementation_name: str | None = None
    implementation_version: str | None = None
    user_information_field: External | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class InitResponse(Pdu):
    asn1_name: ClassVar[str] = "initResponse"
    protocol_version: frozenset[int]
    options: frozenset[int]
    preferred_message_size: int
    exceptional_record_size: int
    result: bool
    implementation_id: str | None = None
    implementation_name: str | None = None
    implementation_version: str | None = None
    user_information_field: External | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class SearchRequest(Pdu):
    """3.2.2.1. `query` is the Query CHOICE: ("type-1", RPNQuery), ("type-2", CCL bytes), ...;
    the element set names are ElementSetNames CHOICEs."""

    asn1_name: ClassVar[str] = "searchRequest"
    small_set_upper_bound: int
    large_set_lower_bound: int
    medium_set_present_number: int
    replace_indicator: bool
    result_set_name: str
    database_names: tuple[str, ...]
    small_set_element_set_names: Choice | None = None
    medium_set_element_set_names: Choice | None = None
    preferred_record_syntax: str | None = None
    query: Choice
    additional_search_info: tuple[Unit, ...] | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class SearchResponse(Pdu):
    """3.2.2.2. `records` is the Records CHOICE (responseRecords, nonSurrogateDiagnostic, ...)."""

    asn1_name: ClassVar[str] = "searchResponse"
    result_count: int
    number_of_records_returned: int
    next_result_set_position: int
    search_status: bool
    result_set_status: int | None = None
    present_status: int | None = None
    records: Choice | None = None
    additional_search_info: tuple[Unit, ...] | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class PresentRequest(Pdu):
    """3.2.3.1. `record_composition`: ("simple", ElementSetNames) or ("complex", CompSpec)."""

    asn1_name: ClassVar[str] = "presentRequest"
    result_set_id: str
    result_set_start_point: int
    number_of_records_requested: int
    additional_ranges: tuple[Range, ...] | None = None
    record_composition: Choice | None = None
    preferred_record_syntax: str | None = None
    max_segment_count: int | None = None
    max_record_size: int | None = None
    max_segment_size: int | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class PresentResponse(Pdu):
    asn1_name: ClassVar[str] = "presentResponse"
    number_of_records_returned: int
    next_result_set_position: int
    present_status: int
    records: Choice | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class DeleteResultSetRequest(Pdu):
    """3.2.4.1. `delete_function`: 0 list, 1 all."""

    asn1_name: ClassVar[str] = "deleteResultSetRequest"
    delete_function: int
    result_set_list: tuple[str, ...] | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class DeleteResultSetResponse(Pdu):
    asn1_name: ClassVar[str] = "deleteResultSetResponse"
    delete_operation_status: int
    delete_list_statuses: tuple[ListStatus, ...] | None = None
    number_not_deleted: int | None = None
    bulk_statuses: tuple[ListStatus, ...] | None = None
    delete_message: str | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ScanRequest(Pdu):
    """3.2.8.1.1. `term_list_and_start_point` is an AttributesPlusTerm in asn1tools form (read
    by `querylang.rpn.rpn_from_asn1`, which answers unsupported terms with a diagnostic)."""

    asn1_name: ClassVar[str] = "scanRequest"
    database_names: tuple[str, ...]
    attribute_set: str | None = None
    term_list_and_start_point: Mapping[str, Any]
    step_size: int | None = None
    number_of_terms_requested: int
    preferred_position_in_response: int | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ScanResponse(Pdu):
    """3.2.8.1.2. `entries` is a ListEntries in asn1tools form."""

    asn1_name: ClassVar[str] = "scanResponse"
    step_size: int | None = None
    scan_status: int
    number_of_entries_returned: int
    position_of_term: int | None = None
    entries: Mapping[str, Any] | None = None
    attribute_set: str | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class SortRequest(Pdu):
    asn1_name: ClassVar[str] = "sortRequest"
    input_result_set_names: tuple[str, ...]
    sorted_result_set_name: str
    sort_sequence: tuple[SortKeySpec, ...]
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class SortResponse(Pdu):
    """3.2.7.1.3. `diagnostics` are DiagRec CHOICEs."""

    asn1_name: ClassVar[str] = "sortResponse"
    sort_status: int
    result_set_status: int | None = None
    diagnostics: tuple[Choice, ...] | None = None
    result_count: int | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ExtendedServicesRequest(Pdu):
    """3.2.9.1. The task package stays an EXTERNAL (`itemorder.py` reads an ItemOrder)."""

    asn1_name: ClassVar[str] = "extendedServicesRequest"
    function: int
    package_type: str
    package_name: str | None = None
    user_id: str | None = None
    retention_time: Mapping[str, Any] | None = None
    permissions: tuple[Unit, ...] | None = None
    description: str | None = None
    task_specific_parameters: External | None = None
    wait_action: int
    elements: str | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ExtendedServicesResponse(Pdu):
    asn1_name: ClassVar[str] = "extendedServicesResponse"
    operation_status: int
    diagnostics: tuple[Choice, ...] | None = None
    task_package: External | None = None
    other_info: tuple[Unit, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Close(Pdu):
    """3.2.11.1, sent by either side. `close_reason` is an int: a client may send a value
    outside `CloseReason`."""

    asn1_name: ClassVar[str] = "close"
    close_reason: int
    diagnostic_information: str | None = None
    resource_report_format: str | None = None
    resource_report: External | None = None
    other_info: tuple[Unit, ...] | None = None


def close_pdu(reason: CloseReason, message: str = "", reference_id: bytes | None = None) -> Close:
    """Our Close with `reason` and, unless empty, `message` as diagnosticInformation."""
    return Close(reference_id=reference_id, close_reason=reason, diagnostic_information=message or None)


PDU_CLASSES: dict[str, type[Pdu]] = {cls.asn1_name: cls for cls in (
    InitRequest, InitResponse, SearchRequest, SearchResponse, PresentRequest, PresentResponse,
    DeleteResultSetRequest, DeleteResultSetResponse, ScanRequest, ScanResponse, SortRequest,
    SortResponse, ExtendedServicesRequest, ExtendedServicesResponse, Close)}
"""PDU CHOICE alternative (as `codec.decode_pdu` names it) -> class."""


# -- conversion --------------------------------------------------------------------------------
# One (read, write) pair per field that is not taken as asn1tools gives it. A field name means
# the same ASN.1 type in every PDU that has it (otherInfo, databaseNames, diagnostics, ...).

def _bits(length: int) -> tuple[Callable, Callable]:
    """A named-bit BIT STRING as the frozenset of its bit numbers; sent `length` bits long
    (longer if a bit needs it). Trailing zero bits carry no meaning (X.680 22.7), so a
    client's 16-bit Options and our 24-bit ones hold the same set."""
    def read(value: tuple[bytes, int]) -> frozenset[int]:
        return frozenset(bit_string_positions(value))

    def write(bits: frozenset[int]) -> tuple[bytes, int]:
        return bit_string(bits, max(length, max(bits, default=-1) + 1))

    return read, write


def _read_authentication(choice: Choice) -> Choice:
    kind, body = choice
    if kind == "idPass":
        return kind, IdPass(body.get("groupId"), body.get("userId"), body.get("password"))
    return choice


def _write_authentication(choice: Choice) -> Choice:
    kind, body = choice
    if kind == "idPass":
        return kind, _sequence({"groupId": body.group_id, "userId": body.user_id, "password": body.password})
    return choice


def _read_ranges(items: list) -> tuple[Range, ...]:
    return tuple(Range(item["startingPosition"], item["numberOfRecords"]) for item in items)


def _write_ranges(ranges: tuple[Range, ...]) -> list:
    return [{"startingPosition": r.starting_position, "numberOfRecords": r.number_of_records} for r in ranges]


def _read_statuses(items: list) -> tuple[ListStatus, ...]:
    return tuple(ListStatus(item["id"], item["status"]) for item in items)


def _write_statuses(statuses: tuple[ListStatus, ...]) -> list:
    return [{"id": status.id, "status": status.status} for status in statuses]


def _read_attributes(elements: list) -> tuple[Attribute, ...]:
    # The AttributeList read by querylang.rpn's public reader, wrapped as a term without text.
    query = rpn_from_asn1({"attributeSet": BIB1_OID, "rpn": ("op", ("attrTerm", {
        "attributes": elements, "term": ("null", None)}))})
    assert isinstance(query.root, AttributesPlusTerm)
    return query.root.attributes


def _write_attributes(attributes: tuple[Attribute, ...]) -> list:
    value = rpn_to_asn1(Query(BIB1_OID, AttributesPlusTerm(attributes, "", TermType.NULL)))
    return value["rpn"][1][1]["attributes"]


def _read_sort_key(choice: Choice) -> Choice:
    kind, body = choice
    if kind == "sortAttributes":
        return kind, SortAttributes(body["id"], _read_attributes(body["list"]))
    return choice


def _write_sort_key(choice: Choice) -> Choice:
    kind, body = choice
    if kind == "sortAttributes":
        return kind, {"id": body.id, "list": _write_attributes(body.attributes)}
    return choice


def _read_sort_sequence(items: list) -> tuple[SortKeySpec, ...]:
    specs = []
    for item in items:
        kind, element = item["sortElement"]
        if kind == "generic":
            element = _read_sort_key(element)
        specs.append(SortKeySpec((kind, element), item["sortRelation"], item["caseSensitivity"],
                                 item.get("missingValueAction")))
    return tuple(specs)


def _write_sort_sequence(specs: tuple[SortKeySpec, ...]) -> list:
    items = []
    for spec in specs:
        kind, element = spec.sort_element
        if kind == "generic":
            element = _write_sort_key(element)
        items.append(_sequence({"sortElement": (kind, element), "sortRelation": spec.sort_relation,
                                "caseSensitivity": spec.case_sensitivity,
                                "missingValueAction": spec.missing_value_action}))
    return items


def _sequence(members: dict[str, Any]) -> dict[str, Any]:
    """A SEQUENCE value without its absent (None) OPTIONAL members."""
    return {key: value for key, value in members.items() if value is not None}


_TUPLE = (tuple, list)
_CONVERSIONS: dict[str, tuple[Callable, Callable]] = {
    "protocol_version": _bits(8),
    "options": _bits(24),
    "id_authentication": (_read_authentication, _write_authentication),
    "database_names": _TUPLE,
    "result_set_list": _TUPLE,
    "input_result_set_names": _TUPLE,
    "other_info": _TUPLE,
    "additional_search_info": _TUPLE,
    "permissions": _TUPLE,
    "diagnostics": _TUPLE,
    "additional_ranges": (_read_ranges, _write_ranges),
    "delete_list_statuses": (_read_statuses, _write_statuses),
    "bulk_statuses": (_read_statuses, _write_statuses),
    "sort_sequence": (_read_sort_sequence, _write_sort_sequence),
}
"""Attribute name -> (read asn1tools value, write it back); other attributes pass as they are."""


def _asn1_key(attribute: str) -> str:
    first, *rest = attribute.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _members(cls: type[Pdu]) -> tuple[tuple[str, str, Callable | None, Callable | None], ...]:
    """(attribute, ASN.1 member name, read, write) for each member of `cls`; read and write
    are None where the value passes as it is."""
    return tuple((f.name, _asn1_key(f.name), *_CONVERSIONS.get(f.name, (None, None)))
                 for f in fields(cls) if f.name != "wire_size")


_MEMBERS = {cls: _members(cls) for cls in PDU_CLASSES.values()}


def from_asn1(name: str, value: Mapping[str, Any], wire_size: int = 0) -> Pdu:
    """The PDU for `codec.decode_pdu`'s (alternative name, value); `wire_size` is its size in
    bytes when it came off the wire. `value` must be as asn1tools decodes it (nothing is
    checked again: a member asn1tools left out is an absent OPTIONAL one, None, which the class
    holds as its default); its nested parts are shared, not copied."""
    cls = PDU_CLASSES[name]
    members: dict[str, Any] = {}
    for attribute, key, read, _ in _MEMBERS[cls]:
        item = value.get(key)
        if item is not None:
            members[attribute] = item if read is None else read(item)
    return cls(wire_size=wire_size, **members)


def to_asn1(pdu: Pdu) -> tuple[str, dict[str, Any]]:
    """The (alternative name, value) `codec.encode_pdu` takes for `pdu`; None fields are left
    out (absent OPTIONAL members)."""
    value: dict[str, Any] = {}
    for attribute, key, _, write in _MEMBERS[type(pdu)]:
        item = getattr(pdu, attribute)
        if item is not None:
            value[key] = item if write is None else write(item)
    return pdu.asn1_name, value
