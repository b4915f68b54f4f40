"""parse_cql's cache: the same text gives the same immutable tree; bad text raises every time."""

from __future__ import annotations

import dataclasses

import pytest

from zserver.querylang import cql
from zserver.querylang.cql import MAX_CACHED_QUERY, PARSE_CACHE_SIZE, CqlQuery, parse_cql
from zserver.querylang.errors import QuerySyntaxError


def immutable(value: object) -> bool:
    """True when `value` is built of exact str, int, None, tuples and frozen dataclasses only
    (no lark Token, list or dict that a caller could change under the cache)."""
    if value is None or type(value) in (str, int):
        return True
    if type(value) is tuple:
        return all(immutable(item) for item in value)
    if dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen:
        return all(immutable(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


@pytest.mark.parametrize("text", [
    'dc.title = "water" and dc.creator any/rel.algorithm=cql "smith jones"',
    '> dc = "info:srw/cql-context-set/1/dc-v1.1" (> x = "u" x.y = a or b) prox/unit=word c sortBy dc.date/sort.descending',
    "water",
])
def test_trees_are_immutable_and_shared(text: str) -> None:
    first = parse_cql(text)
    assert isinstance(first, CqlQuery) and immutable(first)
    assert parse_cql(text) is first


def test_long_queries_are_parsed_each_time() -> None:
    text = " or ".join(f"w{i}" for i in range(MAX_CACHED_QUERY // 3))
    assert len(text) > MAX_CACHED_QUERY
    first, second = parse_cql(text), parse_cql(text)
    assert first == second and first is not second


def test_bad_queries_raise_each_time() -> None:
    for _ in range(3):
        with pytest.raises(QuerySyntaxError):
            parse_cql('dc.title = "unterminated')


def test_the_cache_is_bounded() -> None:
    for number in range(PARSE_CACHE_SIZE + 10):
        parse_cql(f"t{number}")
    assert cql._parse_cached.cache_info().currsize == PARSE_CACHE_SIZE
