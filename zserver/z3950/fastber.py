"""Hand-written BER for the PDUs of every Z39.50 session, beside asn1tools.

This module owns a fast decoder for the requests every session sends (Init,
Search with a Type-1/Type-101 RPN or CCL query, Present, Scan, Close) and a
fast encoder for the responses we send to them (Init, Search and Present with
records or diagnostics, Scan, Close).  asn1tools, compiled from ``z3950.asn``
in ``codec.py``, stays the reference: both directions here give exactly its
values and bytes, or ``None`` ("not mine"), and ``codec`` then asks asn1tools.

Why: asn1tools walks a generic type tree per value and costs ~0.15 ms per
request; a session's PDUs are few and fixed in shape.

The rule that keeps the two paths equal: accept only what asn1tools accepts
on its first, plain decoding pass, and only in the standard's member order.
Anything else -- constructed (segmented) strings, members out of order,
unknown or trailing members, values overrunning their parent, an ANY with an
indefinite length, an alternative not written out here, an RPN tree deeper
than ``_MAX_RPN_DEPTH`` -- declines, and asn1tools decides (it may accept
it, or raise the CodecError the caller expects).  Nothing here raises for a
peer's bytes: errors are asn1tools' to report.

Values are asn1tools' form after ``codec``'s charset step: SEQUENCE -> dict,
CHOICE -> ``(name, value)``, OCTET STRING and ANY -> bytes, BIT STRING ->
``(bytes, bits)``, OBJECT IDENTIFIER -> dotted str, InternationalString ->
str read in the negotiated charset (Latin-1 if the bytes are not valid in it).

It must not know sockets, sessions or what a PDU means, and imports nothing
from ``codec`` (``codec`` imports it).  Tags are written as literal identifier
octets with the ASN.1 tag number beside them (X.690 8.1.2).
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["decode_pdu", "encode_pdu"]


class _Decline(Exception):
    """Not a form handled here: leave it to asn1tools."""


_INDEFINITE = -1

# Deepest RPN tree decoded here.  asn1tools' recursive decoder manages ~190
# levels from a shallow stack; declining well before that leaves the limit
# (and the RecursionError -> CodecError it gives) to asn1tools alone.
_MAX_RPN_DEPTH = 100

# What codec.find_pdu_end accepts: at most 4 length octets and 4 octets of
# tag number; the fast path must not accept what the framer refuses.
_MAX_LENGTH_OCTETS = 4
_MAX_TAG_OCTETS = 4


# ================================================================ decoding
#
# Each reader takes ``data`` (the whole PDU), ``pos`` (where its value or
# content starts) and a bound, and returns ``(value, next position)``.
# Constructed values are entered with ``_head`` -> (content start, content end
# or _INDEFINITE) and left with ``_close``; ``_limit`` is how far a child of
# such a value may reach.  IndexError from reading past the buffer declines.


def _head(data: bytes, pos: int, limit: int, tag: bytes) -> tuple[int, int]:
    """Identifier ``tag`` at ``pos``, then a length (X.690 8.1.3).  A
    primitive ``tag`` never gets _INDEFINITE: that declines."""
    size = len(tag)
    if data[pos] != tag[0] or (size > 1 and not data.startswith(tag, pos)):
        raise _Decline
    pos += size
    first = data[pos]
    pos += 1
    if first < 0x80:
        end = pos + first
        if end > limit:
            raise _Decline
        return pos, end
    if first == 0x80:
        if not tag[0] & 0x20:      # indefinite is for constructed values only
            raise _Decline
        return pos, _INDEFINITE
    count = first - 0x80
    if count > _MAX_LENGTH_OCTETS:
        raise _Decline
    end = pos + count + int.from_bytes(data[pos:pos + count], "big")
    if end > limit:
        raise _Decline
    return pos + count, end


def _limit(data: bytes, end: int) -> int:
    return len(data) if end == _INDEFINITE else end


def _has(data: bytes, pos: int, end: int, tag: bytes) -> bool:
    """Does the next member of a constructed value start with ``tag``?"""
    return (pos < end or end == _INDEFINITE) and data.startswith(tag, pos)


def _close(data: bytes, pos: int, end: int) -> int:
    """Position after a constructed value whose members ended at ``pos``."""
    if end == _INDEFINITE:
        if data[pos] or data[pos + 1]:
            raise _Decline
        return pos + 2
    if pos != end:      # asn1tools skips unknown trailing members; we do not guess
        raise _Decline
    return pos


def _integer(data: bytes, pos: int, limit: int, tag: bytes) -> tuple[int, int]:
    start, end = _head(data, pos, limit, tag)
    if end - start == 1:   # most are; int.from_bytes costs more
        number = data[start]
        return (number - 256 if number & 0x80 else number), end
    return int.from_bytes(data[start:end], "big", signed=True), end


def _boolean(data: bytes, pos: int, limit: int, tag: bytes) -> tuple[bool, int]:
    start, end = _head(data, pos, limit, tag)
    if end - start != 1:
        raise _Decline
    return bool(data[start]), end


def _null(data: bytes, pos: int, limit: int, tag: bytes) -> tuple[None, int]:
    start, end = _head(data, pos, limit, tag)
    if end != start:       # asn1tools would read the content as the next value
        raise _Decline
    return None, end


def _octets(data: bytes, pos: int, limit: int, tag: bytes) -> tuple[bytes, int]:
    start, end = _head(data, pos, limit, tag)
    return data[start:end], end


def _text(data: bytes, pos: int, limit: int, tag: bytes, charset: str) -> tuple[str, int]:
    """InternationalString (GeneralString): as codec's charset step reads it."""
    start, end = _head(data, pos, limit, tag)
    raw = data[start:end]
    if raw.isascii():
        return raw.decode("ascii"), end
    try:
        return raw.decode(charset), end
    except UnicodeError:
        return raw.decode("latin-1"), end


def _bits(data: bytes, pos: int, limit: int, tag: bytes) -> tuple[tuple[bytes, int], int]:
    start, end = _head(data, pos, limit, tag)
    if end == start:       # no unused-bits octet
        raise _Decline
    return (data[start + 1:end], 8 * (end - start - 1) - data[start]), end


