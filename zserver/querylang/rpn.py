"""The Type-1 (RPN) query of Z39.50 as frozen dataclasses, and its asn1tools form.

This module owns the shape of a Type-1 query as Z39.50-2003 defines it (ASN.1 `RPNQuery`,
section 3.7 of the standard; see `/usr/share/yaz/z39.50/z3950v3.asn`) and the conversion to
and from the dicts that `asn1tools` produces for that type: a CHOICE is a `(name, value)`
tuple, a SEQUENCE a dict keyed by the standard's field names, an OBJECT IDENTIFIER a dotted
string, an OCTET STRING `bytes`.

It must not know what the attributes mean (Bib-1 lives in `zserver.z3950.attributes`), nor
anything about BER, sessions or Twisted. PQF and CCL text both parse into `Query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

from zserver.querylang.errors import UnsupportedOperand, UnsupportedTermType

BIB1_OID = "1.2.840.10003.3.1"
"""The Bib-1 attribute set, {Z39-50-attributeSet bib-1 (1)}."""

_Z3950_ATTSET = "1.2.840.10003.3."

ATTRIBUTE_SET_OIDS: dict[str, str] = {
    "bib-1": BIB1_OID,
    "exp-1": _Z3950_ATTSET + "2",
    "ext-1": _Z3950_ATTSET + "3",
    "ccl-1": _Z3950_ATTSET + "4",
    "gils": _Z3950_ATTSET + "5",
    "stas": _Z3950_ATTSET + "6",
    "collections": _Z3950_ATTSET + "7",
    "cimi": _Z3950_ATTSET + "8",
    "geo": _Z3950_ATTSET + "9",
    "zbig": _Z3950_ATTSET + "10",
    "util": _Z3950_ATTSET + "11",
    "xd-1": _Z3950_ATTSET + "12",
    "zthes": _Z3950_ATTSET + "13",
    "fin-1": _Z3950_ATTSET + "14",
    "dan-1": _Z3950_ATTSET + "15",
    "holdings": _Z3950_ATTSET + "16",
    "marc": _Z3950_ATTSET + "17",
    "bib-2": _Z3950_ATTSET + "18",
    "zeerex": _Z3950_ATTSET + "19",
}
"""Attribute set names as YAZ spells them (matched ignoring case, hyphens and `-attset`)."""


def attribute_set_oid(name: str) -> str | None:
    """The OID of an attribute set given by YAZ name (`bib-1`, `gils`) or as a dotted OID."""
    key = name.strip().lower().removesuffix("-attset")
    for known, oid in ATTRIBUTE_SET_OIDS.items():
        if key.replace("-", "") == known.replace("-", ""):
            return oid
    parts = key.split(".")
    if len(parts) >= 2 and all(part.isdigit() for part in parts):
        return key
    return None


def attribute_set_name(oid: str) -> str | None:
    """The YAZ name of a known attribute set OID, else None."""
    for name, known in ATTRIBUTE_SET_OIDS.items():
        if known == oid:
            return name
    return None


@dataclass(frozen=True)
class ComplexValue:
    """An `attributeValue` of the `complex` form that is not a single string.

    `items` are StringOrNumeric alternatives in the client's order of preference.
    """

    items: tuple[int | str, ...]
    semantic_action: tuple[int, ...] = ()


@dataclass(frozen=True)
class Attribute:
    """An `AttributeElement`: type, value and (rarely) its own attribute set.

    `value` is an int for the `numeric` form, a str for a `complex` value holding one string
    (the form YAZ sends for `@attr 1=title`), or a ComplexValue for anything else.
    """

    type: int
    value: int | str | ComplexValue
    attribute_set: str | None = None


class TermType(Enum):
    """The `Term` CHOICE alternatives we carry; the term text is always kept as str."""

    GENERAL = "general"
    NUMERIC = "numeric"
    CHARACTER_STRING = "characterString"
    OID = "oid"
    DATE_TIME = "dateTime"
    NULL = "null"


@dataclass(frozen=True)
class AttributesPlusTerm:
    attributes: tuple[Attribute, ...]
    term: str
    term_type: TermType = TermType.GENERAL


@dataclass(frozen=True)
class ResultSetId:
    name: str


class Operator(Enum):
    AND = "and"
    OR = "or"
    AND_NOT = "and-not"
    PROX = "prox"


class ProximityRelation(IntEnum):
    """`ProximityOperator.relationType`."""

    LESS_THAN = 1
    LESS_THAN_OR_EQUAL = 2
    EQUAL = 3
    GREATER_THAN_OR_EQUAL = 4
    GREATER_THAN = 5
    NOT_EQUAL = 6


class KnownProximityUnit(IntEnum):
    CHARACTER = 1
    WORD = 2
    SENTENCE = 3
    PARAGRAPH = 4
    SECTION = 5
    CHAPTER = 6
    DOCUMENT = 7
    ELEMENT = 8
    SUBELEMENT = 9
    ELEMENT_TYPE = 10
    BYTE = 11


@dataclass(frozen=True)
class Proximity:
    """A `ProximityOperator`. `exclusion` None means the optional field was absent.

    `relation_type` and `unit` stay plain ints: a client may send values outside the
    standard's lists, and it is the attribute mapping's job to answer those with a diagnostic.
    """

    distance: int
    ordered: bool
    relation_type: int = ProximityRelation.LESS_THAN_OR_EQUAL
    unit: int = KnownProximityUnit.WORD
    private_unit: bool = False
    exclusion: bool | None = False


@dataclass(frozen=True)
class RpnOp:
    """`rpnRpnOp`: `left` op `right`; `proximity` is set exactly when op is PROX."""

    op: Operator
    left: RpnStructure
    right: RpnStructure
    proximity: Proximity | None = None


RpnStructure = AttributesPlusTerm | ResultSetId | RpnOp


@dataclass(frozen=True)
class Query:
    """An `RPNQuery`: the default attribute set and the query tree."""

    attribute_set: str
    root: RpnStructure


# --- asn1tools dicts ----------------------------------------------------------------------

_OPERATORS = {op.value: op for op in Operator}


def rpn_from_asn1(value: dict[str, Any], encoding: str = "utf-8") -> Query:
    """Read the asn1tools dict of an `RPNQuery` into a `Query`.

    `general` terms are OCTET STRINGs; they are decoded with `encoding` (the negotiated
    character set), falling back to ISO-8859-1 for bytes that are not valid in it, so that a
    client without charset negotiation still gets an answer. Raises UnsupportedTermType for
    `external` and `integerAndUnit` terms and UnsupportedOperand for `resultAttr`.
    """
    return Query(
        attribute_set=value["attributeSet"],
        root=_structure_from_asn1(value["rpn"], encoding),
    )


def _structure_from_asn1(choice: tuple[str, Any], encoding: str) -> RpnStructure:
    kind, body = choice
    if kind == "rpnRpnOp":
        op_name, op_body = body["op"]
        operator = _OPERATORS[op_name]
        proximity = _proximity_from_asn1(op_body) if operator is Operator.PROX else None
        return RpnOp(
            op=operator,
            left=_structure_from_asn1(body["rpn1"], encoding),
            right=_structure_from_asn1(body["rpn2"], encoding),
            proximity=proximity,
        )
    operand_kind, operand = body
    if operand_kind == "attrTerm":
        attributes = tuple(_attribute_from_asn1(element) for element in operand["attributes"])
        term, term_type = _term_from_asn1(operand["term"], encoding)
        return AttributesPlusTerm(attributes, term, term_type)
    if operand_kind == "resultSet":
        return ResultSetId(_text(operand, encoding))
    raise UnsupportedOperand(f"operand {operand_kind} is not supported")


def _text(value: str | bytes, encoding: str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode(encoding)
    except UnicodeDecodeError:
        return value.decode("iso-8859-1")


def _attribute_from_asn1(element: dict[str, Any]) -> Attribute:
    form, body = element["attributeValue"]
    value: int | str | ComplexValue
    if form == "numeric":
        value = body
    else:
        items = tuple(item for _, item in body.get("list", []))
        actions = tuple(body.get("semanticAction", ()))
        if len(items) == 1 and isinstance(items[0], str) and not actions:
            value = items[0]
        else:
            value = ComplexValue(items, actions)
    return Attribute(element["attributeType"], value, element.get("attributeSet"))


def _term_from_asn1(choice: tuple[str, Any], encoding: str) -> tuple[str, TermType]:
    kind, body = choice
    if kind == "general":
        return _text(body, encoding), TermType.GENERAL
    if kind == "numeric":
        return str(body), TermType.NUMERIC
    if kind == "characterString":
        return _text(body, encoding), TermType.CHARACTER_STRING
    if kind == "oid":
        return body, TermType.OID
    if kind == "dateTime":
        return str(body), TermType.DATE_TIME
    if kind == "null":
        return "", TermType.NULL
    raise UnsupportedTermType(f"term type {kind} is not supported")


def _proximity_from_asn1(body: dict[str, Any]) -> Proximity:
    unit_kind, unit = body["proximityUnitCode"]
    return Proximity(
        exclusion=body.get("exclusion"),
        distance=body["distance"],
        ordered=body["ordered"],
        relation_type=body["relationType"],
        unit=unit,
        private_unit=unit_kind == "private",
    )


def rpn_to_asn1(query: Query, encoding: str = "utf-8") -> dict[str, Any]:
    """The asn1tools dict of an `RPNQuery` for `query`; `general` terms encoded with `encoding`."""
    return {"attributeSet": query.attribute_set, "rpn": _structure_to_asn1(query.root, encoding)}


def _structure_to_asn1(node: RpnStructure, encoding: str) -> tuple[str, Any]:
    if isinstance(node, RpnOp):
        op: tuple[str, Any] = (node.op.value, None)
        if node.op is Operator.PROX:
            if node.proximity is None:
                raise ValueError("a prox operator needs its Proximity")
            op = ("prox", _proximity_to_asn1(node.proximity))
        return (
            "rpnRpnOp",
            {
                "rpn1": _structure_to_asn1(node.left, encoding),
                "rpn2": _structure_to_asn1(node.right, encoding),
                "op": op,
            },
        )
    if isinstance(node, ResultSetId):
        return ("op", ("resultSet", node.name))
    return (
        "op",
        (
            "attrTerm",
            {
                "attributes": [_attribute_to_asn1(attribute) for attribute in node.attributes],
                "term": _term_to_asn1(node.term, node.term_type, encoding),
            },
        ),
    )


def _attribute_to_asn1(attribute: Attribute) -> dict[str, Any]:
    element: dict[str, Any] = {}
    if attribute.attribute_set is not None:
        element["attributeSet"] = attribute.attribute_set
    element["attributeType"] = attribute.type
    value = attribute.value
    if isinstance(value, int):
        element["attributeValue"] = ("numeric", value)
    else:
        complex_value = value if isinstance(value, ComplexValue) else ComplexValue((value,))
        body: dict[str, Any] = {
            "list": [
                ("string", item) if isinstance(item, str) else ("numeric", item)
                for item in complex_value.items
            ]
        }
        if complex_value.semantic_action:
            body["semanticAction"] = list(complex_value.semantic_action)
        element["attributeValue"] = ("complex", body)
    return element


def _term_to_asn1(term: str, term_type: TermType, encoding: str) -> tuple[str, Any]:
    if term_type is TermType.GENERAL:
        return ("general", term.encode(encoding))
    if term_type is TermType.NUMERIC:
        return ("numeric", int(term))
    if term_type is TermType.NULL:
        return ("null", None)
    return (term_type.value, term)


def _proximity_to_asn1(proximity: Proximity) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if proximity.exclusion is not None:
        body["exclusion"] = proximity.exclusion
    body["distance"] = proximity.distance
    body["ordered"] = proximity.ordered
    body["relationType"] = int(proximity.relation_type)
    body["proximityUnitCode"] = (
        "private" if proximity.private_unit else "known",
        int(proximity.unit),
    )
    return body
