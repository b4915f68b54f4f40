"""CQL syntax tree -> `index.query` nodes, sort criteria and scan starts: what CQL means here.

This module owns the CQL semantics unikat supports: context sets and their indexes, relations
and relation modifiers, masking and anchoring, proximity and the sortBy clause. It raises
`SruDiagnostic` for what it cannot honour; whether an index can do what is asked (e.g. `<`
on a title) is the engine's to decide (`CatalogError`, mapped in `sru.diagnostics`).
It must not import `zserver.z3950`, nor know the engine or the store.

Context sets (prefix: identifier):

    cql     info:srw/cql-context-set/1/cql-v1.2   serverChoice, anywhere, keywords,
                                                  allIndexes -> any; allRecords; resultSetId
    dc      info:srw/cql-context-set/1/dc-v1.1    title, creator, contributor, subject,
                                                  publisher, date -> year, identifier,
                                                  language, type -> material_type
    bath    http://zing.z3950.org/cql/bath/2.0/   name, personalName, corporateName,
                                                  conferenceName, title, uniformTitle,
                                                  keyTitle, seriesTitle, subject,
                                                  topicalSubject, isbn, issn, lccn,
                                                  standardIdentifier
    rec     info:srw/cql-context-set/2/rec-1.1    id, identifier -> isn
    unikat  UNIKAT_CONTEXT_SET                    every logical index, camelCase or
                                                  snake_case: title, personalName, ...,
                                                  library, isn, materialType, lccn, oclc,
                                                  localNumber, year, language, ...
    sort    info:srw/cql-context-set/1/sort-v1.0  sort modifiers

An index without prefix is looked up in unikat, dc, bath, cql and rec, in that order, unless
the query assigns a default context set (`> "uri"`), which is then the only one searched.

Relations, by the kind of index (word indexes; key indexes such as isbn; year):

    =      one word: that word; several words: adjacent, a phrase (CQL 1.2: "adj" for strings) / key / year
    ==     the whole field: phrase + COMPLETE_FIELD / key + COMPLETE_FIELD / year
    adj    phrase / key / year
    all    word list; each word a term of its own, ANDed, when a word is masked
    any    each word a term of its own, ORed
    < <= > >= <>   the relation on one term (the engine decides which indexes allow it)
    within "a b"   a year range a-b (one term); on other indexes >= a AND <= b
    exact  is `==` (CQL 1.1)

Relation modifiers: relevant (-> Relation.RELEVANCE), string (phrase), word, masked,
unmasked (no masking, `*?^` are plain characters), ignoreCase, ignoreAccents, locale (all
three what the normalizer does anyway); others give SRU 20.

Masking (CQL 1.2): `*` any run, `?` one character, `\\` escapes; `^` at the start anchors
to the start of the field (FIRST_IN_FIELD), `^` at both ends means the whole field
(COMPLETE_FIELD); a lone final `^` only with `==`. `*` only at the ends becomes
LEFT/RIGHT/BOTH truncation, anything else MASKED (our `*`/`?` in the text; escaped `*`/`?`
inside a masked term are dropped, index.query having no escape for them).

Proximity: `prox/unit=word|element/distance<n/ordered|unordered`, default distance 1 for
words (0 for elements), relation `<=`, unordered.

Scan (SRU scanClause): one index, the relation `=`, `==`, `exact`, `adj`, `all`, `any`, `>=`
or `scr` without modifiers, and a term: unescaped, with `*` and `^` at its ends dropped (a
scan starts at a term; it does not match one).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from index.editions import EDITIONS_INDEX
from index.query import (
    AllRecords,
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
from zserver.querylang.cql import (
    BooleanClause,
    CqlNode,
    CqlQuery,
    PrefixAssignment,
    Prefixed,
    SearchClause,
)
from zserver.sru.diagnostics import SruDiagnostic, SruDiagnosticCode

UNIKAT_CONTEXT_SET = "http://unikat.example/cql-context-set/unikat/1.0/"
"""Identifier of unikat's own CQL context set (prefix `unikat`)."""