def _oid(data: bytes, pos: int, limit: int, tag: bytes = b"\x06") -> tuple[str, int]:
    start, end = _head(data, pos, limit, tag)
    # asn1tools reads a last subidentifier with its high bit set on past the
    # value's end, and an empty one from the next value: leave those to it
    if end == start or data[end - 1] & 0x80:
        raise _Decline
    return _oid_text(data[start:end]), end


@functools.lru_cache(maxsize=256)
def _oid_text(content: bytes) -> str:
    """Dotted form of OBJECT IDENTIFIER content octets, as asn1tools gives it
    (the first subidentifier split as 40 * x + y, whatever its size)."""
    numbers = []
    number = 0
    for byte in content:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(number)
            number = 0
    first = numbers[0]
    return ".".join(map(str, [first // 40, first % 40, *numbers[1:]]))


def _any(data: bytes, pos: int, limit: int) -> tuple[bytes, int]:
    """ANY: the whole TLV as bytes, definite length only (asn1tools' rule). A zero first octet
    is declined: inside an indefinite value the reference reads it as the end of contents."""
    start = pos
    if data[pos] == 0:
        raise _Decline
    if data[pos] & 0x1F == 0x1F:
        pos += 1
        for _ in range(_MAX_TAG_OCTETS):
            if not data[pos] & 0x80:
                break
            pos += 1
        else:
            raise _Decline
    pos += 1
    first = data[pos]
    pos += 1
    if first >= 0x80:
        count = first - 0x80
        if count == 0 or count > _MAX_LENGTH_OCTETS:
            raise _Decline
        first = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    end = pos + first
    if end > limit:
        raise _Decline
    return data[start:end], end


def _sequence_of_text(data: bytes, pos: int, limit: int, tag: bytes, item: bytes,
                      charset: str) -> tuple[list[str], int]:
    pos, end = _head(data, pos, limit, tag)
    inner = _limit(data, end)
    items = []
    while _has(data, pos, end, item):
        text, pos = _text(data, pos, inner, item, charset)
        items.append(text)
    return items, _close(data, pos, end)


def _external(data: bytes, pos: int, limit: int, tag: bytes, charset: str) -> tuple[dict, int]:
    """EXTERNAL as spelled out in z3950.asn (X.208 form)."""
    pos, end = _head(data, pos, limit, tag)
    inner = _limit(data, end)
    value: dict[str, Any] = {}
    if _has(data, pos, end, b"\x06"):
        value["direct-reference"], pos = _oid(data, pos, inner)
    if _has(data, pos, end, b"\x02"):
        value["indirect-reference"], pos = _integer(data, pos, inner, b"\x02")
    if not (pos < end or end == _INDEFINITE):
        raise _Decline
    first = data[pos]
    if first == 0xA0:      # single-ASN1-type [0] ANY
        start, wrapper = _head(data, pos, inner, b"\xa0")
        payload, pos = _any(data, start, _limit(data, wrapper))
        value["encoding"] = ("single-ASN1-type", payload)
        pos = _close(data, pos, wrapper)
    elif first == 0x81:    # octet-aligned [1] IMPLICIT OCTET STRING
        payload, pos = _octets(data, pos, inner, b"\x81")
        value["encoding"] = ("octet-aligned", payload)
    elif first == 0x82:    # arbitrary [2] IMPLICIT BIT STRING
        bits, pos = _bits(data, pos, inner, b"\x82")
        value["encoding"] = ("arbitrary", bits)
    else:                  # data-value-descriptor, or garbage
        raise _Decline
    return value, _close(data, pos, end)


def _other_information(data: bytes, pos: int, limit: int, tag: bytes,
                       charset: str) -> tuple[list[dict], int]:
    """OtherInformation: [201] (or [203]) IMPLICIT SEQUENCE OF SEQUENCE."""
    pos, end = _head(data, pos, limit, tag)
    inner = _limit(data, end)
    items = []
    while _has(data, pos, end, b"\x30"):
        pos, item_end = _head(data, pos, inner, b"\x30")
        item_limit = _limit(data, item_end)
        item: dict[str, Any] = {}
        if _has(data, pos, item_end, b"\xa1"):     # category [1] IMPLICIT InfoCategory
            pos, category_end = _head(data, pos, item_limit, b"\xa1")
            category_limit = _limit(data, category_end)
            category: dict[str, Any] = {}
            if _has(data, pos, category_end, b"\x81"):
                category["categoryTypeId"], pos = _oid(data, pos, category_limit, b"\x81")
            category["categoryValue"], pos = _integer(data, pos, category_limit, b"\x82")
            pos = _close(data, pos, category_end)
            item["category"] = category
        first = data[pos]
        if first == 0x82:
            info, pos = _text(data, pos, item_limit, b"\x82", charset)
            item["information"] = ("characterInfo", info)
        elif first == 0x83:
            info, pos = _octets(data, pos, item_limit, b"\x83")
            item["information"] = ("binaryInfo", info)
        elif first == 0xA4:
            info, pos = _external(data, pos, item_limit, b"\xa4", charset)
            item["information"] = ("externallyDefinedInfo", info)
        elif first == 0x85:
            info, pos = _oid(data, pos, item_limit, b"\x85")
            item["information"] = ("oid", info)
        else:
            raise _Decline
        items.append(item)
        pos = _close(data, pos, item_end)
    return items, _close(data, pos, end)


# -------------------------------------------------------- RPN (3.7.1)


def _attribute_list(data: bytes, pos: int, limit: int, charset: str) -> tuple[list[dict], int]:
    """AttributeList ::= [44] IMPLICIT SEQUENCE OF AttributeElement."""
    pos, end = _head(data, pos, limit, b"\xbf\x2c")
    inner = _limit(data, end)
    attributes = []
    while _has(data, pos, end, b"\x30"):
        # the form nearly every client sends: type and numeric value of one octet each, definite
        # lengths (30 08 9f78 01 TT 9f79 01 VV); read at once instead of by three heads
        if (pos + 10 <= inner and data[pos + 1] == 0x08 and data[pos + 5] < 0x80 and data[pos + 9] < 0x80
                and data.startswith(b"\x9f\x78\x01", pos + 2) and data.startswith(b"\x9f\x79\x01", pos + 6)):
            attributes.append({"attributeType": data[pos + 5], "attributeValue": ("numeric", data[pos + 9])})
            pos += 10
            continue
        pos, element_end = _head(data, pos, inner, b"\x30")
        element_limit = _limit(data, element_end)
        element: dict[str, Any] = {}
        if _has(data, pos, element_end, b"\x81"):
            element["attributeSet"], pos = _oid(data, pos, element_limit, b"\x81")
        element["attributeType"], pos = _integer(data, pos, element_limit, b"\x9f\x78")   # [120]
        if data.startswith(b"\x9f\x79", pos):                                         # [121]
            number, pos = _integer(data, pos, element_limit, b"\x9f\x79")
            element["attributeValue"] = ("numeric", number)
        else:
            complex_value, pos = _complex_attribute(data, pos, element_limit, charset)
            element["attributeValue"] = ("complex", complex_value)
        attributes.append(element)
        pos = _close(data, pos, element_end)
    return attributes, _close(data, pos, end)


def _complex_attribute(data: bytes, pos: int, limit: int, charset: str) -> tuple[dict, int]:
    pos, end = _head(data, pos, limit, b"\xbf\x81\x60")    # complex [224] IMPLICIT SEQUENCE
    inner = _limit(data, end)
    pos, list_end = _head(data, pos, inner, b"\xa1")
    list_limit = _limit(data, list_end)
    items: list[tuple[str, Any]] = []
    while pos < list_end or list_end == _INDEFINITE:       # SEQUENCE OF StringOrNumeric
        first = data[pos]
        if first == 0x81:
            text, pos = _text(data, pos, list_limit, b"\x81", charset)
            items.append(("string", text))
        elif first == 0x82:
            number, pos = _integer(data, pos, list_limit, b"\x82")
            items.append(("numeric", number))
        elif first == 0 and list_end == _INDEFINITE:
            break
        else:
            raise _Decline
    pos = _close(data, pos, list_end)
    value: dict[str, Any] = {"list": items}
    if _has(data, pos, end, b"\xa2"):                       # semanticAction
        pos, actions_end = _head(data, pos, inner, b"\xa2")
        actions_limit = _limit(data, actions_end)
        actions = []
        while _has(data, pos, actions_end, b"\x02"):
            number, pos = _integer(data, pos, actions_limit, b"\x02")
            actions.append(number)
        value["semanticAction"] = actions
        pos = _close(data, pos, actions_end)
    return value, _close(data, pos, end)


# Term alternatives read here: identifier -> name
_TERMS = {
    b"\x9f\x2d": "general",              # [45] IMPLICIT OCTET STRING
    b"\x9f\x81\x57": "numeric",          # [215] IMPLICIT INTEGER
    b"\x9f\x81\x58": "characterString",  # [216] IMPLICIT InternationalString
    b"\x9f\x81\x59": "oid",              # [217] IMPLICIT OBJECT IDENTIFIER
    b"\x9f\x81\x5d": "null",             # [221] IMPLICIT NULL
    b"\xbf\x81\x5b": "external",         # [219] IMPLICIT External
}


def _term(data: bytes, pos: int, limit: int, charset: str) -> tuple[tuple[str, Any], int]:
    tag = data[pos:pos + 2] if data[pos + 1] != 0x81 else data[pos:pos + 3]
    name = _TERMS.get(tag)
    if name == "general":
        value, pos = _octets(data, pos, limit, tag)
    elif name == "numeric":
        value, pos = _integer(data, pos, limit, tag)
    elif name == "characterString":
        value, pos = _text(data, pos, limit, tag, charset)
    elif name == "oid":
        value, pos = _oid(data, pos, limit, tag)
    elif name == "null":
        value, pos = _null(data, pos, limit, tag)
    elif name == "external":
        value, pos = _external(data, pos, limit, tag, charset)
    else:   # dateTime, integerAndUnit, segmented strings
        raise _Decline
    return (name, value), pos


def _attributes_plus_term(data: bytes, pos: int, limit: int, charset: str) -> tuple[dict, int]:
    pos, end = _head(data, pos, limit, b"\xbf\x66")          # [102] IMPLICIT SEQUENCE
    inner = _limit(data, end)
    attributes, pos = _attribute_list(data, pos, inner, charset)
    if not (pos < end or end == _INDEFINITE):
        raise _Decline
    term, pos = _term(data, pos, inner, charset)
    return {"attributes": attributes, "term": term}, _close(data, pos, end)


def _operand(data: bytes, pos: int, limit: int, charset: str) -> tuple[tuple[str, Any], int]:
    if data.startswith(b"\xbf\x66", pos):
        value, pos = _attributes_plus_term(data, pos, limit, charset)
        return ("attrTerm", value), pos
    if data.startswith(b"\x9f\x1f", pos):                    # ResultSetId [31]
        name, pos = _text(data, pos, limit, b"\x9f\x1f", charset)
        return ("resultSet", name), pos
    pos, end = _head(data, pos, limit, b"\xbf\x81\x56")      # resultAttr [214]
    inner = _limit(data, end)
    name, pos = _text(data, pos, inner, b"\x9f\x1f", charset)
    attributes, pos = _attribute_list(data, pos, inner, charset)
    return ("resultAttr", {"resultSet": name, "attributes": attributes}), _close(data, pos, end)


# and [0], or [1], and-not [2]: IMPLICIT NULL
_OPERATORS = {0x80: ("and", b"\x80"), 0x81: ("or", b"\x81"), 0x82: ("and-not", b"\x82")}


def _operator(data: bytes, pos: int, limit: int) -> tuple[tuple[str, Any], int]:
    pos, end = _head(data, pos, limit, b"\xbf\x2e")          # Operator ::= [46] CHOICE
    inner = _limit(data, end)
    first = data[pos]
    known = _OPERATORS.get(first)
    if known is not None:
        _, pos = _null(data, pos, inner, known[1])
        return (known[0], None), _close(data, pos, end)
    pos, prox_end = _head(data, pos, inner, b"\xa3")         # prox [3] IMPLICIT ProximityOperator
    prox_limit = _limit(data, prox_end)
    prox: dict[str, Any] = {}
    if _has(data, pos, prox_end, b"\x81"):
        prox["exclusion"], pos = _boolean(data, pos, prox_limit, b"\x81")
    prox["distance"], pos = _integer(data, pos, prox_limit, b"\x82")
    prox["ordered"], pos = _boolean(data, pos, prox_limit, b"\x83")
    prox["relationType"], pos = _integer(data, pos, prox_limit, b"\x84")
    pos, unit_end = _head(data, pos, prox_limit, b"\xa5")    # proximityUnitCode [5] CHOICE
    unit_limit = _limit(data, unit_end)
    if data.startswith(b"\x81", pos):
        number, pos = _integer(data, pos, unit_limit, b"\x81")
        prox["proximityUnitCode"] = ("known", number)
    else:
        number, pos = _integer(data, pos, unit_limit, b"\x82")
        prox["proximityUnitCode"] = ("private", number)
    pos = _close(data, pos, unit_end)
    pos = _close(data, pos, prox_end)
    return ("prox", prox), _close(data, pos, end)


def _rpn_structure(data: bytes, pos: int, limit: int, charset: str,
                   depth: int) -> tuple[tuple[str, Any], int]:
    if depth > _MAX_RPN_DEPTH:
        raise _Decline
    first = data[pos]
    if first == 0xA0:                                        # op [0] Operand
        pos, end = _head(data, pos, limit, b"\xa0")
        operand, pos = _operand(data, pos, _limit(data, end), charset)
        return ("op", operand), _close(data, pos, end)
    pos, end = _head(data, pos, limit, b"\xa1")              # rpnRpnOp [1] IMPLICIT SEQUENCE
    inner = _limit(data, end)
    rpn1, pos = _rpn_structure(data, pos, inner, charset, depth + 1)
    rpn2, pos = _rpn_structure(data, pos, inner, charset, depth + 1)
    op, pos = _operator(data, pos, inner)
    return ("rpnRpnOp", {"rpn1": rpn1, "rpn2": rpn2, "op": op}), _close(data, pos, end)


def _rpn_query(data: bytes, pos: int, limit: int, tag: bytes, charset: str) -> tuple[dict, int]:
    pos, end = _head(data, pos, limit, tag)
    inner = _limit(data, end)
    attribute_set, pos = _oid(data, pos, inner)
    rpn, pos = _rpn_structure(data, pos, inner, charset, 0)
    return {"attributeSet": attribute_set, "rpn": rpn}, _close(data, pos, end)


_OCTET_QUERIES = {b"\xa2": "type-2", b"\xbf\x64": "type-100", b"\xbf\x66": "type-102"}


def _query(data: bytes, pos: int, limit: int, charset: str) -> tuple[tuple[str, Any], int]:
    """query [21] Query: type-1 and type-101 (RPN), type-2/100/102 (octets)."""
    pos, end = _head(data, pos, limit, b"\xb5")
    inner = _limit(data, end)
    if data.startswith(b"\xa1", pos):
        query, pos = _rpn_query(data, pos, inner, b"\xa1", charset)
        kind = "type-1"
    elif data.startswith(b"\xbf\x65", pos):
        query, pos = _rpn_query(data, pos, inner, b"\xbf\x65", charset)
        kind = "type-101"
    else:
        tag = data[pos:pos + 2] if data[pos] == 0xBF else data[pos:pos + 1]
        kind = _OCTET_QUERIES.get(tag)
        if kind is None:    # type-0 (ANY), type-104 (External)
            raise _Decline
        pos, wrapper = _head(data, pos, inner, tag)          # [n] OCTET STRING (explicit)
        query, pos = _octets(data, pos, _limit(data, wrapper), b"\x04")
        pos = _close(data, pos, wrapper)
    return (kind, query), _close(data, pos, end)


def _element_set_names(data: bytes, pos: int, limit: int, tag: bytes,
                       charset: str) -> tuple[tuple[str, str], int]:
    """[n] ElementSetNames, genericElementSetName only."""
    pos, end = _head(data, pos, limit, tag)
    name, pos = _text(data, pos, _limit(data, end), b"\x80", charset)
    return ("genericElementSetName", name), _close(data, pos, end)


# ------------------------------------------------------------ requests


def _init_request(data: bytes, pos: int, end: int, charset: str) -> tuple[dict, int]:
    inner = _limit(data, end)
    value: dict[str, Any] = {}
    if _has(data, pos, end, b"\x82"):
        value["referenceId"], pos = _octets(data, pos, inner, b"\x82")
    value["protocolVersion"], pos = _bits(data, pos, inner, b"\x83")
    value["options"], pos = _bits(data, pos, inner, b"\x84")
    value["preferredMessageSize"], pos = _integer(data, pos, inner, b"\x85")
    value["exceptionalRecordSize"], pos = _integer(data, pos, inner, b"\x86")
    if _has(data, pos, end, b"\xa7"):                        # idAuthentication [7]
        pos, auth_end = _head(data, pos, inner, b"\xa7")
        value["idAuthentication"], pos = _id_authentication(data, pos, _limit(data, auth_end), charset)
        pos = _close(data, pos, auth_end)
    for key, tag in (("implementationId", b"\x9f\x6e"), ("implementationName", b"\x9f\x6f"),
                     ("implementationVersion", b"\x9f\x70")):
        if _has(data, pos, end, tag):
            value[key], pos = _text(data, pos, inner, tag, charset)
    if _has(data, pos, end, b"\xab"):                        # userInformationField [11]
        pos, field_end = _head(data, pos, inner, b"\xab")
        value["userInformationField"], pos = _external(data, pos, _limit(data, field_end), b"\x28", charset)
        pos = _close(data, pos, field_end)
    if _has(data, pos, end, b"\xbf\x81\x49"):
        value["otherInfo"], pos = _other_information(data, pos, inner, b"\xbf\x81\x49", charset)
    return value, _close(data, pos, end)


def _id_authentication(data: bytes, pos: int, limit: int, charset: str) -> tuple[tuple[str, Any], int]:
    first = data[pos]
    if first == 0x1A:
        text, pos = _text(data, pos, limit, b"\x1a", charset)
        return ("open", text), pos
    if first == 0x05:
        _, pos = _null(data, pos, limit, b"\x05")
        return ("anonymous", None), pos
    if first == 0x28:
        external, pos = _external(data, pos, limit, b"\x28", charset)
        return ("other", external), pos
    pos, end = _head(data, pos, limit, b"\x30")
    inner = _limit(data, end)
    id_pass: dict[str, str] = {}
    for key, tag in (("groupId", b"\x80"), ("userId", b"\x81"), ("password", b"\x82")):
        if _has(data, pos, end, tag):
            id_pass[key], pos = _text(data, pos, inner, tag, charset)
    return ("idPass", id_pass), _close(data, pos, end)


def _search_request(data: bytes, pos: int, end: int, charset: str) -> tuple[dict, int]:
    inner = _limit(data, end)
    value: dict[str, Any] = {}
    if _has(data, pos, end, b"\x82"):
        value["referenceId"], pos = _octets(data, pos, inner, b"\x82")
    value["smallSetUpperBound"], pos = _integer(data, pos, inner, b"\x8d")
    value["largeSetLowerBound"], pos = _integer(data, pos, inner, b"\x8e")
    value["mediumSetPresentNumber"], pos = _integer(data, pos, inner, b"\x8f")
    value["replaceIndicator"], pos = _boolean(data, pos, inner, b"\x90")
    value["resultSetName"], pos = _text(data, pos, inner, b"\x91", charset)
    value["databaseNames"], pos = _sequence_of_text(data, pos, inner, b"\xb2", b"\x9f\x69", charset)
    if _has(data, pos, end, b"\xbf\x64"):
        value["smallSetElementSetNames"], pos = _element_set_names(data, pos, inner, b"\xbf\x64", charset)
    if _has(data, pos, end, b"\xbf\x65"):
        value["mediumSetElementSetNames"], pos = _element_set_names(data, pos, inner, b"\xbf\x65", charset)
    if _has(data, pos, end, b"\x9f\x68"):
        value["preferredRecordSyntax"], pos = _oid(data, pos, inner, b"\x9f\x68")
    value["query"], pos = _query(data, pos, inner, charset)
    if _has(data, pos, end, b"\xbf\x81\x4b"):
        value["additionalSearchInfo"], pos = _other_information(data, pos, inner, b"\xbf\x81\x4b", charset)
    if _has(data, pos, end, b"\xbf\x81\x49"):
        value["otherInfo"], pos = _other_information(data, pos, inner, b"\xbf\x81\x49", charset)
    return value, _close(data, pos, end)


def _present_request(data: bytes, pos: int, end: int, charset: str) -> tuple[dict, int]:
    inner = _limit(data, end)
    value: dict[str, Any] = {}
    if _has(data, pos, end, b"\x82"):
        value["referenceId"], pos = _octets(data, pos, inner, b"\x82")
    value["resultSetId"], pos = _text(data, pos, inner, b"\x9f\x1f", charset)
    value["resultSetStartPoint"], pos = _integer(data, pos, inner, b"\x9e")
    value["numberOfRecordsRequested"], pos = _integer(data, pos, inner, b"\x9d")
    if _has(data, pos, end, b"\xbf\x81\x54"):                # additionalRanges [212]
        pos, ranges_end = _head(data, pos, inner, b"\xbf\x81\x54")
        ranges_limit = _limit(data, ranges_end)
        ranges = []
        while _has(data, pos, ranges_end, b"\x30"):
            pos, range_end = _head(data, pos, ranges_limit, b"\x30")
            range_limit = _limit(data, range_end)
            start, pos = _integer(data, pos, range_limit, b"\x81")
            count, pos = _integer(data, pos, range_limit, b"\x82")
            ranges.append({"startingPosition": start, "numberOfRecords": count})
            pos = _close(data, pos, range_end)
        value["additionalRanges"] = ranges
        pos = _close(data, pos, ranges_end)
    if _has(data, pos, end, b"\xb3"):                        # recordComposition simple [19]
        names, pos = _element_set_names(data, pos, inner, b"\xb3", charset)
        value["recordComposition"] = ("simple", names)
    if _has(data, pos, end, b"\x9f\x68"):
        value["preferredRecordSyntax"], pos = _oid(data, pos, inner, b"\x9f\x68")
    for key, tag in (("maxSegmentCount", b"\x9f\x81\x4c"), ("maxRecordSize", b"\x9f\x81\x4e"),
                     ("maxSegmentSize", b"\x9f\x81\x4f")):
        if _has(data, pos, end, tag):
            value[key], pos = _integer(data, pos, inner, tag)
    if _has(data, pos, end, b"\xbf\x81\x49"):
        value["otherInfo"], pos = _other_information(data, pos, inner, b"\xbf\x81\x49", charset)
    return value, _close(data, pos, end)


def _scan_request(data: bytes, pos: int, end: int, charset: str) -> tuple[dict, int]:
    inner = _limit(data, end)
    value: dict[str, Any] = {}
    if _has(data, pos, end, b"\x82"):
        value["referenceId"], pos = _octets(data, pos, inner, b"\x82")
    value["databaseNames"], pos = _sequence_of_text(data, pos, inner, b"\xa3", b"\x9f\x69", charset)
    if _has(data, pos, end, b"\x06"):
        value["attributeSet"], pos = _oid(data, pos, inner)
    value["termListAndStartPoint"], pos = _attributes_plus_term(data, pos, inner, charset)
    if _has(data, pos, end, b"\x85"):
        value["stepSize"], pos = _integer(data, pos, inner, b"\x85")
    value["numberOfTermsRequested"], pos = _integer(data, pos, inner, b"\x86")
    if _has(data, pos, end, b"\x87"):
        value["preferredPositionInResponse"], pos = _integer(data, pos, inner, b"\x87")
    if _has(data, pos, end, b"\xbf\x81\x49"):
        value["otherInfo"], pos = _other_information(data, pos, inner, b"\xbf\x81\x49", charset)
    return value, _close(data, pos, end)


def _close_pdu(data: bytes, pos: int, end: int, charset: str) -> tuple[dict, int]:
    inner = _limit(data, end)
    value: dict[str, Any] = {}
    if _has(data, pos, end, b"\x82"):
        value["referenceId"], pos = _octets(data, pos, inner, b"\x82")
    value["closeReason"], pos = _integer(data, pos, inner, b"\x9f\x81\x53")   # [211]
    if _has(data, pos, end, b"\x83"):
        value["diagnosticInformation"], pos = _text(data, pos, inner, b"\x83", charset)
    if _has(data, pos, end, b"\x84"):
        value["resourceReportFormat"], pos = _oid(data, pos, inner, b"\x84")
    if _has(data, pos, end, b"\xa5"):
        pos, report_end = _head(data, pos, inner, b"\xa5")
        value["resourceReport"], pos = _external(data, pos, _limit(data, report_end), b"\x28", charset)
        pos = _close(data, pos, report_end)
    if _has(data, pos, end, b"\xbf\x81\x49"):
        value["otherInfo"], pos = _other_information(data, pos, inner, b"\xbf\x81\x49", charset)
    return value, _close(data, pos, end)


# PDU identifier -> (CHOICE name, reader of the content)
_REQUESTS = {
    b"\xb4": ("initRequest", _init_request),         # [20]
    b"\xb6": ("searchRequest", _search_request),     # [22]
    b"\xb8": ("presentRequest", _present_request),   # [24]
    b"\xbf\x23": ("scanRequest", _scan_request),     # [35]
    b"\xbf\x30": ("close", _close_pdu),              # [48]
}


def decode_pdu(data: bytes, charset: str = "utf-8") -> tuple[str, dict] | None:
    """``codec.decode_pdu``'s answer for one whole PDU, or None when the PDU
    is not one handled here (then asn1tools must decode it, or say what is
    wrong).  ``data`` must be bytes."""
    tag = data[:2] if data[:1] == b"\xbf" else data[:1]
    known = _REQUESTS.get(tag)
    if known is None:
        return None
    name, reader = known
    try:
        pos, end = _head(data, 0, len(data), tag)
        value, pos = reader(data, pos, end, charset)
    except (_Decline, IndexError):
        return None
    if pos != len(data):
        return None
    return name, value


# ================================================================ encoding
#
# Each writer returns the whole TLV as bytes, definite lengths, members in
# ASN.1 order, as asn1tools writes them.  A value asn1tools would refuse or
# write oddly declines: a missing member, or a Python type its type check
# (asn1tools.codecs.type_checker) refuses -- a tuple for a SEQUENCE OF,
# anything but None for a NULL, a BIT STRING with fewer octets than bits.

# length octets of 0..255, and the length and content octets of the INTEGERs 0..127
_LENGTHS = [bytes([n]) for n in range(128)] + [bytes([0x81, n]) for n in range(128, 256)]
_SMALL_INTEGERS = [bytes([1, n]) for n in range(128)]


def _length(size: int) -> bytes:
    """Definite length octets, as few as possible (asn1tools' form)."""
    if size < 256:
        return _LENGTHS[size]
    if size < 65536:
        return b"\x82" + size.to_bytes(2, "big")
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _tlv(tag: bytes, body: bytes) -> bytes:
    size = len(body)
    if size < 128:
        return tag + _LENGTHS[size] + body
    return b"".join((tag, _length(size), body))   # one copy of a long body, not two


def _put_integer(tag: bytes, number: Any) -> bytes:
    if not isinstance(number, int):
        raise _Decline
    if 0 <= number < 128:
        return tag + _SMALL_INTEGERS[number]
    content = number.to_bytes((8 + (number + (number < 0)).bit_length()) // 8, "big", signed=True)
    return tag + _length(len(content)) + content


def _put_boolean(tag: bytes, flag: Any) -> bytes:
    if flag is True:
        return tag + b"\x01\xff"
    if flag is False:
        return tag + b"\x01\x00"
    raise _Decline


def _put_octets(tag: bytes, octets: Any) -> bytes:
    if type(octets) is not bytes:
        if not isinstance(octets, (bytes, bytearray)):
            raise _Decline
        octets = bytes(octets)
    return _tlv(tag, octets)


def _put_text(tag: bytes, text: Any, charset: str) -> bytes:
    if not isinstance(text, str):
        raise _Decline
    return _tlv(tag, text.encode(charset))


_OID_FORM = re.compile(r"[0-9]+(\.[0-9]+)+")


@functools.lru_cache(maxsize=256)
def _oid_content(oid: str) -> bytes:
    """Content octets of an OBJECT IDENTIFIER, computed as asn1tools does."""
    numbers = [int(part) for part in oid.split(".")]
    out = bytearray()
    for number in [40 * numbers[0] + numbers[1], *numbers[2:]]:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def _put_oid(tag: bytes, oid: Any) -> bytes:
    if type(oid) is not str or not _OID_FORM.fullmatch(oid):
        raise _Decline
    return _tlv(tag, _oid_content(oid))


def _put_bits(tag: bytes, value: Any) -> bytes:
    """BIT STRING ``(octets, bits)``: asn1tools masks the unused bits."""
    if type(value) is not tuple or len(value) != 2:
        raise _Decline
    octets, bits = value
    if not isinstance(octets, (bytes, bytearray)) or not isinstance(bits, int) or not 0 <= bits <= 8 * len(octets):
        raise _Decline
    whole, rest = divmod(bits, 8)
    if rest == 0:
        body = b"\x00" + bytes(octets[:whole])
    else:
        last = octets[whole] & (0xFF ^ (0xFF >> rest))
        body = bytes([8 - rest]) + bytes(octets[:whole]) + bytes([last])
    return _tlv(tag, body)


def _choice(value: Any) -> tuple[Any, Any]:
    if type(value) is not tuple or len(value) != 2:
        raise _Decline
    return value


def _items(value: Any) -> list:
    if not isinstance(value, list):    # asn1tools' type check refuses a tuple
        raise _Decline
    return value


def _members(value: Any) -> dict:
    if not isinstance(value, dict):
        raise _Decline
    return value


def _put_external(tag: bytes, value: Any, charset: str) -> bytes:
    value = _members(value)
    parts = []
    if "direct-reference" in value:
        parts.append(_put_oid(b"\x06", value["direct-reference"]))
    if "indirect-reference" in value:
        parts.append(_put_integer(b"\x02", value["indirect-reference"]))
    if "data-value-descriptor" in value:
        raise _Decline
    form, payload = _choice(value["encoding"])
    if form == "single-ASN1-type":       # [0] ANY: the payload's bytes as they are
        if not isinstance(payload, (bytes, bytearray)):
            raise _Decline
        parts.append(_tlv(b"\xa0", bytes(payload)))
    elif form == "octet-aligned":
        parts.append(_put_octets(b"\x81", payload))
    elif form == "arbitrary":
        parts.append(_put_bits(b"\x82", payload))
    else:
        raise _Decline
    return _tlv(tag, b"".join(parts))


def _put_other_information(tag: bytes, value: Any, charset: str) -> bytes:
    parts = []
    for item in _items(value):
        item = _members(item)
        fields = []
        if "category" in item:
            category = _members(item["category"])
            inner = []
            if "categoryTypeId" in category:
                inner.append(_put_oid(b"\x81", category["categoryTypeId"]))
            inner.append(_put_integer(b"\x82", category["categoryValue"]))
            fields.append(_tlv(b"\xa1", b"".join(inner)))
        kind, info = _choice(item["information"])
        if kind == "characterInfo":
            fields.append(_put_text(b"\x82", info, charset))
        elif kind == "binaryInfo":
            fields.append(_put_octets(b"\x83", info))
        elif kind == "externallyDefinedInfo":
            fields.append(_put_external(b"\xa4", info, charset))
        elif kind == "oid":
            fields.append(_put_oid(b"\x85", info))
        else:
            raise _Decline
        parts.append(_tlv(b"\x30", b"".join(fields)))
    return _tlv(tag, b"".join(parts))


def _put_default_diag(tag: bytes, value: Any, charset: str) -> bytes:
    """DefaultDiagFormat (SEQUENCE, or [130] IMPLICIT in Records)."""
    value = _members(value)
    kind, addinfo = _choice(value["addinfo"])
    if kind == "v2Addinfo":
        text = _put_text(b"\x1a", addinfo, charset)
    elif kind == "v3Addinfo":
        text = _put_text(b"\x1b", addinfo, charset)
    else:
        raise _Decline
    return _tlv(tag, _put_oid(b"\x06", value["diagnosticSetId"])
                + _put_integer(b"\x02", value["condition"]) + text)


def _put_diag_rec(value: Any, charset: str) -> bytes:
    kind, body = _choice(value)
    if kind == "defaultFormat":
        return _put_default_diag(b"\x30", body, charset)
    if kind == "externallyDefined":
        return _put_external(b"\x28", body, charset)
    raise _Decline


def _put_name_plus_record(value: Any, charset: str) -> bytes:
    value = _members(value)
    name = _put_text(b"\x80", value["name"], charset) if "name" in value else b""
    kind, body = _choice(value["record"])
    if kind == "retrievalRecord":          # [1] External
        record = _tlv(b"\xa1", _put_external(b"\x28", body, charset))
    elif kind == "surrogateDiagnostic":    # [2] DiagRec
        record = _tlv(b"\xa2", _put_diag_rec(body, charset))
    else:                                  # fragments
        raise _Decline
    return _tlv(b"\x30", name + _tlv(b"\xa1", record))


def _put_records(value: Any, charset: str) -> bytes:
    kind, body = _choice(value)
    if kind == "responseRecords":                       # [28] IMPLICIT SEQUENCE OF
        return _tlv(b"\xbc", b"".join([_put_name_plus_record(item, charset) for item in _items(body)]))
    if kind == "nonSurrogateDiagnostic":                # [130] IMPLICIT DefaultDiagFormat
        return _put_default_diag(b"\xbf\x81\x02", body, charset)
    if kind == "multipleNonSurDiagnostics":             # [205] IMPLICIT SEQUENCE OF DiagRec
        return _tlv(b"\xbf\x81\x4d", b"".join([_put_diag_rec(item, charset) for item in _items(body)]))
    raise _Decline


def _put_term(value: Any, charset: str) -> bytes:
    kind, term = _choice(value)
    if kind == "general":
        return _put_octets(b"\x9f\x2d", term)
    if kind == "numeric":
        return _put_integer(b"\x9f\x81\x57", term)
    if kind == "characterString":
        return _put_text(b"\x9f\x81\x58", term, charset)
    if kind == "oid":
        return _put_oid(b"\x9f\x81\x59", term)
    if kind == "null" and term is None:
        return b"\x9f\x81\x5d\x00"
    raise _Decline


def _reference(value: dict, parts: list[bytes]) -> None:
    if "referenceId" in value:
        parts.append(_put_octets(b"\x82", value["referenceId"]))


def _put_other_info(value: dict, parts: list[bytes], charset: str) -> None:
    if "otherInfo" in value:
        parts.append(_put_other_information(b"\xbf\x81\x49", value["otherInfo"], charset))


# ----------------------------------------------------------- responses


def _init_response(value: dict, charset: str) -> bytes:
    parts: list[bytes] = []
    _reference(value, parts)
    parts += [_put_bits(b"\x83", value["protocolVersion"]),
              _put_bits(b"\x84", value["options"]),
              _put_integer(b"\x85", value["preferredMessageSize"]),
              _put_integer(b"\x86", value["exceptionalRecordSize"]),
              _put_boolean(b"\x8c", value["result"])]
    for key, tag in (("implementationId", b"\x9f\x6e"), ("implementationName", b"\x9f\x6f"),
                     ("implementationVersion", b"\x9f\x70")):
        if key in value:
            parts.append(_put_text(tag, value[key], charset))
    if "userInformationField" in value:
        parts.append(_tlv(b"\xab", _put_external(b"\x28", value["userInformationField"], charset)))
    _put_other_info(value, parts, charset)
    return _tlv(b"\xb5", b"".join(parts))


def _search_response(value: dict, charset: str) -> bytes:
    parts: list[bytes] = []
    _reference(value, parts)
    parts += [_put_integer(b"\x97", value["resultCount"]),
              _put_integer(b"\x98", value["numberOfRecordsReturned"]),
              _put_integer(b"\x99", value["nextResultSetPosition"]),
              _put_boolean(b"\x96", value["searchStatus"])]
    if "resultSetStatus" in value:
        parts.append(_put_integer(b"\x9a", value["resultSetStatus"]))
    if "presentStatus" in value:
        parts.append(_put_integer(b"\x9b", value["presentStatus"]))
    if "records" in value:
        parts.append(_put_records(value["records"], charset))
    if "additionalSearchInfo" in value:
        parts.append(_put_other_information(b"\xbf\x81\x4b", value["additionalSearchInfo"], charset))
    _put_other_info(value, parts, charset)
    return _tlv(b"\xb7", b"".join(parts))


def _present_response(value: dict, charset: str) -> bytes:
    parts: list[bytes] = []
    _reference(value, parts)
    parts += [_put_integer(b"\x98", value["numberOfRecordsReturned"]),
              _put_integer(b"\x99", value["nextResultSetPosition"]),
              _put_integer(b"\x9b", value["presentStatus"])]
    if "records" in value:
        parts.append(_put_records(value["records"], charset))
    _put_other_info(value, parts, charset)
    return _tlv(b"\xb9", b"".join(parts))


def _put_entry(value: Any, charset: str) -> bytes:
    kind, body = _choice(value)
    if kind == "surrogateDiagnostic":                   # [2] DiagRec
        return _tlv(b"\xa2", _put_diag_rec(body, charset))
    if kind != "termInfo":
        raise _Decline
    body = _members(body)                               # [1] IMPLICIT TermInfo
    if "suggestedAttributes" in body or "alternativeTerm" in body:
        raise _Decline
    parts = [_put_term(body["term"], charset)]
    if "displayTerm" in body:
        parts.append(_put_text(b"\x80", body["displayTerm"], charset))
    if "globalOccurrences" in body:
        parts.append(_put_integer(b"\x82", body["globalOccurrences"]))
    if "otherTermInfo" in body:
        parts.append(_put_other_information(b"\xbf\x81\x49", body["otherTermInfo"], charset))
    return _tlv(b"\xa1", b"".join(parts))


def _scan_response(value: dict, charset: str) -> bytes:
    parts: list[bytes] = []
    _reference(value, parts)
    if "stepSize" in value:
        parts.append(_put_integer(b"\x83", value["stepSize"]))
    parts += [_put_integer(b"\x84", value["scanStatus"]),
              _put_integer(b"\x85", value["numberOfEntriesReturned"])]
    if "positionOfTerm" in value:
        parts.append(_put_integer(b"\x86", value["positionOfTerm"]))
    if "entries" in value:                              # [7] IMPLICIT ListEntries
        entries = _members(value["entries"])
        lists = []
        if "entries" in entries:
            lists.append(_tlv(b"\xa1", b"".join([_put_entry(item, charset)
                                                 for item in _items(entries["entries"])])))
        if "nonsurrogateDiagnostics" in entries:
            lists.append(_tlv(b"\xa2", b"".join([_put_diag_rec(item, charset)
                                                 for item in _items(entries["nonsurrogateDiagnostics"])])))
        parts.append(_tlv(b"\xa7", b"".join(lists)))
    if "attributeSet" in value:
        parts.append(_put_oid(b"\x88", value["attributeSet"]))
    _put_other_info(value, parts, charset)
    return _tlv(b"\xbf\x24", b"".join(parts))


def _close_response(value: dict, charset: str) -> bytes:
    parts: list[bytes] = []
    _reference(value, parts)
    parts.append(_put_integer(b"\x9f\x81\x53", value["closeReason"]))
    if "diagnosticInformation" in value:
        parts.append(_put_text(b"\x83", value["diagnosticInformation"], charset))
    if "resourceReportFormat" in value:
        parts.append(_put_oid(b"\x84", value["resourceReportFormat"]))
    if "resourceReport" in value:
        parts.append(_tlv(b"\xa5", _put_external(b"\x28", value["resourceReport"], charset)))
    _put_other_info(value, parts, charset)
    return _tlv(b"\xbf\x30", b"".join(parts))


_RESPONSES = {
    "initResponse": _init_response,
    "searchResponse": _search_response,
    "presentResponse": _present_response,
    "scanResponse": _scan_response,
    "close": _close_response,
}

# Every CHOICE name, OID and key we write is made of these; codec passes the
# whole value through the charset before asn1tools sees it, which leaves
# them alone only in a charset that writes them as ASCII.
_NAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"


@functools.lru_cache(maxsize=16)
def _ascii_compatible(charset: str) -> bool:
    try:
        return _NAME_CHARACTERS.encode(charset) == _NAME_CHARACTERS.encode("ascii")
    except (LookupError, UnicodeError):
        return False


def encode_pdu(name: str, value: Any, charset: str = "utf-8") -> bytes | None:
    """``codec.encode_pdu``'s bytes for one response PDU, or None when the
    value is not one written here (then asn1tools must encode it, or say
    what is wrong with it)."""
    writer = _RESPONSES.get(name)
    if writer is None or not isinstance(value, dict) or not _ascii_compatible(charset):
        return None
    try:
        return writer(value, charset)
    except (_Decline, KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError):
        # ValueError includes UnicodeError: a text the charset cannot write
        return None
