"""Bib-1 attributes: their types and values as IntEnums, and Type-1 query -> `index.query`.

This module owns the meaning of the Bib-1 attribute set (Z39.50 attribute set
1.2.840.10003.3.1; values as in YAZ's `bib1-attr` list) for unikat: which Use attribute
searches which logical index, and how Relation, Position, Structure, Truncation and
Completeness become the fields of an `index.query.Term`. It validates the protocol side and
raises `Z3950Diagnostic` with the Bib-1 condition for what a client may not ask; whether an
index can do what is asked (e.g. `<` on a title) is the engine's to decide (`CatalogError`).

It must not know SRU, the engine or the store. Choices where Bib-1 leaves room:

- No Use attribute searches `any`. Attribute types other than 1-6 give 113; an attribute
  set other than Bib-1 gives 121. If a type is given twice, the first one counts (as Zebra).
  Truncation together with < <= >= > gives 123 (other combinations are the engine's call).
- Position 2 (first in subfield) is read as 1 (first in field): we index whole fields, and
  the subfields we index open their field.
- Completeness 2 (complete subfield) is read as complete field, for the same reason.
- Structure: 1 phrase, 2 word, 3 key, 4 year, 5 date (normalized) -> year, 6 word list,
  101 name (normalized) -> phrase, 105 free-form text and 106 document text -> word list,
  107 local number -> key, 108 string -> phrase, 109 numeric string -> numeric. Without a
  Structure attribute the index's own kind decides: key indexes KEY, `year` YEAR, others
  WORD_LIST. A year or numeric structure with a term that is not a number gives 126.
- Truncation 101 (`#` any run), 104 (Z39.58: `?` any run, `?n` up to n characters, `#` one
  character) and 105/106 (`*` any run, `!` one character; 105 also truncates right) become
  Truncation.MASKED with `*` for any run and `?` for one character; `?n` is widened to `*`.
  Literal `*` and `?` in such terms are dropped (index.query has no escape for them; the
  normalizer treats them as punctuation anyway). A masked term whose only mask is a leading
  and/or trailing `*` becomes LEFT/RIGHT/BOTH; one without any mask becomes NONE.
- Proximity: unit word -> WORD, element/subelement -> FIELD; other units 132, private
  units 132, relations outside 1-6 131, a result set as a proximity operand 129.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from enum import IntEnum
from typing import TypeVar

from index.editions import EDITIONS_INDEX, EDITIONS_USE
from index.query import (
    And,
    AndNot,
    Completeness,
    Node,
    Or,
    Position,
    Prox,
    ProximityUnit,
    Relation,
    ResultSetRef,
    Structure,
    Term,
    Truncation,
)
from index.searchkeys.spec import INDEXES as SEARCH_INDEXES
from index.searchkeys.spec import IndexKind
from zserver.querylang.errors import MAX_QUERY_DEPTH
from zserver.querylang.rpn import (
    BIB1_OID,
    AttributesPlusTerm,
    ComplexValue,
    KnownProximityUnit,
    Operator,
    Proximity,
    Query,
    ResultSetId,
    RpnStructure,
    TermType,
)
from zserver.z3950.diagnostics import Bib1Diagnostic, Z3950Diagnostic

_T = TypeVar("_T")


class Bib1Type(IntEnum):
    USE = 1
    RELATION = 2
    POSITION = 3
    STRUCTURE = 4
    TRUNCATION = 5
    COMPLETENESS = 6


class Bib1Use(IntEnum):
    PERSONAL_NAME = 1
    CORPORATE_NAME = 2
    CONFERENCE_NAME = 3
    TITLE = 4
    TITLE_SERIES = 5
    TITLE_UNIFORM = 6
    ISBN = 7
    ISSN = 8
    LC_CARD_NUMBER = 9
    LOCAL_NUMBER = 12
    DEWEY_CLASSIFICATION = 13
    LC_CALL_NUMBER = 16
    SUBJECT_HEADING = 21
    DATE = 30
    DATE_OF_PUBLICATION = 31
    TITLE_KEY = 33
    CODE_LANGUAGE = 54
    CODE_INSTITUTION = 56
    NAME = 1002
    AUTHOR = 1003
    AUTHOR_NAME_PERSONAL = 1004
    AUTHOR_NAME_CORPORATE = 1005
    AUTHOR_NAME_CONFERENCE = 1006
    IDENTIFIER_STANDARD = 1007
    ANY = 1016
    SERVER_CHOICE = 1017
    PUBLISHER = 1018
    MATERIAL_TYPE = 1031
    DOC_ID = 1032
    ANYWHERE = 1035


class Bib1Relation(IntEnum):
    LESS_THAN = 1
    LESS_THAN_OR_EQUAL = 2
    EQUAL = 3
    GREATER_OR_EQUAL = 4
    GREATER_THAN = 5
    NOT_EQUAL = 6
    PHONETIC = 100
    STEM = 101
    RELEVANCE = 102
    ALWAYS_MATCHES = 103


class Bib1Position(IntEnum):
    FIRST_IN_FIELD = 1
    FIRST_IN_SUBFIELD = 2
    ANY_POSITION_IN_FIELD = 3


class Bib1Structure(IntEnum):
    PHRASE = 1
    WORD = 2
    KEY = 3
    YEAR = 4
    DATE_NORMALIZED = 5
    WORD_LIST = 6
    DATE_UN_NORMALIZED = 100
    NAME_NORMALIZED = 101
    NAME_UN_NORMALIZED = 102
    STRUCTURE = 103
    URX = 104
    FREE_FORM_TEXT = 105
    DOCUMENT_TEXT = 106
    LOCAL_NUMBER = 107
    STRING = 108
    NUMERIC_STRING = 109


class Bib1Truncation(IntEnum):
    RIGHT = 1
    LEFT = 2
    LEFT_AND_RIGHT = 3
    DO_NOT_TRUNCATE = 100
    PROCESS_HASH = 101
    REGEXP_1 = 102
    REGEXP_2 = 103
    Z39_58 = 104
    PROCESS_STAR_BANG_RIGHT = 105
    PROCESS_STAR_BANG = 106


class Bib1Completeness(IntEnum):
    INCOMPLETE_SUBFIELD = 1
    COMPLETE_SUBFIELD = 2
    COMPLETE_FIELD = 3


USE_INDEXES: dict[int, str] = {
    Bib1Use.PERSONAL_NAME: "personal_name",
    Bib1Use.CORPORATE_NAME: "corporate_name",
    Bib1Use.CONFERENCE_NAME: "conference_name",
    Bib1Use.TITLE: "title",
    Bib1Use.TITLE_SERIES: "series",
    Bib1Use.TITLE_UNIFORM: "title",
    Bib1Use.ISBN: "isbn",
    Bib1Use.ISSN: "issn",
    Bib1Use.LC_CARD_NUMBER: "lccn",
    Bib1Use.LOCAL_NUMBER: "local_number",
    Bib1Use.DEWEY_CLASSIFICATION: "dewey",
    Bib1Use.LC_CALL_NUMBER: "lc_call_number",
    Bib1Use.SUBJECT_HEADING: "subject",
    Bib1Use.DATE: "year",
    Bib1Use.DATE_OF_PUBLICATION: "year",
    Bib1Use.TITLE_KEY: "title",
    Bib1Use.CODE_LANGUAGE: "language",
    Bib1Use.CODE_INSTITUTION: "library",
    Bib1Use.NAME: "author",
    Bib1Use.AUTHOR: "author",
    Bib1Use.AUTHOR_NAME_PERSONAL: "personal_name",
    Bib1Use.AUTHOR_NAME_CORPORATE: "corporate_name",
    Bib1Use.AUTHOR_NAME_CONFERENCE: "conference_name",
    Bib1Use.IDENTIFIER_STANDARD: "identifier",
    Bib1Use.ANY: "any",
    Bib1Use.SERVER_CHOICE: "any",
    Bib1Use.PUBLISHER: "publisher",
    Bib1Use.MATERIAL_TYPE: "material_type",
    Bib1Use.DOC_ID: "isn",
    Bib1Use.ANYWHERE: "any",
}
"""Numeric Use attribute -> logical index name."""

WORD_INDEXES = frozenset(spec.name for spec in SEARCH_INDEXES if spec.kind is IndexKind.WORDS)
KEY_INDEXES = frozenset(spec.name for spec in SEARCH_INDEXES if spec.kind is IndexKind.KEY)
NUMERIC_INDEXES = frozenset(spec.name for spec in SEARCH_INDEXES if spec.kind is IndexKind.YEAR)
LOGICAL_INDEXES = WORD_INDEXES | KEY_INDEXES | NUMERIC_INDEXES


def _name_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "-", name.strip().lower())


_USE_NAMES: dict[str, str] = {
    **{_name_key(member.name): USE_INDEXES[member] for member in Bib1Use},
    **{_name_key(index): index for index in LOGICAL_INDEXES},
    "lc-card-number": "lccn",
    "subject": "subject",
    "date-of-publication": "year",
    "date": "year",
    "code-language": "language",
    "language": "language",
    "identifier-standard": "identifier",
    "oclc-number": "oclc",
    "doc-id": "isn",
}
"""String Use attributes (`@attr 1=title`), matched ignoring case, `_`, `-` and blanks: the
logical index names, the Bib1Use names and a few common spellings."""

_RELATIONS = {
    Bib1Relation.LESS_THAN: Relation.LT,
    Bib1Relation.LESS_THAN_OR_EQUAL: Relation.LE,
    Bib1Relation.EQUAL: Relation.EQ,
    Bib1Relation.GREATER_OR_EQUAL: Relation.GE,
    Bib1Relation.GREATER_THAN: Relation.GT,
    Bib1Relation.NOT_EQUAL: Relation.NE,
    Bib1Relation.RELEVANCE: Relation.RELEVANCE,
}
_POSITIONS = {
    Bib1Position.FIRST_IN_FIELD: Position.FIRST_IN_FIELD,
    Bib1Position.FIRST_IN_SUBFIELD: Position.FIRST_IN_FIELD,
    Bib1Position.ANY_POSITION_IN_FIELD: Position.ANY,
}
_STRUCTURES = {
    Bib1Structure.PHRASE: Structure.PHRASE,
    Bib1Structure.WORD: Structure.WORD,
    Bib1Structure.KEY: Structure.KEY,
    Bib1Structure.YEAR: Structure.YEAR,
    Bib1Structure.DATE_NORMALIZED: Structure.YEAR,
    Bib1Structure.WORD_LIST: Structure.WORD_LIST,
    Bib1Structure.NAME_NORMALIZED: Structure.PHRASE,
    Bib1Structure.FREE_FORM_TEXT: Structure.WORD_LIST,
    Bib1Structure.DOCUMENT_TEXT: Structure.WORD_LIST,
    Bib1Structure.LOCAL_NUMBER: Structure.KEY,
    Bib1Structure.STRING: Structure.PHRASE,
    Bib1Structure.NUMERIC_STRING: Structure.NUMERIC,
}
_COMPLETENESS = {
    Bib1Completeness.INCOMPLETE_SUBFIELD: Completeness.INCOMPLETE,
    Bib1Completeness.COMPLETE_SUBFIELD: Completeness.COMPLETE_FIELD,
    Bib1Completeness.COMPLETE_FIELD: Completeness.COMPLETE_FIELD,
}
_SIMPLE_TRUNCATIONS = {
    Bib1Truncation.RIGHT: Truncation.RIGHT,
    Bib1Truncation.LEFT: Truncation.LEFT,
    Bib1Truncation.LEFT_AND_RIGHT: Truncation.BOTH,
    Bib1Truncation.DO_NOT_TRUNCATE: Truncation.NONE,
}
_ORDERING = (Relation.LT, Relation.LE, Relation.GE, Relation.GT)
_PROXIMITY_RELATIONS = {1: Relation.LT, 2: Relation.LE, 3: Relation.EQ, 4: Relation.GE,
                        5: Relation.GT, 6: Relation.NE}
_PROXIMITY_UNITS = {
    KnownProximityUnit.WORD: ProximityUnit.WORD,
    KnownProximityUnit.ELEMENT: ProximityUnit.FIELD,
    KnownProximityUnit.SUBELEMENT: ProximityUnit.FIELD,
}
_ATTRIBUTE_DIAGNOSTICS = {
    Bib1Type.USE: Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE,
    Bib1Type.RELATION: Bib1Diagnostic.UNSUPPORTED_RELATION_ATTRIBUTE,
    Bib1Type.POSITION: Bib1Diagnostic.UNSUPPORTED_POSITION_ATTRIBUTE,
    Bib1Type.STRUCTURE: Bib1Diagnostic.UNSUPPORTED_STRUCTURE_ATTRIBUTE,
    Bib1Type.TRUNCATION: Bib1Diagnostic.UNSUPPORTED_TRUNCATION_ATTRIBUTE,
    Bib1Type.COMPLETENESS: Bib1Diagnostic.UNSUPPORTED_COMPLETENESS_ATTRIBUTE,
}


def rpn_to_query(rpn: Query) -> Node:
    """Map a Type-1 query with Bib-1 attributes onto the neutral query tree.

    Raises Z3950Diagnostic (6, 113-126, 128-132, 229) for what the client may not ask.
    """
    return _node(rpn.root, rpn.attribute_set)


def _node(node: RpnStructure, attribute_set: str, depth: int = 0) -> Node:
    if isinstance(node, AttributesPlusTerm):
        return term_for(node, attribute_set)
    if isinstance(node, ResultSetId):
        return _result_set(node)
    if depth >= MAX_QUERY_DEPTH:   # as the PQF, CCL and CQL readers refuse it
        raise Z3950Diagnostic(Bib1Diagnostic.TOO_MANY_BOOLEAN_OPERATORS, f"more than {MAX_QUERY_DEPTH} nested")
    left = _node(node.left, attribute_set, depth + 1)
    right = _node(node.right, attribute_set, depth + 1)
    if node.op is Operator.AND:
        return And(left, right)
    if node.op is Operator.OR:
        return Or(left, right)
    if node.op is Operator.AND_NOT:
        return AndNot(left, right)
    if node.proximity is None:
        raise Z3950Diagnostic(Bib1Diagnostic.MALFORMED_QUERY, "prox operator without parameters")
    if isinstance(node.left, ResultSetId) or isinstance(node.right, ResultSetId):
        raise Z3950Diagnostic(Bib1Diagnostic.PROXIMITY_OF_SETS_NOT_SUPPORTED)
    return _prox(node.proximity, left, right)


def _result_set(node: ResultSetId) -> ResultSetRef:
    if not node.name.strip():
        raise Z3950Diagnostic(Bib1Diagnostic.ILLEGAL_RESULT_SET_NAME, node.name)
    return ResultSetRef(node.name)


def _prox(proximity: Proximity, left: Node, right: Node) -> Prox:
    relation = _PROXIMITY_RELATIONS.get(int(proximity.relation_type))
    if relation is None:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_PROXIMITY_RELATION,
                              str(int(proximity.relation_type)))
    unit = None if proximity.private_unit else _PROXIMITY_UNITS.get(int(proximity.unit))
    if unit is None:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_PROXIMITY_UNIT_CODE,
                              ("private " if proximity.private_unit else "")
                              + str(int(proximity.unit)))
    if proximity.distance < 0:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_PROXIMITY_DISTANCE,
                              str(proximity.distance))
    return Prox(left, right, distance=proximity.distance, ordered=proximity.ordered,
                relation=relation, unit=unit, exclusion=bool(proximity.exclusion))


def _attributes_by_type(apt: AttributesPlusTerm,
                        attribute_set: str) -> dict[int, int | str | ComplexValue]:
    found: dict[int, int | str | ComplexValue] = {}
    for attribute in apt.attributes:
        oid = attribute.attribute_set or attribute_set
        if oid != BIB1_OID:
            raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_SET, oid)
        if attribute.type not in Bib1Type._value2member_map_:
            raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_TYPE, str(attribute.type))
        found.setdefault(attribute.type, attribute.value)
    return found


_OWN_USES: dict[int | str, str] = {EDITIONS_USE: EDITIONS_INDEX, "editions": EDITIONS_INDEX}
"""unikat's own Use values (no Bib-1 name): 9001 or `editions` searches like `any` and adds the
other editions of what it finds (`index.editions`)."""


def _use_index(value: int | str | ComplexValue) -> str:
    """The logical index of a Use value; for a complex value, its first alternative we know."""
    candidates = value.items if isinstance(value, ComplexValue) else (value,)
    for candidate in candidates:
        index = (_USE_NAMES.get(_name_key(candidate)) if isinstance(candidate, str)
                 else USE_INDEXES.get(candidate)) or _OWN_USES.get(candidate)
        if index is not None:
            return index
    raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE, _shown(candidates))


def _choose(attribute_type: Bib1Type, value: int | str | ComplexValue,
            table: Mapping[int, _T]) -> _T:
    """The meaning of a value; for a complex value, its first alternative we know."""
    candidates = value.items if isinstance(value, ComplexValue) else (value,)
    for candidate in candidates:
        if isinstance(candidate, int) and candidate in table:
            return table[candidate]
    raise Z3950Diagnostic(_ATTRIBUTE_DIAGNOSTICS[attribute_type], _shown(candidates))


def _shown(candidates: tuple[int | str, ...]) -> str:
    return "|".join(str(candidate) for candidate in candidates)


MEMOIZED_TERM = 256
"""Terms up to this many characters have their mapping kept (`term_for`): a bound on the
memory of the 4,096 kept, whatever length a client sends."""


def term_for(apt: AttributesPlusTerm, attribute_set: str = BIB1_OID) -> Term:
    """The Term for one attributes-plus-term operand (Scan's term uses it too).

    Raises Z3950Diagnostic as `rpn_to_query` does.
    """
    if len(apt.term) <= MEMOIZED_TERM:
        return _term_for_kept(apt, attribute_set)
    return _term_for(apt, attribute_set)


def _term_for(apt: AttributesPlusTerm, attribute_set: str) -> Term:
    attributes = _attributes_by_type(apt, attribute_set)

    if apt.term_type not in (TermType.GENERAL, TermType.CHARACTER_STRING, TermType.NUMERIC):
        raise Z3950Diagnostic(Bib1Diagnostic.TERM_TYPE_NOT_SUPPORTED, apt.term_type.value)

    index = "any"
    if Bib1Type.USE in attributes:
        index = _use_index(attributes[Bib1Type.USE])

    relation = Relation.EQ
    if Bib1Type.RELATION in attributes:
        relation = _choose(Bib1Type.RELATION, attributes[Bib1Type.RELATION], _RELATIONS)

    position = Position.ANY
    if Bib1Type.POSITION in attributes:
        position = _choose(Bib1Type.POSITION, attributes[Bib1Type.POSITION], _POSITIONS)

    if Bib1Type.STRUCTURE in attributes:
        structure = _choose(Bib1Type.STRUCTURE, attributes[Bib1Type.STRUCTURE], _STRUCTURES)
    elif index in KEY_INDEXES:
        structure = Structure.KEY
    elif index in NUMERIC_INDEXES:
        structure = Structure.YEAR
    else:
        structure = Structure.WORD_LIST

    completeness = Completeness.INCOMPLETE
    if Bib1Type.COMPLETENESS in attributes:
        completeness = _choose(Bib1Type.COMPLETENESS, attributes[Bib1Type.COMPLETENESS],
                               _COMPLETENESS)

    text = apt.term
    truncation = Truncation.NONE
    if Bib1Type.TRUNCATION in attributes:
        text, truncation = _truncation(attributes[Bib1Type.TRUNCATION], text)

    if relation in _ORDERING and truncation is not Truncation.NONE:
        raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_ATTRIBUTE_COMBINATION,
                              "truncation with an ordering relation")
    if structure in (Structure.YEAR, Structure.NUMERIC) and not re.fullmatch(
            r"\s*-?\d+\s*", text) and truncation is Truncation.NONE:
        raise Z3950Diagnostic(Bib1Diagnostic.ILLEGAL_TERM_VALUE_FOR_ATTRIBUTE, text)

    return Term(index=index, text=text, relation=relation, structure=structure,
                truncation=truncation, position=position, completeness=completeness)


# Clients repeat their terms (paging, the same search in several sessions); the mapping is
# pure and its input and output are frozen, so a hit costs a hash instead of the mapping.
_term_for_kept = functools.lru_cache(maxsize=4096)(_term_for)


def _truncation(value: int | str | ComplexValue, text: str) -> tuple[str, Truncation]:
    candidates = value.items if isinstance(value, ComplexValue) else (value,)
    for candidate in candidates:
        if not isinstance(candidate, int):
            continue
        if candidate in _SIMPLE_TRUNCATIONS:
            return text, _SIMPLE_TRUNCATIONS[candidate]
        if candidate == Bib1Truncation.PROCESS_HASH:
            return _masked(text, {"#": "*"})
        if candidate == Bib1Truncation.Z39_58:
            return _masked(re.sub(r"\?\d*", "\0", text), {"\0": "*", "#": "?"})
        if candidate == Bib1Truncation.PROCESS_STAR_BANG:
            return _masked(text, {"*": "*", "!": "?"})
        if candidate == Bib1Truncation.PROCESS_STAR_BANG_RIGHT:
            return _masked(text + "\0", {"\0": "*", "*": "*", "!": "?"})
    raise Z3950Diagnostic(Bib1Diagnostic.UNSUPPORTED_TRUNCATION_ATTRIBUTE, _shown(candidates))


def _masked(text: str, masks: dict[str, str]) -> tuple[str, Truncation]:
    """Rewrite a term's mask characters into ours (`*` any run, `?` one character)."""
    out = []
    for char in text:
        if char in masks:
            out.append(masks[char])
        elif char not in "*?":
            out.append(char)
    return simplify_masked("".join(out))


def simplify_masked(text: str) -> tuple[str, Truncation]:
    """A masked text (`*` any run, `?` one character) as the simplest Truncation saying the
    same: NONE without masks, LEFT/RIGHT/BOTH when `*` stands only at the ends, else MASKED."""
    if "?" in text:
        return text, Truncation.MASKED
    if "*" not in text:
        return text, Truncation.NONE
    core = text.strip("*")
    if not core or "*" in core:
        return text, Truncation.MASKED
    left, right = text.startswith("*"), text.endswith("*")
    if left and right:
        return core, Truncation.BOTH
    return core, Truncation.LEFT if left else Truncation.RIGHT
