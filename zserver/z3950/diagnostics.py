"""Bib-1 diagnostics: the codes we answer with, the exception that carries one, and the
tables that turn catalog and query-language errors into them.

This module owns the Z39.50 side of "a peer's mistake is an answer": `Z3950Diagnostic` may be
raised anywhere in the Z39.50 core and is caught in the handler, which puts
`to_default_diag_format(d)` into the response. The codes are those of the Bib-1 diagnostic set
(diagnosticSetId 1.2.840.10003.4.1; list as in YAZ's `bib1.csv`).

It must not know SRU (`zserver.sru.diagnostics` has the SRU tables) nor how records are
searched: `index` raises `CatalogError` subclasses, mapped here in one table.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from index.errors import (
    CatalogError,
    IndexNotBuilt,
    IndexUnavailable,
    LibraryRestricted,
    LoadError,
    MalformedTerm,
    ProximityDistanceUnsupported,
    ProximityOperandsUnsupported,
    ProximityRelationUnsupported,
    RecordNotFound,
    ResourcesExhausted,
    ResultSetNotFound,
    TermTooLong,
    TooManyTerms,
    TruncationInProximity,
    UnknownDatabase,
    UnknownSearchKey,
    UnknownSortKey,
    UnsupportedCompleteness,
    UnsupportedPosition,
    UnsupportedProximity,
    UnsupportedRelation,
    UnsupportedStructure,
    UnsupportedTruncation,
)
from zserver.querylang.errors import (
    QueryError,
    QuerySyntaxError,
    QueryTooComplex,
    TruncationNotAllowed,
    UnknownQualifier,
    UnsupportedOperand,
    UnsupportedTermType,
)

DIAG_OID = "1.2.840.10003.4.1"
"""The Bib-1 diagnostic set, {Z39-50-diagnostic bib-1 (1)}."""

diag_oid = DIAG_OID


class Bib1Diagnostic(IntEnum):
    """Bib-1 diagnostic conditions unikat uses (names follow the standard's wording)."""

    PERMANENT_SYSTEM_ERROR = 1
    TEMPORARY_SYSTEM_ERROR = 2
    UNSUPPORTED_SEARCH = 3
    TOO_MANY_ARGUMENT_WORDS = 5
    TOO_MANY_BOOLEAN_OPERATORS = 6
    TOO_MANY_TRUNCATED_WORDS = 7
    TRUNCATED_WORDS_TOO_SHORT = 9
    INVALID_RECORD_NUMBER_FORMAT = 10
    TOO_MANY_CHARACTERS_IN_SEARCH = 11
    TOO_MANY_RECORDS_RETRIEVED = 12
    PRESENT_REQUEST_OUT_OF_RANGE = 13
    SYSTEM_ERROR_IN_PRESENTING_RECORDS = 14
    RECORD_NOT_AUTHORIZED = 15
    RECORD_EXCEEDS_PREFERRED_MESSAGE_SIZE = 16
    RECORD_EXCEEDS_MAXIMUM_RECORD_SIZE = 17
    RESULT_SET_NOT_SUPPORTED_AS_SEARCH_TERM = 18
    ONLY_SINGLE_RESULT_SET_AS_SEARCH_TERM = 19
    RESULT_SET_EXISTS_AND_REPLACE_OFF = 21
    RESULT_SET_NAMING_NOT_SUPPORTED = 22
    DATABASE_COMBINATION_NOT_SUPPORTED = 23
    ELEMENT_SET_NAMES_NOT_SUPPORTED = 24
    ELEMENT_SET_NAME_NOT_VALID = 25
    ONLY_SINGLE_ELEMENT_SET_NAME = 26
    RESULT_SET_DELETED_BY_TARGET = 27
    RESULT_SET_IN_USE = 28
    DATABASE_LOCKED = 29
    RESULT_SET_DOES_NOT_EXIST = 30
    RESOURCES_EXHAUSTED_NO_RESULTS = 31
    UNSPECIFIED_ERROR = 100
    ACCESS_CONTROL_FAILURE = 101
    NO_ABSTRACT_SYNTAXES_AGREED = 106
    QUERY_TYPE_NOT_SUPPORTED = 107
    MALFORMED_QUERY = 108
    DATABASE_UNAVAILABLE = 109
    OPERATOR_UNSUPPORTED = 110
    TOO_MANY_DATABASES = 111
    TOO_MANY_RESULT_SETS = 112
    UNSUPPORTED_ATTRIBUTE_TYPE = 113
    UNSUPPORTED_USE_ATTRIBUTE = 114
    UNSUPPORTED_USE_VALUE = 115
    USE_ATTRIBUTE_REQUIRED = 116
    UNSUPPORTED_RELATION_ATTRIBUTE = 117
    UNSUPPORTED_STRUCTURE_ATTRIBUTE = 118
    UNSUPPORTED_POSITION_ATTRIBUTE = 119
    UNSUPPORTED_TRUNCATION_ATTRIBUTE = 120
    UNSUPPORTED_ATTRIBUTE_SET = 121
    UNSUPPORTED_COMPLETENESS_ATTRIBUTE = 122
    UNSUPPORTED_ATTRIBUTE_COMBINATION = 123
    UNSUPPORTED_CODED_VALUE_FOR_TERM = 124
    MALFORMED_SEARCH_TERM = 125
    ILLEGAL_TERM_VALUE_FOR_ATTRIBUTE = 126
    ILLEGAL_RESULT_SET_NAME = 128
    PROXIMITY_OF_SETS_NOT_SUPPORTED = 129
    ILLEGAL_RESULT_SET_IN_PROXIMITY = 130
    UNSUPPORTED_PROXIMITY_RELATION = 131
    UNSUPPORTED_PROXIMITY_UNIT_CODE = 132
    PROXIMITY_NOT_SUPPORTED_WITH_ATTRIBUTES = 201
    UNSUPPORTED_PROXIMITY_DISTANCE = 202
    PROXIMITY_ORDERED_FLAG_NOT_SUPPORTED = 203
    SCAN_ONLY_ZERO_STEP_SIZE = 205
    SCAN_STEP_SIZE_NOT_SUPPORTED = 206
    CANNOT_SORT_ACCORDING_TO_SEQUENCE = 207
    SORT_NO_RESULT_SET_NAME = 208
    GENERIC_SORT_NOT_SUPPORTED = 209
    DATABASE_SPECIFIC_SORT_NOT_SUPPORTED = 210
    TOO_MANY_SORT_KEYS = 211
    DUPLICATE_SORT_KEYS = 212
    UNSUPPORTED_MISSING_DATA_ACTION = 213
    ILLEGAL_SORT_RELATION = 214
    ILLEGAL_CASE_VALUE = 215
    ILLEGAL_MISSING_DATA_ACTION = 216
    ES_PACKAGE_NAME_IN_USE = 218
    ES_NO_SUCH_PACKAGE = 219
    ES_QUOTA_EXCEEDED = 220
    ES_SERVICE_NOT_SUPPORTED = 221
    ES_PERMISSION_DENIED = 222
    ES_CANNOT_MODIFY_OR_DELETE = 223
    ES_IMMEDIATE_EXECUTION_FAILED = 224
    ES_IMMEDIATE_EXECUTION_NOT_SUPPORTED = 225
    NO_DATA_IN_REQUESTED_RECORD_SYNTAX = 227
    SCAN_MALFORMED = 228
    TERM_TYPE_NOT_SUPPORTED = 229
    SORT_TOO_MANY_INPUT_RESULTS = 230
    SORT_INCOMPATIBLE_RECORD_FORMATS = 231
    SCAN_TERM_LIST_NOT_SUPPORTED = 232
    SCAN_POSITION_IN_RESPONSE_UNSUPPORTED = 233
    TOO_MANY_INDEX_TERMS_PROCESSED = 234
    DATABASE_DOES_NOT_EXIST = 235
    ACCESS_TO_DATABASE_DENIED = 236
    SORT_ILLEGAL_SORT = 237
    RECORD_NOT_AVAILABLE_IN_REQUESTED_SYNTAX = 238
    RECORD_SYNTAX_NOT_SUPPORTED = 239
    SCAN_RESOURCES_EXHAUSTED = 240
    SCAN_BEGINNING_OR_END_OF_TERM_LIST = 241
    PRESENT_ADDITIONAL_RANGES_NOT_SUPPORTED = 243
    PRESENT_COMP_SPEC_NOT_SUPPORTED = 244
    RESULT_ATTR_OPERAND_NOT_SUPPORTED = 245
    COMPLEX_ATTRIBUTE_VALUE_NOT_SUPPORTED = 246
    ATTRIBUTE_SET_IN_ELEMENT_NOT_SUPPORTED = 247
    MALFORMED_APDU = 1001
    ES_ITEM_ORDER_EXTERNAL_NOT_SUPPORTED = 1002
    ES_ITEM_ORDER_RESULT_SET_ITEM_NOT_SUPPORTED = 1003
    ES_NEEDS_ACCESS_CONTROL = 1004
    RESPONSE_RECORDS_IN_SEARCH_NOT_SUPPORTED = 1005
    ES_MISSING_MANDATORY_PARAMETER = 1008
    ES_ITEM_ORDER_UNSUPPORTED_OID = 1009
    INIT_AC_BAD_USERID = 1010
    INIT_AC_BAD_USERID_OR_PASSWORD = 1011
    INIT_AC_BLOCKED_NETWORK_ADDRESS = 1016
    INIT_AC_NO_DATABASES_FOR_USERID = 1017
    INIT_AC_SYSTEM_TEMPORARILY_OUT_OF_RESOURCES = 1018
    UNSUPPORTED_ATTRIBUTE = 1024
    SERVICE_NOT_SUPPORTED_FOR_DATABASE = 1025
    RECORD_LOCKED = 1026
    RECORD_DELETED = 1028
    SCAN_TOO_MANY_TERMS_REQUESTED = 1029
    ES_INVALID_FUNCTION = 1040
    ES_INVALID_ACTION = 1044
    ES_UNKNOWN_SCHEMA = 1045
    ES_TOO_MANY_RECORDS_IN_PACKAGE = 1046
    ES_INVALID_WAIT_ACTION = 1047
    ES_REQUEST_TOO_LARGE = 1050
    SCAN_ATTRIBUTE_SET_ID_REQUIRED = 1051
    ES_UNSUPPORTED_TASK_PACKAGE_PARAMETER_VALUE = 1057
    NO_SYNTAXES_AVAILABLE = 1069
    USER_NOT_AUTHORIZED_FOR_SYNTAX = 1070
    PREFERRED_RECORD_SYNTAX_NOT_SUPPLIED = 1071
    QUERY_TERM_CHARACTERS_DO_NOT_TRANSLATE = 1072


class Z3950Diagnostic(Exception):
    """A Bib-1 diagnostic to put into the response. `addinfo` is shown to the client."""

    def __init__(self, code: int, addinfo: str = "") -> None:
        super().__init__(f"Bib-1 {int(code)}" + (f": {addinfo}" if addinfo else ""))
        self.code = int(code)
        self.addinfo = addinfo

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Z3950Diagnostic):
            return NotImplemented
        return (self.code, self.addinfo) == (other.code, other.addinfo)

    def __hash__(self) -> int:
        return hash((self.code, self.addinfo))

    def __repr__(self) -> str:
        return f"Z3950Diagnostic({self.code}, {self.addinfo!r})"