CQL_CONTEXT_SET = "info:srw/cql-context-set/1/cql-v1.2"
DC_CONTEXT_SET = "info:srw/cql-context-set/1/dc-v1.1"
BATH_CONTEXT_SET = "http://zing.z3950.org/cql/bath/2.0/"
REC_CONTEXT_SET = "info:srw/cql-context-set/2/rec-1.1"
SORT_CONTEXT_SET = "info:srw/cql-context-set/1/sort-v1.0"

CONTEXT_SETS: dict[str, str] = {
    CQL_CONTEXT_SET: "cql",
    "info:srw/cql-context-set/1/cql-v1.1": "cql",
    DC_CONTEXT_SET: "dc",
    BATH_CONTEXT_SET: "bath",
    REC_CONTEXT_SET: "rec",
    "info:srw/cql-context-set/2/rec-1.0": "rec",
    UNIKAT_CONTEXT_SET: "unikat",
    SORT_CONTEXT_SET: "sort",
}
"""Context set identifiers we understand -> our short name for the set."""

DEFAULT_PREFIXES: dict[str, str] = {
    "cql": CQL_CONTEXT_SET,
    "dc": DC_CONTEXT_SET,
    "bath": BATH_CONTEXT_SET,
    "rec": REC_CONTEXT_SET,
    "unikat": UNIKAT_CONTEXT_SET,
    "sort": SORT_CONTEXT_SET,
}
"""Prefixes usable without an assignment in the query (published in explain)."""

DEFAULT_SEARCH_ORDER = ("unikat", "dc", "bath", "cql", "rec")
"""Context sets in which an unprefixed index name is looked up, in this order."""

WORD_INDEXES = frozenset(spec.name for spec in SEARCH_INDEXES if spec.kind is IndexKind.WORDS)
KEY_INDEXES = frozenset(spec.name for spec in SEARCH_INDEXES if spec.kind is IndexKind.KEY)
NUMERIC_INDEXES = frozenset(spec.name for spec in SEARCH_INDEXES if spec.kind is IndexKind.YEAR)

ALL_RECORDS = "<allRecords>"
RESULT_SET_ID = "<resultSetId>"
"""The targets of cql.allRecords and cql.resultSetId in INDEXES (they are not indexes)."""


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


INDEXES: dict[str, dict[str, str]] = {
    "cql": {
        "serverchoice": "any", "anywhere": "any", "keywords": "any", "allindexes": "any",
        "allrecords": ALL_RECORDS, "resultsetid": RESULT_SET_ID,
    },
    "dc": {
        "title": "title", "creator": "author", "contributor": "author", "subject": "subject",
        "publisher": "publisher", "date": "year", "identifier": "identifier",
        "language": "language", "type": "material_type",
    },
    "bath": {
        "name": "author", "personalname": "personal_name", "corporatename": "corporate_name",
        "conferencename": "conference_name", "title": "title", "uniformtitle": "title",
        "keytitle": "title", "seriestitle": "series", "subject": "subject",
        "topicalsubject": "subject", "isbn": "isbn", "issn": "issn", "lccn": "lccn",
        "standardidentifier": "identifier",
    },
    "rec": {"id": "isn", "identifier": "isn"},
    "unikat": {_key(index): index for index in WORD_INDEXES | KEY_INDEXES | NUMERIC_INDEXES},
}
"""Per context set: index name (lower case, no `_`/`-`) -> logical index."""

_OWN_INDEXES = {("unikat", "editions"): EDITIONS_INDEX}
"""Indexes beside the logical ones: `unikat.editions` searches like `any` and adds the other
editions of what it finds (`index.editions`)."""


class SortCriterion(NamedTuple):
    """One sort key of a `sortBy` clause: a logical index name and the direction.

    The index is a sort name for `index.engines.base.sort_field`."""

    index: str
    descending: bool = False


_D = SruDiagnosticCode


def _fail(code: SruDiagnosticCode, details: str) -> SruDiagnostic:
    return SruDiagnostic(code, details)


