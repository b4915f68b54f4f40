"""CQL 1.2 (Contextual Query Language) text -> a small CQL syntax tree.

This module owns CQL *syntax*: prefix assignments, search clauses, relations and their
modifiers, the four booleans with modifiers, parentheses and `sortBy`. The grammar is
`grammars/cql.lark` (CQL 1.2 BNF, LALR). The tree keeps what the query says, as written:
index and relation names keep their prefixes and case, search terms keep their backslash
escapes and masking characters (`*`, `?`, `^`), so that their meaning can be decided later.

It must not know what any index or relation means: context sets, masking and the mapping to
the neutral query tree are `zserver.sru.cqlmap`'s. Syntax errors raise QuerySyntaxError with
the character offset; nothing from lark escapes.

The query most clients send is one search clause (`dc.title = "water"`, `water`): that is read
by a small scanner (`_one_clause`) instead of lark, for the same tree (a differential test
compares the two); anything else, or anything the scanner is unsure of, goes to lark.

Divergence from YAZ: YAZ also accepts "free-form" terms (`a b` as one term); CQL 1.2 does not,
and neither do we. `title = ("x")` is refused as the CQL 1.2 grammar says (YAZ accepts it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from lark import Lark, Token, v_args
from lark.visitors import Transformer_NonRecursive

from zserver.querylang.grammar import parse_text

SERVER_CHOICE = "cql.serverChoice"
"""The index of a clause that is a bare search term (CQL 1.2)."""


@dataclass(frozen=True)
class Modifier:
    """`/name` or `/name <comparison> value` on a relation, a boolean or a sort key."""

    name: str
    comparison: str | None = None
    value: str | None = None
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SearchClause:
    """`index relation term`. A bare term has index SERVER_CHOICE and relation `=`.

    `term` is the text as written, without its enclosing quotes but with its backslash
    escapes. `relation` is the comparitor as written (`=`, `any`, `dc.exact`, ...).
    """

    index: str
    relation: str
    term: str
    modifiers: tuple[Modifier, ...] = ()
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BooleanClause:
    """`left operator right`; operator is lower case: `and`, `or`, `not` or `prox`."""

    operator: str
    left: CqlNode
    right: CqlNode
    modifiers: tuple[Modifier, ...] = ()
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class PrefixAssignment:
    """`> prefix = "uri"`, or `> "uri"` (prefix None: the default context set)."""

    prefix: str | None
    uri: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Prefixed:
    """A parenthesised sub-query with its own prefix assignments (they scope over `query`)."""

    prefixes: tuple[PrefixAssignment, ...]
    query: CqlNode


@dataclass(frozen=True)
class SortKey:
    """One key of the `sortBy` clause: an index and its modifiers."""

    index: str
    modifiers: tuple[Modifier, ...] = ()
    position: int = field(default=0, compare=False)


CqlNode = SearchClause | BooleanClause | Prefixed


@dataclass(frozen=True)
class CqlQuery:
    """A whole query: top-level prefix assignments (they also scope over the sort keys)."""

    root: CqlNode
    sort_keys: tuple[SortKey, ...] = ()
    prefixes: tuple[PrefixAssignment, ...] = ()


def _text(token: Token) -> str:
    value = str(token)
    if token.type == "CHARSTRING2":
        return value[1:-1]
    return value


@v_args(inline=True)
class _ToAst(Transformer_NonRecursive):
    def start(self, *items: object) -> CqlQuery:
        prefixes = tuple(item for item in items if isinstance(item, PrefixAssignment))
        rest = items[len(prefixes):]
        sort_keys = rest[1] if len(rest) > 1 else ()
        return CqlQuery(rest[0], sort_keys, prefixes)

    def subquery(self, *items: object) -> CqlNode:
        prefixes = tuple(item for item in items if isinstance(item, PrefixAssignment))
        root = items[-1]
        if prefixes:
            return Prefixed(prefixes, root)
        return root

    def named_prefix(self, gt: Token, prefix: Token, _eq: Token, uri: Token) -> PrefixAssignment:
        return PrefixAssignment(_text(prefix), _text(uri), gt.start_pos)

    def default_prefix(self, gt: Token, uri: Token) -> PrefixAssignment:
        return PrefixAssignment(None, _text(uri), gt.start_pos)

    def boolean(self, left: CqlNode, group: tuple[Token, tuple[Modifier, ...]],
                right: CqlNode) -> BooleanClause:
        operator, modifiers = group
        return BooleanClause(str(operator).lower(), left, right, modifiers, operator.start_pos)

    def boolean_group(self, operator: Token, *modifiers: Modifier):
        return operator, modifiers

    def group(self, _lpar: Token, query: CqlNode, _rpar: Token) -> CqlNode:
        return query

    def search_clause(self, index: Token, relation: tuple[Token, tuple[Modifier, ...]],
                      term: Token) -> SearchClause:
        comparitor, modifiers = relation
        return SearchClause(_text(index), _text(comparitor), _text(term), modifiers,
                            index.start_pos)

    def bare_term(self, term: Token) -> SearchClause:
        return SearchClause(SERVER_CHOICE, "=", _text(term), (), term.start_pos)

    def relation(self, comparitor: Token, *modifiers: Modifier):
        return comparitor, modifiers

    def modifier(self, slash: Token, name: Token, comparison: Token | None = None,
                 value: Token | None = None) -> Modifier:
        return Modifier(
            _text(name),
            None if comparison is None else str(comparison),
            None if value is None else _text(value),
            slash.start_pos,
        )

    def sort_spec(self, _sortby: Token, *keys: SortKey) -> tuple[SortKey, ...]:
        return keys

    def single_spec(self, index: Token, *modifiers: Modifier) -> SortKey:
        return SortKey(_text(index), modifiers, index.start_pos)


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammars" / "cql.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", maybe_placeholders=False)


MAX_CACHED_QUERY = 256
"""Queries up to this many characters are kept, parsed, in a cache of PARSE_CACHE_SIZE."""
PARSE_CACHE_SIZE = 1024


def parse_cql(text: str) -> CqlQuery:
    """Parse CQL 1.2 `text`. Raises QuerySyntaxError(message, position) on bad syntax.

    The same text gives the same (immutable, shared) tree: an SRU client repeats its queries
    (hit count, then pages of records), and parsing costs about 0.1 ms. Bad text is not
    cached and raises each time."""
    if len(text) <= MAX_CACHED_QUERY:
        return _parse_cached(text)
    return _parse(text)


def _parse(text: str) -> CqlQuery:
    if (simple := _one_clause(text)) is not None:
        return simple
    tree = parse_text(_parser(), text)
    return _ToAst().transform(tree)


# The grammar's tokens, for `_one_clause`: whitespace is what lark ignores (common.WS), words
# and quoted strings are CHARSTRING1 and CHARSTRING2, symbols longest first.
_TOKEN = re.compile(r'[ \t\f\r\n]*(?:(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()=<>"/]+)|(?P<symbol>==|<>|<=|>=|=|<|>))',
                    re.S)
_END = re.compile(r"[ \t\f\r\n]*\Z")
_KEYWORD = re.compile(r"(?:and|or|not|prox|sortby)\Z", re.I)


def _one_clause(text: str) -> CqlQuery | None:
    """The tree of a query that is one search clause without modifiers (`index relation term`,
    or a bare term), as lark would give it; None for anything else (lark decides)."""
    tokens: list[tuple[str, str, int]] = []   # (kind, text, start)
    at = 0
    while not _END.match(text, at):
        match = _TOKEN.match(text, at)
        if match is None or len(tokens) == 3:
            return None
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "word" and _KEYWORD.match(value):   # a keyword where a term may stand: lark's
            return None
        tokens.append((kind, value[1:-1] if kind == "quoted" else value, match.start(kind)))
        at = match.end()
    if len(tokens) == 1 and tokens[0][0] != "symbol":
        _kind, term, start = tokens[0]
        return CqlQuery(SearchClause(SERVER_CHOICE, "=", term, (), start))
    if len(tokens) == 3 and tokens[0][0] == "word" and tokens[1][0] != "quoted" and tokens[2][0] != "symbol":
        (_kind, index, start), (_kind, relation, _at), (_kind, term, _at) = tokens
        return CqlQuery(SearchClause(index, relation, term, (), start))
    return None


# Only immutable values (frozen dataclasses of str and tuples) are kept, and only for short
# texts, so the cache acts as the pure function it stands for and stays a few MB at most.
_parse_cached = lru_cache(maxsize=PARSE_CACHE_SIZE)(_parse)