CATALOG_ERRORS: dict[type[CatalogError], Bib1Diagnostic] = {
    CatalogError: Bib1Diagnostic.UNSPECIFIED_ERROR,
    UnknownSearchKey: Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE,
    UnsupportedRelation: Bib1Diagnostic.UNSUPPORTED_RELATION_ATTRIBUTE,
    UnsupportedStructure: Bib1Diagnostic.UNSUPPORTED_STRUCTURE_ATTRIBUTE,
    UnsupportedTruncation: Bib1Diagnostic.UNSUPPORTED_TRUNCATION_ATTRIBUTE,
    UnsupportedPosition: Bib1Diagnostic.UNSUPPORTED_POSITION_ATTRIBUTE,
    UnsupportedCompleteness: Bib1Diagnostic.UNSUPPORTED_COMPLETENESS_ATTRIBUTE,
    UnsupportedProximity: Bib1Diagnostic.UNSUPPORTED_PROXIMITY_UNIT_CODE,
    TruncationInProximity: Bib1Diagnostic.PROXIMITY_NOT_SUPPORTED_WITH_ATTRIBUTES,
    ProximityRelationUnsupported: Bib1Diagnostic.UNSUPPORTED_PROXIMITY_RELATION,
    ProximityDistanceUnsupported: Bib1Diagnostic.UNSUPPORTED_PROXIMITY_DISTANCE,
    ProximityOperandsUnsupported: Bib1Diagnostic.PROXIMITY_NOT_SUPPORTED_WITH_ATTRIBUTES,
    LibraryRestricted: Bib1Diagnostic.ACCESS_TO_DATABASE_DENIED,
    MalformedTerm: Bib1Diagnostic.MALFORMED_SEARCH_TERM,
    TooManyTerms: Bib1Diagnostic.TOO_MANY_TRUNCATED_WORDS,
    TermTooLong: Bib1Diagnostic.TOO_MANY_CHARACTERS_IN_SEARCH,
    # A search stopped at [index] max_query_seconds: no result set is created.
    ResourcesExhausted: Bib1Diagnostic.RESOURCES_EXHAUSTED_NO_RESULTS,
    ResultSetNotFound: Bib1Diagnostic.RESULT_SET_DOES_NOT_EXIST,
    RecordNotFound: Bib1Diagnostic.RECORD_DELETED,
    UnknownDatabase: Bib1Diagnostic.DATABASE_DOES_NOT_EXIST,
    UnknownSortKey: Bib1Diagnostic.CANNOT_SORT_ACCORDING_TO_SEQUENCE,
    IndexNotBuilt: Bib1Diagnostic.TEMPORARY_SYSTEM_ERROR,
    # The index removed while serving: unavailable until `unikat index` puts one back.
    IndexUnavailable: Bib1Diagnostic.DATABASE_UNAVAILABLE,
    LoadError: Bib1Diagnostic.PERMANENT_SYSTEM_ERROR,
}
"""Every CatalogError subclass -> its Bib-1 condition (a test checks the table is complete)."""