class _Scope:
    """The prefix assignments in force at one point of the query."""

    def __init__(self, prefixes: Mapping[str, str], default: str | None) -> None:
        self.prefixes = prefixes
        self.default = default

    def with_assignments(self, assignments: Iterable[PrefixAssignment]) -> _Scope:
        prefixes = dict(self.prefixes)
        default = self.default
        for assignment in assignments:
            if assignment.prefix is None:
                default = assignment.uri
            else:
                prefixes[assignment.prefix.lower()] = assignment.uri
        return _Scope(prefixes, default)

    def context_set(self, prefix: str) -> str | None:
        """Our short name of the set a prefix stands for, None when the prefix is unknown."""
        uri = self.prefixes.get(prefix.lower())
        if uri is None:
            return None
        known = CONTEXT_SETS.get(uri)
        if known is None:
            raise _fail(_D.UNSUPPORTED_CONTEXT_SET, uri)
        return known

    def index(self, name: str) -> str:
        prefix, dot, base = name.partition(".")
        if dot:
            context_set = self.context_set(prefix)
            if context_set is None:
                raise _fail(_D.UNSUPPORTED_CONTEXT_SET, prefix)
            candidates: tuple[str, ...] = (context_set,)
        elif self.default is not None:
            base = name
            known = CONTEXT_SETS.get(self.default)
            if known is None:
                raise _fail(_D.UNSUPPORTED_CONTEXT_SET, self.default)
            candidates = (known,)
        else:
            base = name
            candidates = DEFAULT_SEARCH_ORDER
        for context_set in candidates:
            index = INDEXES.get(context_set, {}).get(_key(base)) or _OWN_INDEXES.get((context_set, _key(base)))
            if index is not None:
                return index
        raise _fail(_D.UNSUPPORTED_INDEX, name)

    def modifier_base(self, name: str, sets: tuple[str, ...]) -> str | None:
        """The modifier's base name if it is unprefixed or from one of `sets`, else None."""
        prefix, dot, base = name.partition(".")
        if not dot:
            return name.lower()
        context_set = self.prefixes.get(prefix.lower())
        known = CONTEXT_SETS.get(context_set) if context_set else prefix.lower()
        return base.lower() if known in sets else None


@functools.lru_cache(maxsize=1024)
def cql_to_query(query: CqlQuery) -> Node:
    """The neutral query tree for a parsed CQL query (its sortBy is left to `sort_criteria`).
    Both trees are frozen, so the mappings of recent queries are kept (as `parse_cql` keeps
    their parses); a refusal raises each time.

    Raises SruDiagnostic (15, 16, 19, 20, 21, 27, 31, 32, 36, 37, 40-44, 46) for what it
    cannot honour.
    """
    scope = _Scope(DEFAULT_PREFIXES, None).with_assignments(query.prefixes)
    return _node(query.root, scope)


def sort_criteria(query: CqlQuery) -> tuple[SortCriterion, ...]:
    """The sortBy clause as logical indexes and directions (SRU 16, 81, 88, 90-92)."""
    scope = _Scope(DEFAULT_PREFIXES, None).with_assignments(query.prefixes)
    criteria = []
    for key in query.sort_keys:
        index = scope.index(key.index)
        if index in (ALL_RECORDS, RESULT_SET_ID):
            raise _fail(_D.UNSUPPORTED_PATH_FOR_SORT, key.index)
        descending = False
        for modifier in key.modifiers:
            base = scope.modifier_base(modifier.name, ("sort", "cql"))
            if base in ("ascending", "descending"):
                descending = base == "descending"
            elif base == "ignorecase":
                continue
            elif base == "respectcase":
                raise _fail(_D.UNSUPPORTED_CASE, modifier.name)
            elif base is not None and base.startswith("missing"):
                raise _fail(_D.UNSUPPORTED_MISSING_VALUE_ACTION, modifier.name)
            else:
                raise _fail(_D.UNSUPPORTED_SORT_TYPE, modifier.name)
        criteria.append(SortCriterion(index, descending))
    return tuple(criteria)


_SCAN_RELATIONS = {"=", "==", "exact", "adj", "all", "any", ">=", "scr"}


