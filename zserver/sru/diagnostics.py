"""SRU diagnostics: the codes of the SRU diagnostic list, the exception that carries one,
and the tables that turn catalog and query-language errors into them.

This module owns the SRU side of "a peer's mistake is an answer": `SruDiagnostic` may be
raised anywhere in the SRU core and is caught in the SRU handler, which writes a
`<diagnostic>` with `uri`, `details` and `message`. Codes are those of
`info:srw/diagnostic/1/N` (SRU 1.1/1.2/2.0 diagnostics list; as in YAZ's `srw.csv`).

It must not import `zserver.z3950` (the Bib-1 tables live there) nor know how records are
searched: `index` raises `CatalogError` subclasses, mapped here in one table.
"""

from __future__ import annotations

from enum import IntEnum

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

DIAGNOSTIC_URI_PREFIX = "info:srw/diagnostic/1/"


class SruDiagnosticCode(IntEnum):
    """The SRU diagnostics list (info:srw/diagnostic/1/N)."""

    GENERAL_SYSTEM_ERROR = 1
    SYSTEM_TEMPORARILY_UNAVAILABLE = 2
    AUTHENTICATION_ERROR = 3
    UNSUPPORTED_OPERATION = 4
    UNSUPPORTED_VERSION = 5
    UNSUPPORTED_PARAMETER_VALUE = 6
    MANDATORY_PARAMETER_NOT_SUPPLIED = 7
    UNSUPPORTED_PARAMETER = 8
    QUERY_SYNTAX_ERROR = 10
    UNSUPPORTED_QUERY_TYPE = 11
    TOO_MANY_CHARACTERS_IN_QUERY = 12
    INVALID_PARENTHESES = 13
    INVALID_QUOTES = 14
    UNSUPPORTED_CONTEXT_SET = 15
    UNSUPPORTED_INDEX = 16
    UNSUPPORTED_INDEX_AND_CONTEXT_SET = 17
    UNSUPPORTED_COMBINATION_OF_INDEXES = 18
    UNSUPPORTED_RELATION = 19
    UNSUPPORTED_RELATION_MODIFIER = 20
    UNSUPPORTED_COMBINATION_OF_RELATION_MODIFIERS = 21
    UNSUPPORTED_COMBINATION_OF_RELATION_AND_INDEX = 22
    TOO_MANY_CHARACTERS_IN_TERM = 23
    UNSUPPORTED_COMBINATION_OF_RELATION_AND_TERM = 24
    SPECIAL_CHARACTERS_NOT_QUOTED = 25
    NON_SPECIAL_CHARACTER_ESCAPED = 26
    EMPTY_TERM_UNSUPPORTED = 27
    MASKING_CHARACTER_NOT_SUPPORTED = 28
    MASKED_WORDS_TOO_SHORT = 29
    TOO_MANY_MASKING_CHARACTERS = 30
    ANCHORING_CHARACTER_NOT_SUPPORTED = 31
    ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION = 32
    PROXIMITY_AND_MASKING_NOT_SUPPORTED = 33
    PROXIMITY_AND_ANCHORING_NOT_SUPPORTED = 34
    TERM_CONTAINS_ONLY_STOPWORDS = 35
    TERM_IN_INVALID_FORMAT = 36
    UNSUPPORTED_BOOLEAN_OPERATOR = 37
    TOO_MANY_BOOLEAN_OPERATORS = 38
    PROXIMITY_NOT_SUPPORTED = 39
    UNSUPPORTED_PROXIMITY_RELATION = 40
    UNSUPPORTED_PROXIMITY_DISTANCE = 41
    UNSUPPORTED_PROXIMITY_UNIT = 42
    UNSUPPORTED_PROXIMITY_ORDERING = 43
    UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS = 44
    PREFIX_ASSIGNED_TO_MULTIPLE_IDENTIFIERS = 45
    UNSUPPORTED_BOOLEAN_MODIFIER = 46
    CANNOT_PROCESS_QUERY = 47
    QUERY_FEATURE_UNSUPPORTED = 48
    MASKING_CHARACTER_IN_UNSUPPORTED_POSITION = 49
    RESULT_SETS_NOT_SUPPORTED = 50
    RESULT_SET_DOES_NOT_EXIST = 51
    RESULT_SET_TEMPORARILY_UNAVAILABLE = 52
    RESULT_SETS_ONLY_FOR_RETRIEVAL = 53
    RETRIEVAL_ONLY_FROM_EXISTING_RESULT_SET = 54
    RESULT_SETS_WITH_TERMS_NOT_SUPPORTED = 55
    ONLY_SINGLE_RESULT_SET_WITH_TERMS = 56
    RESULT_SET_CREATED_NO_RECORDS = 57
    RESULT_SET_CREATED_UNPREDICTABLE_PARTIAL = 58
    RESULT_SET_CREATED_VALID_PARTIAL = 59
    RESULT_SET_NOT_CREATED_TOO_MANY_RECORDS = 60
    FIRST_RECORD_POSITION_OUT_OF_RANGE = 61
    NEGATIVE_NUMBER_OF_RECORDS = 62
    SYSTEM_ERROR_IN_RETRIEVING_RECORDS = 63
    RECORD_TEMPORARILY_UNAVAILABLE = 64
    RECORD_DOES_NOT_EXIST = 65
    UNKNOWN_SCHEMA = 66
    RECORD_NOT_AVAILABLE_IN_SCHEMA = 67
    NOT_AUTHORISED_TO_SEND_RECORD = 68
    NOT_AUTHORISED_TO_SEND_RECORD_IN_SCHEMA = 69
    RECORD_TOO_LARGE = 70
    UNSUPPORTED_RECORD_PACKING = 71
    XPATH_RETRIEVAL_UNSUPPORTED = 72
    XPATH_UNSUPPORTED_FEATURE = 73
    XPATH_CANNOT_EVALUATE = 74
    SORT_NOT_SUPPORTED = 80
    UNSUPPORTED_SORT_TYPE = 81
    UNSUPPORTED_SORT_SEQUENCE = 82
    TOO_MANY_RECORDS_TO_SORT = 83
    TOO_MANY_SORT_KEYS = 84
    DUPLICATE_SORT_KEYS = 85
    SORT_INCOMPATIBLE_RECORD_FORMATS = 86
    UNSUPPORTED_SCHEMA_FOR_SORT = 87
    UNSUPPORTED_PATH_FOR_SORT = 88
    PATH_UNSUPPORTED_FOR_SCHEMA = 89
    UNSUPPORTED_DIRECTION = 90
    UNSUPPORTED_CASE = 91
    UNSUPPORTED_MISSING_VALUE_ACTION = 92
    SORT_ENDED_MISSING_VALUE = 93
    EXPLAIN_NOT_SUPPORTED = 100
    EXPLAIN_REQUEST_TYPE_NOT_SUPPORTED = 101
    EXPLAIN_RECORD_TEMPORARILY_UNAVAILABLE = 102
    STYLESHEETS_NOT_SUPPORTED = 110
    UNSUPPORTED_STYLESHEET = 111
    RESPONSE_POSITION_OUT_OF_RANGE = 120
    TOO_MANY_TERMS_REQUESTED = 121


