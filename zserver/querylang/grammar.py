"""Running a lark grammar on query text: the one place lark's exceptions are translated.

CCL and CQL both parse with lark. Whatever lark raises becomes a `QuerySyntaxError` with the
position in the text, and a parse tree nested deeper than MAX_QUERY_DEPTH becomes
`QueryTooComplex`, so nothing from lark escapes this package and no later recursion overflows.
"""

from __future__ import annotations

from lark import Lark, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from zserver.querylang.errors import MAX_QUERY_DEPTH, QuerySyntaxError, QueryTooComplex


def parse_text(parser: Lark, text: str) -> Tree:
    """The parse tree of `text`. Raises QuerySyntaxError (with position) or QueryTooComplex."""
    if not text.strip():
        raise QuerySyntaxError("empty query", 0)
    try:
        tree = parser.parse(text)
    except UnexpectedEOF:
        raise QuerySyntaxError("query ends too early", len(text)) from None
    except UnexpectedCharacters as error:
        message = "unterminated quoted string" if text[error.pos_in_stream] == '"' else (
            f"unexpected character {text[error.pos_in_stream]!r}")
        raise QuerySyntaxError(message, error.pos_in_stream) from None
    except UnexpectedInput as error:
        token = getattr(error, "token", None)
        if token is None or token.type == "$END":
            raise QuerySyntaxError("query ends too early", len(text)) from None
        raise QuerySyntaxError(f"unexpected {str(token)!r}", token.start_pos) from None
    except LarkError as error:  # any other parser failure is still the query's fault
        raise QuerySyntaxError(f"cannot parse query: {error}", 0) from None
    if _depth(tree) > MAX_QUERY_DEPTH:
        raise QueryTooComplex("query nests too many operators or parentheses", 0)
    return tree


def _depth(tree: Tree) -> int:
    """How deeply the parse tree nests, measured without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children)
    return deepest