def scan_start(query: CqlQuery) -> tuple[str, str]:
    """The logical index and start term of a parsed scanClause (`dc.title = "hist"`).

    Raises SruDiagnostic 48 (not one clause), 19 (relation), 20 (relation modifier), 16 or 15
    (index, context set).
    """
    clause = query.root
    if not isinstance(clause, SearchClause) or query.sort_keys:
        raise _fail(_D.QUERY_FEATURE_UNSUPPORTED, "a scan clause is one index, relation and term")
    relation = clause.relation.lower().rpartition(".")[2]
    if relation not in _SCAN_RELATIONS:
        raise _fail(_D.UNSUPPORTED_RELATION, clause.relation)
    if clause.modifiers:
        raise _fail(_D.UNSUPPORTED_RELATION_MODIFIER, clause.modifiers[0].name)
    index = _Scope(DEFAULT_PREFIXES, None).with_assignments(query.prefixes).index(clause.index)
    if index in (ALL_RECORDS, RESULT_SET_ID):
        raise _fail(_D.UNSUPPORTED_INDEX, f"{clause.index} cannot be scanned")
    # Unmasked: `*`, `?` and `^` are plain characters here, and those at the ends go.
    text = "".join(char.char for char in _read_term(clause.term, masking=False).chars)
    return index, text.strip("*^")


def _node(node: CqlNode, scope: _Scope) -> Node:
    if isinstance(node, Prefixed):
        return _node(node.query, scope.with_assignments(node.prefixes))
    if isinstance(node, BooleanClause):
        return _boolean(node, scope)
    return _clause(node, scope)


def _boolean(node: BooleanClause, scope: _Scope) -> Node:
    left, right = _node(node.left, scope), _node(node.right, scope)
    if node.operator == "prox":
        return _prox(node, left, right, scope)
    if node.modifiers:
        raise _fail(_D.UNSUPPORTED_BOOLEAN_MODIFIER, node.modifiers[0].name)
    if node.operator == "and":
        return And(left, right)
    if node.operator == "or":
        return Or(left, right)
    if node.operator == "not":
        return AndNot(left, right)
    raise _fail(_D.UNSUPPORTED_BOOLEAN_OPERATOR, node.operator)


_COMPARISONS = {"<": Relation.LT, "<=": Relation.LE, "=": Relation.EQ, ">=": Relation.GE,
                ">": Relation.GT, "<>": Relation.NE}


def _prox(node: BooleanClause, left: Node, right: Node, scope: _Scope) -> Prox:
    unit = ProximityUnit.WORD
    distance: int | None = None
    relation = Relation.LE
    ordered = False
    seen: set[str] = set()
    for modifier in node.modifiers:
        base = scope.modifier_base(modifier.name, ("cql", "prox"))
        if base in seen or base in ("ordered", "unordered") and {"ordered", "unordered"} & seen:
            # `distance<2/distance=5`: which one would the client mean?
            raise _fail(_D.UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS, modifier.name)
        seen.add(base)
        if base == "unit":
            if modifier.comparison != "=":
                raise _fail(_D.UNSUPPORTED_COMBINATION_OF_PROXIMITY_MODIFIERS, modifier.name)
            value = (modifier.value or "").lower()
            if value == "word":
                unit = ProximityUnit.WORD
            elif value == "element":
                unit = ProximityUnit.FIELD
            else:
                raise _fail(_D.UNSUPPORTED_PROXIMITY_UNIT, modifier.value or "")
        elif base == "distance":
            if modifier.comparison not in _COMPARISONS:
                raise _fail(_D.UNSUPPORTED_PROXIMITY_RELATION,
                            modifier.comparison or modifier.name)
            relation = _COMPARISONS[modifier.comparison]
            if not (modifier.value or "").isdigit():
                raise _fail(_D.UNSUPPORTED_PROXIMITY_DISTANCE, modifier.value or "")
            distance = int(modifier.value or "0")
        elif base in ("ordered", "unordered") and modifier.comparison is None:
            ordered = base == "ordered"
        else:
            raise _fail(_D.UNSUPPORTED_BOOLEAN_MODIFIER, modifier.name)
    if distance is None:
        distance = 1 if unit is ProximityUnit.WORD else 0
    return Prox(left, right, distance=distance, ordered=ordered, relation=relation, unit=unit)


