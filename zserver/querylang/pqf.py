"""YAZ Prefix Query Format (PQF): text <-> `rpn.Query`.

This module owns the PQF notation as YAZ's `pquery.c` reads it (YAZ manual, "Prefix Query
Format"):

    query        ::= ['@attrset' set] query-struct
    query-struct ::= '@attr' [set] type=value query-struct
                   | '@term' term-type query-struct
                   | ('@and' | '@or' | '@not') query-struct query-struct
                   | '@prox' exclusion distance ordered relation which-code unit-code
                             query-struct query-struct
                   | '@set' name
                   | term

Tokens are separated by blanks; `"..."` and `{...}` quote a token (never an operator);
backslash escapes (`\\"`, `\\\\`, `\\t`, `\\n`, `\\xHH`, `\\ooo`) are processed in terms and string
attribute values. As in YAZ, `@attr` applies to every term of the query-struct that follows
(an inner `@attr` of the same type overrides an outer one) and `@term` changes the term type
for the rest of the query. Divergence from YAZ: the attribute set named in `@attr set t=v`
applies to that attribute only (YAZ carries it on to later attributes).

It knows nothing of what attributes mean (that is `zserver.z3950.attributes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zserver.querylang.errors import MAX_QUERY_DEPTH, QuerySyntaxError, QueryTooComplex
from zserver.querylang.rpn import (
    BIB1_OID,
    Attribute,
    AttributesPlusTerm,
    ComplexValue,
    Operator,
    Proximity,
    Query,
    ResultSetId,
    RpnOp,
    RpnStructure,
    TermType,
    attribute_set_name,
    attribute_set_oid,
)

_OPERATORS = {"@and": Operator.AND, "@or": Operator.OR, "@not": Operator.AND_NOT}
_KEYWORDS = {"@and", "@or", "@not", "@prox", "@attr", "@attrset", "@set", "@term"}
_TERM_TYPES = {
    "general": TermType.GENERAL,
    "numeric": TermType.NUMERIC,
    "string": TermType.CHARACTER_STRING,
    "oid": TermType.OID,
    "datetime": TermType.DATE_TIME,
    "null": TermType.NULL,
}
_CLOSING = {'"': '"', "{": "}"}


@dataclass(frozen=True)
class _Token:
    text: str        # raw text, quotes removed, escapes not yet processed
    position: int
    quoted: bool

    @property
    def keyword(self) -> str | None:
        if self.quoted:
            return None
        word = self.text.lower()
        return word if word in _KEYWORDS else None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return tokens
        start = i
        closing = _CLOSING.get(text[i])
        if closing is not None:
            i += 1
            body_start = i
            while i < n and text[i] != closing:
                i += 2 if text[i] == "\\" and i + 1 < n else 1
            if i >= n:
                raise QuerySyntaxError(f"missing closing {closing}", start)
            tokens.append(_Token(text[body_start:i], start, True))
            i += 1
        else:
            while i < n and not text[i].isspace():
                i += 2 if text[i] == "\\" and i + 1 < n else 1
            tokens.append(_Token(text[start:i], start, False))


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(raw: str) -> str:
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        char = raw[i]
        if char != "\\" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", raw[i + 2:i + 4]):
            out.append(chr(int(raw[i + 2:i + 4], 16)))
            i += 4
        elif nxt in "0123" and re.fullmatch(r"[0-7]{2}", raw[i + 2:i + 4]):
            out.append(chr(int(raw[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.term_type = TermType.GENERAL
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError(f"missing {what}", len(self.text))
        self.index += 1
        return token

    def parse(self) -> Query:
        attribute_set = BIB1_OID
        first = self.peek()
        if first is not None and first.keyword == "@attrset":
            self.index += 1
            attribute_set = self.attribute_set(self.next("attribute set"))
        root = self.structure(())
        extra = self.peek()
        if extra is not None:
            raise QuerySyntaxError(f"unexpected {extra.text!r} after the query", extra.position)
        return Query(attribute_set, root)

    def attribute_set(self, token: _Token) -> str:
        oid = attribute_set_oid(token.text)
        if oid is None:
            raise QuerySyntaxError(f"unknown attribute set {token.text!r}", token.position)
        return oid

    def structure(self, attributes: tuple[Attribute, ...]) -> RpnStructure:
        token = self.next("operand")
        self.depth += 1
        try:
            return self._structure(token, attributes)
        finally:
            self.depth -= 1

    def _structure(self, token: _Token, attributes: tuple[Attribute, ...]) -> RpnStructure:
        if self.depth > MAX_QUERY_DEPTH + 50:  # @attr and @term nest here as well
            raise QueryTooComplex("query is nested too deeply", token.position)
        keyword = token.keyword
        if keyword is None:
            return self.term(token, attributes)
        if keyword == "@attr":
            return self.structure(_override(attributes, self.attribute()))
        if keyword == "@term":
            kind = self.next("term type")
            if kind.text.lower() not in _TERM_TYPES:
                raise QuerySyntaxError(f"unknown term type {kind.text!r}", kind.position)
            self.term_type = _TERM_TYPES[kind.text.lower()]
            return self.structure(attributes)
        if keyword == "@set":
            return ResultSetId(_unescape(self.next("result set name").text))
        if keyword in _OPERATORS:
            left = self.structure(attributes)
            return RpnOp(_OPERATORS[keyword], left, self.structure(attributes))
        if keyword == "@prox":
            proximity = self.proximity()
            left = self.structure(attributes)
            return RpnOp(Operator.PROX, left, self.structure(attributes), proximity)
        raise QuerySyntaxError(f"{token.text} is only allowed at the start", token.position)

    def attribute(self) -> Attribute:
        token = self.next("attribute")
        attribute_set = None
        if "=" not in token.text:
            attribute_set = self.attribute_set(token)
            token = self.next("attribute")
        type_text, sep, value_text = token.text.partition("=")
        if not sep or not type_text.isdigit():
            raise QuerySyntaxError(f"bad attribute {token.text!r}", token.position)
        if not value_text:
            raise QuerySyntaxError(f"missing attribute value in {token.text!r}", token.position)
        value: int | str = int(value_text) if value_text.isdigit() else _unescape(value_text)
        return Attribute(int(type_text), value, attribute_set)

    def term(self, token: _Token, attributes: tuple[Attribute, ...]) -> AttributesPlusTerm:
        text = _unescape(token.text)
        if self.term_type is TermType.NUMERIC and not re.fullmatch(r"-?\d+", text):
            raise QuerySyntaxError(f"numeric term expected, not {text!r}", token.position)
        if self.term_type is TermType.NULL:
            text = ""
        return AttributesPlusTerm(attributes, text, self.term_type)

    def proximity(self) -> Proximity:
        exclusion_token = self.next("proximity exclusion")
        exclusion: bool | None
        first = exclusion_token.text[:1].lower()
        if first in ("0", "1"):
            exclusion = first == "1"
        elif first in ("v", "n"):
            exclusion = None
        else:
            raise QuerySyntaxError("proximity exclusion must be 0, 1 or void",
                                   exclusion_token.position)
        distance = self.integer("proximity distance")
        ordered_token = self.next("proximity ordered flag")
        if ordered_token.text not in ("0", "1"):
            raise QuerySyntaxError("proximity ordered flag must be 0 or 1", ordered_token.position)
        relation = self.integer("proximity relation")
        which = self.next("proximity which-code")
        code = which.text.lower()
        if code.startswith("k") or code == "1":
            private = False
        elif code.startswith("p") or code == "2":
            private = True
        else:
            raise QuerySyntaxError("proximity which-code must be known or private", which.position)
        unit = self.integer("proximity unit code")
        return Proximity(
            exclusion=exclusion,
            distance=distance,
            ordered=ordered_token.text == "1",
            relation_type=relation,
            unit=unit,
            private_unit=private,
        )

    def integer(self, what: str) -> int:
        token = self.next(what)
        if not token.text.isdigit():
            raise QuerySyntaxError(f"{what} must be a number, not {token.text!r}", token.position)
        return int(token.text)


def _override(attributes: tuple[Attribute, ...], new: Attribute) -> tuple[Attribute, ...]:
    """Add `new` for the terms below; it replaces an outer attribute of the same type."""
    return tuple(a for a in attributes if a.type != new.type) + (new,)


def parse_pqf(text: str) -> Query:
    """Parse PQF `text` into a Type-1 query. Raises QuerySyntaxError with the offset."""
    return _Parser(text).parse()


# --- rpn -> PQF ---------------------------------------------------------------------------

_NEEDS_QUOTES = re.compile(r'[\s"{}\\]|^@|^$')


def _quote(text: str) -> str:
    if not _NEEDS_QUOTES.search(text) and not any(ord(c) < 32 for c in text):
        return text
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char in "\t\n\r\f":
            escaped.append("\\" + {"\t": "t", "\n": "n", "\r": "r", "\f": "f"}[char])
        elif ord(char) < 32:
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _set_name(oid: str) -> str:
    return attribute_set_name(oid) or oid


def _attribute_to_pqf(attribute: Attribute) -> str:
    value = attribute.value
    if isinstance(value, ComplexValue):
        raise ValueError("PQF cannot express a complex attribute value with several items")
    if isinstance(value, str) and (value.isdigit() or not value):
        raise ValueError(f"PQF cannot express the string attribute value {value!r}")
    spec = _quote(f"{attribute.type}={value}")
    if attribute.attribute_set is not None:
        return f"@attr {_set_name(attribute.attribute_set)} {spec}"
    return f"@attr {spec}"


_TERM_TYPE_NAMES = {term_type: name for name, term_type in _TERM_TYPES.items()}


def rpn_to_pqf(query: Query) -> str:
    """Write `query` as PQF that `parse_pqf` reads back into an equal Query.

    Raises ValueError for what PQF cannot express (complex attribute values with several
    items, string attribute values made of digits).
    """
    parts: list[str] = []
    if query.attribute_set != BIB1_OID:
        parts.append(f"@attrset {_set_name(query.attribute_set)}")
    term_type = TermType.GENERAL

    def walk(node: RpnStructure) -> None:
        nonlocal term_type
        if isinstance(node, RpnOp):
            if node.op is Operator.PROX:
                prox = node.proximity
                if prox is None:
                    raise ValueError("a prox operator needs its Proximity")
                exclusion = "void" if prox.exclusion is None else str(int(prox.exclusion))
                which = "p" if prox.private_unit else "k"
                parts.append(
                    f"@prox {exclusion} {prox.distance} {int(prox.ordered)} "
                    f"{int(prox.relation_type)} {which} {int(prox.unit)}"
                )
            else:
                parts.append({Operator.AND: "@and", Operator.OR: "@or",
                              Operator.AND_NOT: "@not"}[node.op])
            walk(node.left)
            walk(node.right)
        elif isinstance(node, ResultSetId):
            parts.append(f"@set {_quote(node.name)}")
        else:
            types = [attribute.type for attribute in node.attributes]
            if len(types) != len(set(types)):
                raise ValueError("PQF cannot express two attributes of the same type on a term")
            parts.extend(_attribute_to_pqf(attribute) for attribute in node.attributes)
            if node.term_type is not term_type:
                parts.append(f"@term {_TERM_TYPE_NAMES[node.term_type]}")
                term_type = node.term_type
            parts.append(_quote(node.term) if node.term_type is not TermType.NULL else '""')

    walk(query.root)
    return " ".join(parts)


__all__ = ["parse_pqf", "rpn_to_pqf"]