QUERY_ERRORS: dict[type[QueryError], Bib1Diagnostic] = {
    QueryError: Bib1Diagnostic.MALFORMED_QUERY,
    QuerySyntaxError: Bib1Diagnostic.MALFORMED_QUERY,
    # As Metaproxy answers a CCL query (Type-2 or zoom filter): unknown qualifier is 114,
    # refused truncation 120, everything else 108.
    UnknownQualifier: Bib1Diagnostic.UNSUPPORTED_USE_ATTRIBUTE,
    TruncationNotAllowed: Bib1Diagnostic.UNSUPPORTED_TRUNCATION_ATTRIBUTE,
    UnsupportedTermType: Bib1Diagnostic.TERM_TYPE_NOT_SUPPORTED,
    UnsupportedOperand: Bib1Diagnostic.RESULT_ATTR_OPERAND_NOT_SUPPORTED,
    QueryTooComplex: Bib1Diagnostic.TOO_MANY_BOOLEAN_OPERATORS,
}
"""Every QueryError subclass -> its Bib-1 condition (a test checks the table is complete)."""


def diagnostic_for(error: CatalogError) -> Z3950Diagnostic:
    """The Bib-1 diagnostic answering `error`; addinfo is the error's client-safe detail."""
    for cls in type(error).__mro__:
        if cls in CATALOG_ERRORS:
            return Z3950Diagnostic(CATALOG_ERRORS[cls], error.detail)
    raise TypeError(f"not a CatalogError: {error!r}")


def diagnostic_for_query_error(error: QueryError) -> Z3950Diagnostic:
    """The Bib-1 diagnostic answering a PQF/CCL/RPN error; addinfo says what and where."""
    for cls in type(error).__mro__:
        if cls in QUERY_ERRORS:
            addinfo = error.message
            if error.position is not None:
                addinfo = f"{addinfo} (at character {error.position})"
            return Z3950Diagnostic(QUERY_ERRORS[cls], addinfo)
    raise TypeError(f"not a QueryError: {error!r}")


def to_default_diag_format(diagnostic: Z3950Diagnostic, version: int = 3) -> dict[str, Any]:
    """The asn1tools dict of a `DefaultDiagFormat` for `diagnostic`.

    Version 3 carries addinfo as `v3Addinfo` (InternationalString); version 2 as
    `v2Addinfo` (VisibleString), so non-ASCII characters are replaced by `?` there.
    """
    if version >= 3:
        addinfo: tuple[str, str] = ("v3Addinfo", diagnostic.addinfo)
    else:
        addinfo = ("v2Addinfo", diagnostic.addinfo.encode("ascii", "replace").decode("ascii"))
    return {"diagnosticSetId": DIAG_OID, "condition": diagnostic.code, "addinfo": addinfo}