# --- search clauses -----------------------------------------------------------------------

class _Char(NamedTuple):   # a tuple: one is made per character of every term
    char: str
    mask: bool      # an unescaped `*` or `?` of a masked term


@dataclass(frozen=True)
class _TermText:
    chars: tuple[_Char, ...]
    first: bool     # `^` at the start
    last: bool      # `^` at the end


def _read_term(raw: str, masking: bool) -> _TermText:
    chars: list[_Char] = []
    first = last = False
    i, n = 0, len(raw)
    while i < n:
        char = raw[i]
        if char == "\\" and i + 1 < n:
            chars.append(_Char(raw[i + 1], False))
            i += 2
            continue
        if masking and char == "^":
            if i == 0:
                first = True
            elif i == n - 1:
                last = True
            else:
                raise _fail(_D.ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION, raw)
        else:
            chars.append(_Char(char, masking and char in "*?"))
        i += 1
    return _TermText(tuple(chars), first, last)


def _words(text: _TermText) -> list[tuple[_Char, ...]]:
    words: list[tuple[_Char, ...]] = []
    current: list[_Char] = []
    for char in text.chars:
        if char.char.isspace():
            if current:
                words.append(tuple(current))
            current = []
        else:
            current.append(char)
    if current:
        words.append(tuple(current))
    return words


def _masked_text(chars: Iterable[_Char]) -> tuple[str, Truncation]:
    chars = tuple(chars)
    if not any(char.mask for char in chars):
        return "".join(char.char for char in chars).strip(), Truncation.NONE
    text = "".join(char.char for char in chars if char.mask or char.char not in "*?").strip()
    if "?" in text:
        return text, Truncation.MASKED
    core = text.strip("*")
    if not core or "*" in core:
        return text, Truncation.MASKED
    left, right = text.startswith("*"), text.endswith("*")
    if left and right:
        return core, Truncation.BOTH
    return core, Truncation.LEFT if left else Truncation.RIGHT


def _balanced(nodes: list[Node], combine: type[And] | type[Or]) -> Node:
    """`nodes` joined by `combine` in their order, as a tree of depth log2(n), not a chain of n:
    a term of 600 words made a chain whose hashing overflowed Python's stack."""
    if len(nodes) == 1:
        return nodes[0]
    half = len(nodes) // 2
    return combine(_balanced(nodes[:half], combine), _balanced(nodes[half:], combine))


_RELATION_MODIFIERS_IGNORED = {"word", "masked", "ignorecase", "ignoreaccents", "locale"}


def _clause(clause: SearchClause, scope: _Scope) -> Node:
    index = scope.index(clause.index)
    if index == ALL_RECORDS:
        return AllRecords()
    if index == RESULT_SET_ID:
        return ResultSetRef(clause.term.replace('\\"', '"'))

    relation = _relation_name(clause.relation, scope)
    relevant = as_string = False
    masking_on = True
    for modifier in clause.modifiers:
        base = scope.modifier_base(modifier.name, ("cql",))
        if base == "relevant" and modifier.comparison is None:
            relevant = True
        elif base == "string" and modifier.comparison is None:
            as_string = True
        elif base == "unmasked" and modifier.comparison is None:
            masking_on = False
        elif base in _RELATION_MODIFIERS_IGNORED:
            continue
        else:
            raise _fail(_D.UNSUPPORTED_RELATION_MODIFIER, modifier.name)

    builder = _ClauseBuilder(index, relation, _read_term(clause.term, masking_on), as_string)
    if not builder.words:
        raise _fail(_D.EMPTY_TERM_UNSUPPORTED, clause.index)
    node = builder.build()
    if relevant:
        if relation not in ("=", "all", "any", "adj", "=="):
            raise _fail(_D.UNSUPPORTED_COMBINATION_OF_RELATION_MODIFIERS, "relevant")
        node = _relevant(node)
    return node