MESSAGES: dict[SruDiagnosticCode, str] = {
    SruDiagnosticCode.GENERAL_SYSTEM_ERROR: "General system error",
    SruDiagnosticCode.SYSTEM_TEMPORARILY_UNAVAILABLE: "System temporarily unavailable",
    SruDiagnosticCode.AUTHENTICATION_ERROR: "Authentication error",
    SruDiagnosticCode.UNSUPPORTED_OPERATION: "Unsupported operation",
    SruDiagnosticCode.UNSUPPORTED_VERSION: "Unsupported version",
    SruDiagnosticCode.UNSUPPORTED_PARAMETER_VALUE: "Unsupported parameter value",
    SruDiagnosticCode.MANDATORY_PARAMETER_NOT_SUPPLIED: "Mandatory parameter not supplied",
    SruDiagnosticCode.UNSUPPORTED_PARAMETER: "Unsupported parameter",
    SruDiagnosticCode.QUERY_SYNTAX_ERROR: "Query syntax error",
    SruDiagnosticCode.UNSUPPORTED_QUERY_TYPE: "Unsupported query type",
    SruDiagnosticCode.TOO_MANY_CHARACTERS_IN_QUERY: "Too many characters in query",
    SruDiagnosticCode.INVALID_PARENTHESES: "Invalid or unsupported use of parentheses",
    SruDiagnosticCode.INVALID_QUOTES: "Invalid or unsupported use of quotes",
    SruDiagnosticCode.UNSUPPORTED_CONTEXT_SET: "Unsupported context set",
    SruDiagnosticCode.UNSUPPORTED_INDEX: "Unsupported index",
    SruDiagnosticCode.UNSUPPORTED_INDEX_AND_CONTEXT_SET:
        "Unsupported combination of index and context set",
    SruDiagnosticCode.UNSUPPORTED_COMBINATION_OF_INDEXES: "Unsupported combination of indexes",
    SruDiagnosticCode.UNSUPPORTED_RELATION: "Unsupported relation",
    SruDiagnosticCode.UNSUPPORTED_RELATION_MODIFIER: "Unsupported relation modifier",
    SruDiagnosticCode.UNSUPPORTED_COMBINATION_OF_RELATION_MODIFIERS:
        "Unsupported combination of relation modifiers",
    SruDiagnosticCode.UNSUPPORTED_COMBINATION_OF_RELATION_AND_INDEX:
        "Unsupported combination of relation and index",
    SruDiagnosticCode.TOO_MANY_CHARACTERS_IN_TERM: "Too many characters in term",
    SruDiagnosticCode.UNSUPPORTED_COMBINATION_OF_RELATION_AND_TERM:
        "Unsupported combination of relation and term",
    SruDiagnosticCode.SPECIAL_CHARACTERS_NOT_QUOTED: "Special characters not quoted in term",
    SruDiagnosticCode.NON_SPECIAL_CHARACTER_ESCAPED: "Non special character escaped in term",
    SruDiagnosticCode.EMPTY_TERM_UNSUPPORTED: "Empty term unsupported",
    SruDiagnosticCode.MASKING_CHARACTER_NOT_SUPPORTED: "Masking character not supported",
    SruDiagnosticCode.MASKED_WORDS_TOO_SHORT: "Masked words too short",
    SruDiagnosticCode.TOO_MANY_MASKING_CHARACTERS: "Too many masking characters in term",
    SruDiagnosticCode.ANCHORING_CHARACTER_NOT_SUPPORTED: "Anchoring character not supported",
    SruDiagnosticCode.ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION:
        "Anchoring character in unsupported position",
    SruDiagnosticCode.PROXIMITY_AND_MASKING_NOT_SUPPORTED:
        "Combination of proximity/adjacency and masking characters not supported",
    SruDiagnosticCode.PROXIMITY_AND_ANCHORING_NOT_SUPPORTED:
        "Combination of proximity/adjacency and anchoring characters not supported",
    SruDiagnosticCode.TERM_CONTAINS_ONLY_STOPWORDS: "Term contains only stopwords",
    SruDiagnosticCode.TERM_IN_INVALID_FORMAT: "Term in invalid format for index or relation",
    SruDiagnosticCode.UNSUPPORTED_BOOLEAN_OPERATOR: "Unsupported boolean operator",
    SruDiagnosticCode.TOO_MANY_BOOLEAN_OPERATORS: "Too many boolean operators in query",
    SruDiagnosticCode.PROXIMITY_NOT_SUPPORTED: "Proximity not supported",
    SruDiagnosticCode.UNSUPPORTED_PROXIMITY_RELATION: "Unsupported proximity relation",
    SruDiagnosticCode.UNSUPPORTED_PROXIMITY_DISTANCE: "Unsupported proximity distance",
    SruDiagnosticCode.UNSUPPORTED_PROXIMITY_UNIT: "Unsupported proximity unit",
    SruDiagnosticCode.UNSUPPORTED_PROXIMITY_ORDERING: "Unsupported proximity ordering",
    SruDiagnosticCode.UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS:
        "Unsupported combination of proximity modifiers",
    SruDiagnosticCode.PREFIX_ASSIGNED_TO_MULTIPLE_IDENTIFIERS:
        "Prefix assigned to multiple identifiers",
    SruDiagnosticCode.UNSUPPORTED_BOOLEAN_MODIFIER: "Unsupported boolean modifier",
    SruDiagnosticCode.CANNOT_PROCESS_QUERY: "Cannot process query; reason unknown",
    SruDiagnosticCode.QUERY_FEATURE_UNSUPPORTED: "Query feature unsupported",
    SruDiagnosticCode.MASKING_CHARACTER_IN_UNSUPPORTED_POSITION:
        "Masking character in unsupported position",
    SruDiagnosticCode.RESULT_SETS_NOT_SUPPORTED: "Result sets not supported",
    SruDiagnosticCode.RESULT_SET_DOES_NOT_EXIST: "Result set does not exist",
    SruDiagnosticCode.RESULT_SET_TEMPORARILY_UNAVAILABLE: "Result set temporarily unavailable",
    SruDiagnosticCode.RESULT_SETS_ONLY_FOR_RETRIEVAL: "Result sets only supported for retrieval",
    SruDiagnosticCode.RETRIEVAL_ONLY_FROM_EXISTING_RESULT_SET:
        "Retrieval may only occur from an existing result set",
    SruDiagnosticCode.RESULT_SETS_WITH_TERMS_NOT_SUPPORTED:
        "Combination of result sets with search terms not supported",
    SruDiagnosticCode.ONLY_SINGLE_RESULT_SET_WITH_TERMS:
        "Only combination of single result set with search terms supported",
    SruDiagnosticCode.RESULT_SET_CREATED_NO_RECORDS:
        "Result set created but no records available",
    SruDiagnosticCode.RESULT_SET_CREATED_UNPREDICTABLE_PARTIAL:
        "Result set created with unpredictable partial results available",
    SruDiagnosticCode.RESULT_SET_CREATED_VALID_PARTIAL:
        "Result set created with valid partial results available",
    SruDiagnosticCode.RESULT_SET_NOT_CREATED_TOO_MANY_RECORDS:
        "Result set not created: too many matching records",
    SruDiagnosticCode.FIRST_RECORD_POSITION_OUT_OF_RANGE: "First record position out of range",
    SruDiagnosticCode.NEGATIVE_NUMBER_OF_RECORDS: "Negative number of records requested",
    SruDiagnosticCode.SYSTEM_ERROR_IN_RETRIEVING_RECORDS: "System error in retrieving records",
    SruDiagnosticCode.RECORD_TEMPORARILY_UNAVAILABLE: "Record temporarily unavailable",
    SruDiagnosticCode.RECORD_DOES_NOT_EXIST: "Record does not exist",
    SruDiagnosticCode.UNKNOWN_SCHEMA: "Unknown schema for retrieval",
    SruDiagnosticCode.RECORD_NOT_AVAILABLE_IN_SCHEMA: "Record not available in this schema",
    SruDiagnosticCode.NOT_AUTHORISED_TO_SEND_RECORD: "Not authorised to send record",
    SruDiagnosticCode.NOT_AUTHORISED_TO_SEND_RECORD_IN_SCHEMA:
        "Not authorised to send record in this schema",
    SruDiagnosticCode.RECORD_TOO_LARGE: "Record too large to send",
    SruDiagnosticCode.UNSUPPORTED_RECORD_PACKING: "Unsupported record packing",
    SruDiagnosticCode.XPATH_RETRIEVAL_UNSUPPORTED: "XPath retrieval unsupported",
    SruDiagnosticCode.XPATH_UNSUPPORTED_FEATURE: "XPath expression contains unsupported feature",
    SruDiagnosticCode.XPATH_CANNOT_EVALUATE: "Unable to evaluate XPath expression",
    SruDiagnosticCode.SORT_NOT_SUPPORTED: "Sort not supported",
    SruDiagnosticCode.UNSUPPORTED_SORT_TYPE: "Unsupported sort type",
    SruDiagnosticCode.UNSUPPORTED_SORT_SEQUENCE: "Unsupported sort sequence",
    SruDiagnosticCode.TOO_MANY_RECORDS_TO_SORT: "Too many records to sort",
    SruDiagnosticCode.TOO_MANY_SORT_KEYS: "Too many sort keys to sort",
    SruDiagnosticCode.DUPLICATE_SORT_KEYS: "Duplicate sort keys",
    SruDiagnosticCode.SORT_INCOMPATIBLE_RECORD_FORMATS: "Cannot sort: incompatible record formats",
    SruDiagnosticCode.UNSUPPORTED_SCHEMA_FOR_SORT: "Unsupported schema for sort",
    SruDiagnosticCode.UNSUPPORTED_PATH_FOR_SORT: "Unsupported path for sort",
    SruDiagnosticCode.PATH_UNSUPPORTED_FOR_SCHEMA: "Path unsupported for schema",
    SruDiagnosticCode.UNSUPPORTED_DIRECTION: "Unsupported direction value",
    SruDiagnosticCode.UNSUPPORTED_CASE: "Unsupported case value",
    SruDiagnosticCode.UNSUPPORTED_MISSING_VALUE_ACTION: "Unsupported missing value action",
    SruDiagnosticCode.SORT_ENDED_MISSING_VALUE: "Sort ended due to missing value",
    SruDiagnosticCode.EXPLAIN_NOT_SUPPORTED: "Explain not supported",
    SruDiagnosticCode.EXPLAIN_REQUEST_TYPE_NOT_SUPPORTED:
        "Explain request type not supported (SOAP vs GET)",
    SruDiagnosticCode.EXPLAIN_RECORD_TEMPORARILY_UNAVAILABLE:
        "Explain record temporarily unavailable",
    SruDiagnosticCode.STYLESHEETS_NOT_SUPPORTED: "Stylesheets not supported",
    SruDiagnosticCode.UNSUPPORTED_STYLESHEET: "Unsupported stylesheet",
    SruDiagnosticCode.RESPONSE_POSITION_OUT_OF_RANGE: "Response position out of range",
    SruDiagnosticCode.TOO_MANY_TERMS_REQUESTED: "Too many terms requested",
}
"""The standard message of each code, for the `<message>` element."""


