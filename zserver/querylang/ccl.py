"""CCL (ISO 8777, as YAZ implements it) text -> `rpn.Query` with Bib-1 attributes.

This module owns the CCL syntax (`grammars/ccl.lark`) and the qualifier table that turns CCL
qualifiers into Type-1 attributes, configured the way YAZ's CCL profiles are: a qualifier
name maps to a line such as `u=4 s=pw t=l,r,z`. Items are `[set,]type=value` with the type
as a number or one of u (use), r (relation), p (position), s (structure), t (truncation),
c (completeness). Besides numbers and strings, these special values are understood:

    s=pw    structure word (4=2) for one word, phrase (4=1) for several
    s=al    each word (or quoted phrase) is a term of its own, ANDed;  s=ol: ORed
    r=o     the relations < <= > >= <> are allowed and set 2=1..6; `a - b` is a range
    r=r     like r=o, and `a-b` (no blanks needed) is a range
    t=r t=l t=b    right / left / both-sides truncation with `?` is allowed (5=1, 5=2, 5=3)
    t=z     masking is allowed: `#` one character, `?` inside a word any run (5=104, Z39.58)
    t=n     a term without `?` gets 5=100 (do not truncate)

A line without any `=` is an alias: `au pn cn` means `au=x` is `pn=x or cn=x`. The qualifier
`term` gives the attributes of terms without a qualifier. `ti,au=x` searches each qualifier
and ORs the results (YAZ's `@field or` mode). Qualifiers and the operators `and or not set
prox` are case-insensitive. `%n` is unordered proximity within n words (default 1), `!n` the
same in order; `prox` is `%`. Inside quotes `?` and `#` are plain characters.

Errors: QuerySyntaxError (Bib-1 108 at the protocol edge), UnknownQualifier (114) and
TruncationNotAllowed (120), each with the character position. Nothing from lark escapes.
This module knows nothing of what Use attributes mean: that is `zserver.z3950.attributes`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lark import Lark, Token, Tree

from zserver.querylang.errors import (
    QuerySyntaxError,
    TruncationNotAllowed,
    UnknownQualifier,
)
from zserver.querylang.grammar import parse_text
from zserver.querylang.rpn import (
    BIB1_OID,
    Attribute,
    AttributesPlusTerm,
    KnownProximityUnit,
    Operator,
    Proximity,
    ProximityRelation,
    Query,
    ResultSetId,
    RpnOp,
    RpnStructure,
    attribute_set_oid,
)

DEFAULT_QUALIFIERS: dict[str, str] = {
    "term": "u=1016 s=al,pw t=l,r,b,z",
    "any": "u=1016 s=al,pw t=l,r,b,z",
    "ti": "u=4 s=pw t=l,r,b,z",
    "au": "u=1003 s=pw t=l,r,b,z",
    "su": "u=21 s=pw t=l,r,b,z",
    "pub": "u=1018 s=pw t=l,r,b,z",
    "isbn": "u=7 t=r",
    "issn": "u=8 t=r",
    "lccn": "u=9 t=r",
    "lang": "u=54",
    "year": "u=31 r=r s=4",
}
"""The qualifier table used when `unikat.toml` gives none."""

_TYPE_LETTERS = {"u": 1, "r": 2, "p": 3, "s": 4, "t": 5, "c": 6}
_SPECIALS = {2: {"o", "r"}, 4: {"pw", "al", "ol"}, 5: {"l", "r", "b", "n", "z"}}
_RELATIONS = {"<": 1, "<=": 2, "=": 3, ">=": 4, ">": 5, "<>": 6}


@dataclass(frozen=True)
class _Qualifier:
    attributes: tuple[Attribute, ...]
    structure: frozenset[str] = frozenset()
    relation: frozenset[str] = frozenset()
    truncation: frozenset[str] = frozenset()

    def has(self, attribute_type: int) -> bool:
        return any(attribute.type == attribute_type for attribute in self.attributes)


class CclProfile:
    """A parsed qualifier table. Raises ValueError for a line it cannot read."""

    def __init__(self, table: Mapping[str, str] = DEFAULT_QUALIFIERS) -> None:
        self._lines = {name.lower(): spec for name, spec in table.items()}
        self._qualifiers: dict[str, _Qualifier] = {}
        self._aliases: dict[str, tuple[str, ...]] = {}
        for name, spec in self._lines.items():
            items = spec.split()
            if items and all("=" not in item for item in items):
                self._aliases[name] = tuple(item.lower() for item in items)
            else:
                self._qualifiers[name] = _parse_qualifier(name, items)
        for name, targets in self._aliases.items():
            for target in targets:
                if target not in self._qualifiers:
                    raise ValueError(f"CCL alias {name!r} names unknown qualifier {target!r}")

    def resolve(self, name: str) -> list[_Qualifier] | None:
        """The qualifiers a name stands for (several for an alias), None if unknown."""
        key = name.lower()
        if key in self._qualifiers:
            return [self._qualifiers[key]]
        if key in self._aliases:
            return [self._qualifiers[target] for target in self._aliases[key]]
        return None

    def default(self) -> list[_Qualifier]:
        return self.resolve("term") or [_Qualifier(())]


def _parse_qualifier(name: str, items: Iterable[str]) -> _Qualifier:
    attributes: list[Attribute] = []
    specials: dict[int, set[str]] = {2: set(), 4: set(), 5: set()}
    for item in items:
        left, sep, value = item.partition("=")
        attribute_set, comma, type_text = left.rpartition(",")
        type_text = type_text.lower()
        attribute_type = _TYPE_LETTERS.get(type_text) or (
            int(type_text) if type_text.isdigit() else None)
        if not sep or attribute_type is None or not value:
            raise ValueError(f"CCL qualifier {name!r}: cannot read {item!r}")
        set_oid = None
        if comma:
            set_oid = attribute_set_oid(attribute_set)
            if set_oid is None:
                raise ValueError(f"CCL qualifier {name!r}: unknown attribute set {attribute_set!r}")
        words = value.lower().split(",")
        if attribute_type in _SPECIALS and all(w in _SPECIALS[attribute_type] for w in words):
            specials[attribute_type].update(words)
        elif value.isdigit():
            attributes.append(Attribute(attribute_type, int(value), set_oid))
        else:
            attributes.append(Attribute(attribute_type, value, set_oid))
    return _Qualifier(tuple(attributes), frozenset(specials[4]), frozenset(specials[2]),
                      frozenset(specials[5]))


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammars" / "ccl.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic", maybe_placeholders=False)


@cache
def _default_profile() -> CclProfile:
    return CclProfile()


def parse_ccl(text: str, profile: CclProfile | None = None) -> Query:
    """Parse a CCL FIND argument into a Bib-1 Type-1 query using `profile`'s qualifiers.

    Raises QuerySyntaxError, UnknownQualifier or TruncationNotAllowed with the position.
    """
    tree = parse_text(_parser(), text)
    builder = _Builder(profile or _default_profile())
    return Query(BIB1_OID, builder.node(tree.children[0], None))


# --- building the Type-1 tree -------------------------------------------------------------

@dataclass(frozen=True)
class _Word:
    text: str
    quoted: bool
    position: int


def _combine(op: Operator, nodes: list[RpnStructure]) -> RpnStructure:
    result = nodes[0]
    for node in nodes[1:]:
        result = RpnOp(op, result, node)
    return result


class _Builder:
    def __init__(self, profile: CclProfile) -> None:
        self.profile = profile

    def node(self, tree: Tree | Token, qualifiers: list[_Qualifier] | None) -> RpnStructure:
        kind = tree.data if isinstance(tree, Tree) else None
        if kind == "boolean":
            left, operator, right = tree.children
            op = {"and": Operator.AND, "or": Operator.OR, "not": Operator.AND_NOT}[
                str(operator).lower()]
            return RpnOp(op, self.node(left, qualifiers), self.node(right, qualifiers))
        if kind == "group":
            return self.node(tree.children[1], qualifiers)
        if kind == "result_set":
            return ResultSetId(str(tree.children[2]))
        if kind in ("qualified", "qualified_group"):
            names, relation = tree.children[0], tree.children[1]
            inner = tree.children[2] if kind == "qualified" else tree.children[3]
            return self.qualified(names, relation, inner)
        return self.terms(tree, qualifiers or self.profile.default(), "=", 0)

    def qualified(self, names: Tree, relation: Token, inner: Tree | Token) -> RpnStructure:
        branches: list[RpnStructure] = []
        for name in names.children:
            if name.type != "WORD":
                continue
            qualifiers = self.profile.resolve(str(name))
            if qualifiers is None:
                raise UnknownQualifier(str(name), name.start_pos)
            for qualifier in qualifiers:
                if relation != "=" and not qualifier.relation:
                    raise QuerySyntaxError(
                        f"relation {relation} is not allowed with qualifier {str(name)!r}",
                        relation.start_pos)
                if isinstance(inner, Tree) and inner.data not in ("term", "proximity"):
                    if relation != "=":
                        raise QuerySyntaxError("a relation other than = needs a term",
                                               relation.start_pos)
                    branches.append(self.node(inner, [qualifier]))
                else:
                    branches.append(self.terms(inner, [qualifier], str(relation),
                                               relation.start_pos))
        return _combine(Operator.OR, branches)

    def terms(self, tree: Tree, qualifiers: list[_Qualifier], relation: str,
              position: int) -> RpnStructure:
        if tree.data == "proximity":
            left, prox, right = tree.children
            text = str(prox)
            distance = int(text[1:]) if text[1:].isdigit() else 1
            proximity = Proximity(
                distance=distance,
                ordered=text.startswith("!"),
                relation_type=ProximityRelation.LESS_THAN_OR_EQUAL,
                unit=KnownProximityUnit.WORD,
            )
            return RpnOp(Operator.PROX, self.terms(left, qualifiers, relation, position),
                         self.terms(right, qualifiers, relation, position), proximity)
        words = [
            _Word(_unquote(token), True, token.start_pos) if token.type == "QUOTED"
            else _Word(str(token), False, token.start_pos)
            for token in tree.children
        ]
        return _combine(Operator.OR, [self.term(words, q, relation, position)
                                      for q in qualifiers])

    def term(self, words: list[_Word], qualifier: _Qualifier, relation: str,
             position: int) -> RpnStructure:
        if qualifier.relation and relation == "=":
            bounds = _range(words, "r" in qualifier.relation)
            if bounds is not None:
                low, high = bounds
                if not low and not high:   # a lone `-` bounds nothing: nothing to search for
                    raise QuerySyntaxError("a range needs a lower or an upper bound",
                                           words[0].position)
                parts = []
                if low:
                    parts.append(self.term(low, qualifier, ">=", position))
                if high:
                    parts.append(self.term(high, qualifier, "<=", position))
                return _combine(Operator.AND, parts)
        if "al" in qualifier.structure or "ol" in qualifier.structure:
            op = Operator.AND if "al" in qualifier.structure else Operator.OR
            return _combine(op, [self.apt([word], qualifier, relation) for word in words])
        return self.apt(words, qualifier, relation)

    def apt(self, words: list[_Word], qualifier: _Qualifier, relation: str) -> RpnStructure:
        attributes = list(qualifier.attributes)
        if qualifier.relation:
            attributes = [a for a in attributes if a.type != 2]
            attributes.append(Attribute(2, _RELATIONS[relation]))
        if not qualifier.has(4) and "pw" in qualifier.structure:
            single = len(words) == 1 and not any(c.isspace() for c in words[0].text)
            attributes.append(Attribute(4, 2 if single else 1))
        text = " ".join(word.text for word in words)
        if not qualifier.has(5):
            text, truncation = _truncation(words, qualifier.truncation)
            if truncation is not None:
                attributes.append(Attribute(5, truncation))
        return AttributesPlusTerm(tuple(attributes), text)


def _unquote(token: Token) -> str:
    return re.sub(r"\\(.)", r"\1", str(token)[1:-1], flags=re.S)


def _range(words: list[_Word], dash_anywhere: bool) -> tuple[list[_Word], list[_Word]] | None:
    """Split `a - b` (and with r=r also `a-b`, `a-`, `-b`) into its bounds."""
    for i, word in enumerate(words):
        if word.quoted:
            continue
        if word.text == "-":
            return words[:i], words[i + 1:]
        if dash_anywhere and "-" in word.text:
            low, _, high = word.text.partition("-")
            before = words[:i] + ([_Word(low, False, word.position)] if low else [])
            after = ([_Word(high, False, word.position)] if high else []) + words[i + 1:]
            if before or after:
                return before, after
    return None


def _truncation(words: list[_Word], allowed: frozenset[str]) -> tuple[str, int | None]:
    """Strip CCL truncation marks; return the term text and the Bib-1 truncation value."""
    open_words = [w for w in words if not w.quoted]
    first, last = words[0], words[-1]
    left = not first.quoted and first.text.startswith("?") and len(first.text) > 1
    right = not last.quoted and last.text.endswith("?") and len(last.text) > 1
    texts = [w.text for w in words]
    if left:
        texts[0] = texts[0][1:]
    if right:
        texts[-1] = texts[-1][:-1]
    inner = [t for t, w in zip(texts, words, strict=True) if not w.quoted]
    masked = any("?" in t or "#" in t for t in inner)
    position = open_words[0].position if open_words else first.position
    if masked:
        if "z" not in allowed:
            raise TruncationNotAllowed("masking is not supported for this qualifier", position)
        return " ".join(w.text for w in words), 104
    text = " ".join(texts)
    if left and right:
        if "b" not in allowed:
            raise TruncationNotAllowed("truncation on both sides is not supported here",
                                       position)
        return text, 3
    if right:
        if "r" not in allowed:
            raise TruncationNotAllowed("right truncation is not supported here", position)
        return text, 1
    if left:
        if "l" not in allowed:
            raise TruncationNotAllowed("left truncation is not supported here", position)
        return text, 2
    return text, (100 if "n" in allowed else None)