def _relation_name(relation: str, scope: _Scope) -> str:
    prefix, dot, base = relation.partition(".")
    if dot:
        context_set = scope.context_set(prefix)
        if context_set != "cql":
            raise _fail(_D.UNSUPPORTED_RELATION, relation)
        relation = base
    relation = relation.lower()
    return "==" if relation == "exact" else relation


def _relevant(node: Node) -> Node:
    if isinstance(node, Term):
        return Term(node.index, node.text, Relation.RELEVANCE, node.structure, node.truncation,
                    node.position, node.completeness)
    if isinstance(node, And | Or):
        return type(node)(_relevant(node.left), _relevant(node.right))
    return node


class _ClauseBuilder:
    def __init__(self, index: str, relation: str, text: _TermText, as_string: bool) -> None:
        self.index = index
        self.relation = relation
        self.text = text
        self.words = _words(text)
        self.as_string = as_string
        self.kind = ("key" if index in KEY_INDEXES else
                     "year" if index in NUMERIC_INDEXES else "word")

    def build(self) -> Node:
        relation = self.relation
        if relation in ("=", "==", "adj"):
            return self.whole(relation)
        if relation == "all":
            return self.split(And)
        if relation == "any":
            return self.split(Or)
        if relation == "within":
            return self.within()
        if relation in _COMPARISONS:
            return self.term(self.text.chars, _COMPARISONS[relation], self.structure(relation))
        raise _fail(_D.UNSUPPORTED_RELATION, relation)

    def structure(self, relation: str) -> Structure:
        if self.kind == "key":
            return Structure.KEY
        if self.kind == "year":
            return Structure.YEAR
        if relation in ("==", "adj") or self.as_string or (relation == "=" and len(self.words) > 1):
            return Structure.PHRASE
        if relation == "any":
            return Structure.WORD
        return Structure.WORD_LIST

    def whole(self, relation: str) -> Node:
        words = self.words
        masked = any(char.mask for word in words for char in word)
        if relation == "=" and self.kind == "word" and masked and len(words) > 1:
            return self.split(And)
        completeness = Completeness.INCOMPLETE
        position = Position.ANY
        if self.text.first and self.text.last or relation == "==":
            completeness = Completeness.COMPLETE_FIELD
        elif self.text.first:
            position = Position.FIRST_IN_FIELD
        elif self.text.last:
            raise _fail(_D.ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION, "^ at the end")
        return self.term(self.text.chars, Relation.EQ, self.structure(relation), position,
                         completeness)

    def split(self, combine: type[And] | type[Or]) -> Node:
        if self.text.first or self.text.last:
            raise _fail(_D.ANCHORING_CHARACTER_IN_UNSUPPORTED_POSITION,
                        f"^ with {self.relation}")
        words = self.words
        masked = any(char.mask for word in words for char in word)
        if combine is And and self.kind == "word" and not masked:
            return self.term(self.text.chars, Relation.EQ, self.structure("all"))
        structure = self.structure("any")
        return _balanced([self.term(word, Relation.EQ, structure) for word in words], combine)

    def within(self) -> Node:
        words = self.words
        if len(words) != 2:
            raise _fail(_D.TERM_IN_INVALID_FORMAT, "within needs two values")
        structure = self.structure("within")
        low = self.term(words[0], Relation.GE, structure)
        high = self.term(words[1], Relation.LE, structure)
        if self.kind == "year":
            # One range term: a title has several years (008, 260/264), and `>= a AND <= b` would
            # let one of them satisfy each side (1378 and 2000 "within 1990 1995").
            return Term(self.index, f"{low.text}-{high.text}", Relation.EQ, structure)
        return And(low, high)

    def term(self, chars: Iterable[_Char], relation: Relation, structure: Structure,
             position: Position = Position.ANY,
             completeness: Completeness = Completeness.INCOMPLETE) -> Term:
        text, truncation = _masked_text(chars)
        if not text:
            raise _fail(_D.EMPTY_TERM_UNSUPPORTED, self.index)
        if self.kind == "year" and truncation is Truncation.NONE and not text.isdigit():
            raise _fail(_D.TERM_IN_INVALID_FORMAT, text)
        return Term(self.index, text, relation, structure, truncation, position, completeness)