class SruDiagnostic(Exception):
    """An SRU diagnostic to put into the response. `details` is shown to the client."""

    def __init__(self, code: int, details: str = "") -> None:
        super().__init__(f"SRU {int(code)}" + (f": {details}" if details else ""))
        self.code = int(code)
        self.details = details

    @property
    def uri(self) -> str:
        return f"{DIAGNOSTIC_URI_PREFIX}{self.code}"

    @property
    def message(self) -> str:
        try:
            return MESSAGES[SruDiagnosticCode(self.code)]
        except ValueError:
            return ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SruDiagnostic):
            return NotImplemented
        return (self.code, self.details) == (other.code, other.details)

    def __hash__(self) -> int:
        return hash((self.code, self.details))

    def __repr__(self) -> str:
        return f"SruDiagnostic({self.code}, {self.details!r})"


CATALOG_ERRORS: dict[type[CatalogError], SruDiagnosticCode] = {
    CatalogError: SruDiagnosticCode.GENERAL_SYSTEM_ERROR,
    UnknownSearchKey: SruDiagnosticCode.UNSUPPORTED_INDEX,
    UnsupportedRelation: SruDiagnosticCode.UNSUPPORTED_RELATION,
    # In CQL the structure and the completeness come from the relation (adj, all, ==, ...),
    # so an index refusing them refuses that relation on itself.
    UnsupportedStructure: SruDiagnosticCode.UNSUPPORTED_COMBINATION_OF_RELATION_AND_INDEX,
    UnsupportedCompleteness: SruDiagnosticCode.UNSUPPORTED_COMBINATION_OF_RELATION_AND_INDEX,
    UnsupportedTruncation: SruDiagnosticCode.MASKING_CHARACTER_NOT_SUPPORTED,
    UnsupportedPosition: SruDiagnosticCode.ANCHORING_CHARACTER_NOT_SUPPORTED,
    UnsupportedProximity: SruDiagnosticCode.UNSUPPORTED_PROXIMITY_UNIT,
    TruncationInProximity: SruDiagnosticCode.PROXIMITY_AND_MASKING_NOT_SUPPORTED,
    ProximityRelationUnsupported: SruDiagnosticCode.UNSUPPORTED_PROXIMITY_RELATION,
    ProximityDistanceUnsupported: SruDiagnosticCode.UNSUPPORTED_PROXIMITY_DISTANCE,
    ProximityOperandsUnsupported: SruDiagnosticCode.QUERY_FEATURE_UNSUPPORTED,
    LibraryRestricted: SruDiagnosticCode.AUTHENTICATION_ERROR,
    MalformedTerm: SruDiagnosticCode.TERM_IN_INVALID_FORMAT,
    # The usual cause is a word truncated too short (`a*`); YAZ maps Bib-1 7 to SRU 30.
    TooManyTerms: SruDiagnosticCode.MASKED_WORDS_TOO_SHORT,
    TermTooLong: SruDiagnosticCode.TOO_MANY_CHARACTERS_IN_TERM,
    # The SRU list has no "resources exhausted" (YAZ maps Bib-1 31 to 57, "result set created
    # but no records available", which is not so: none is created); the query is what cannot
    # be processed, and details says why.
    ResourcesExhausted: SruDiagnosticCode.CANNOT_PROCESS_QUERY,
    ResultSetNotFound: SruDiagnosticCode.RESULT_SET_DOES_NOT_EXIST,
    RecordNotFound: SruDiagnosticCode.RECORD_DOES_NOT_EXIST,
    # SRU names no database in its diagnostics; the handler normally answers an unknown
    # database path before a search is tried.
    UnknownDatabase: SruDiagnosticCode.GENERAL_SYSTEM_ERROR,
    UnknownSortKey: SruDiagnosticCode.UNSUPPORTED_PATH_FOR_SORT,
    IndexNotBuilt: SruDiagnosticCode.GENERAL_SYSTEM_ERROR,
    IndexUnavailable: SruDiagnosticCode.SYSTEM_TEMPORARILY_UNAVAILABLE,
    LoadError: SruDiagnosticCode.GENERAL_SYSTEM_ERROR,
}
"""Every CatalogError subclass -> its SRU code (a test checks the table is complete)."""

