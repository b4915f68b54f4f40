"""The hit-count response written as text gives the bytes the tree gives, serialized.

`hit_count_response` is the fast path of most searches (maximumRecords=0, or no hits): every
difference from `serialize(search_retrieve_response(...))` would be a client-visible change.
"""

from __future__ import annotations

import itertools
import random

import pytest

from zserver.sru.request import Escaping, Version
from zserver.sru.response import hit_count_response, search_retrieve_response, serialize

# text a query or a stylesheet may echo: markup, entities, line ends, what XML 1.0 cannot carry
_HARD = ["", "title=rose", 'a & b < c > d "e" \'f\'', "cr\rlf\r\ntab\t", "nul\x00 bell\x07 \x1f",
         "lone \ud800 surrogate", "\ufffe\uffff", "Ünïcödé ✓ 𝔘", "]]> <![CDATA[", "&amp;&#13;"]


def _tree_bytes(version: Version, hits: int, set_id: str | None, ttl: int | None,
                echo: list[tuple[str, object | None]], stylesheet: str | None) -> bytes:
    root = search_retrieve_response(version, number_of_records=hits, records=(), escaping=Escaping.XML,
                                    result_set_id=set_id, result_set_ttl=ttl, next_position=None, echo=echo,
                                    diagnostics=())
    return serialize(root, stylesheet=stylesheet)


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize(("set_id", "ttl"), [(None, None), ("uq1Yg", 300), ("uq1Yg", 0), ("uq1Yg", None)])
@pytest.mark.parametrize("stylesheet", [None, "/static/sru.xsl"])
def test_the_text_is_the_tree_serialized(version: Version, set_id: str | None, ttl: int | None,
                                         stylesheet: str | None) -> None:
    for text in _HARD:
        echo = [("query", text), ("startRecord", 1), ("maximumRecords", 0), ("recordPacking", "xml"),
                ("recordSchema", None), ("sortKeys", text or None), ("stylesheet", stylesheet)]
        written = hit_count_response(version, number_of_records=1234, result_set_id=set_id, result_set_ttl=ttl,
                                     echo=echo, stylesheet=stylesheet)
        assert written == _tree_bytes(version, 1234, set_id, ttl, echo, stylesheet), text


def test_random_text_is_written_as_lxml_writes_it() -> None:
    pick = random.Random(20261203)
    alphabet = "ab <>&\"'\r\n\t\x00\x01\x7f\x85\xa0é€\u2028\ud7ff\ue000\ufffd\ufffe\U0001f600\udc00"
    for length in itertools.islice(itertools.cycle(range(12)), 2000):
        text = "".join(pick.choice(alphabet) for _ in range(length))
        echo = [("query", text), ("maximumRecords", pick.choice([0, 10, None]))]
        version, hits = pick.choice(list(Version)), pick.randrange(10**9)
        written = hit_count_response(version, number_of_records=hits, result_set_id=None, result_set_ttl=None,
                                     echo=echo)
        assert written == _tree_bytes(version, hits, None, None, echo, None), repr(text)