QUERY_ERRORS: dict[type[QueryError], SruDiagnosticCode] = {
    QueryError: SruDiagnosticCode.QUERY_SYNTAX_ERROR,
    QuerySyntaxError: SruDiagnosticCode.QUERY_SYNTAX_ERROR,
    UnknownQualifier: SruDiagnosticCode.UNSUPPORTED_INDEX,
    TruncationNotAllowed: SruDiagnosticCode.MASKING_CHARACTER_NOT_SUPPORTED,
    UnsupportedTermType: SruDiagnosticCode.QUERY_FEATURE_UNSUPPORTED,
    UnsupportedOperand: SruDiagnosticCode.QUERY_FEATURE_UNSUPPORTED,
    QueryTooComplex: SruDiagnosticCode.TOO_MANY_BOOLEAN_OPERATORS,
}
"""Every QueryError subclass -> its SRU code (a test checks the table is complete)."""


def diagnostic_for(error: CatalogError) -> SruDiagnostic:
    """The SRU diagnostic answering `error`; details is the error's client-safe detail."""
    for cls in type(error).__mro__:
        if cls in CATALOG_ERRORS:
            return SruDiagnostic(CATALOG_ERRORS[cls], error.detail)
    raise TypeError(f"not a CatalogError: {error!r}")


def diagnostic_for_query_error(error: QueryError) -> SruDiagnostic:
    """The SRU diagnostic answering a CQL parse error; details says what and where."""
    for cls in type(error).__mro__:
        if cls in QUERY_ERRORS:
            details = error.message
            if error.position is not None:
                details = f"{details} (at character {error.position})"
            return SruDiagnostic(QUERY_ERRORS[cls], details)
    raise TypeError(f"not a QueryError: {error!r}")
