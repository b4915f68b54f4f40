"""The answers a worker keeps until the catalog changes (index.kept)."""

from __future__ import annotations

from index.kept import KeptAnswers


def test_a_bounded_lru_of_one_generation() -> None:
    kept: KeptAnswers[str] = KeptAnswers(2)
    kept.put("a", 0, "A")
    kept.put("b", 0, "B")
    assert kept.get("a", 0) == "A"   # now the most recently used
    kept.put("c", 0, "C")
    assert (kept.get("a", 0), kept.get("b", 0), kept.get("c", 0)) == ("A", None, "C")
    assert kept.get("a", 1) is None   # the catalog changed: nothing kept is valid
    assert len(kept) == 0
    kept.put("a", 1, "A1")
    kept.put("b", 2, "B2")   # made after a change the cache has not seen yet
    assert (kept.get("a", 2), kept.get("b", 2)) == (None, "B2")


def test_nothing_kept_with_capacity_0() -> None:
    kept: KeptAnswers[str] = KeptAnswers(0)
    kept.put("a", 0, "A")
    assert kept.get("a", 0) is None and len(kept) == 0


def test_the_total_weight_is_bounded() -> None:
    kept: KeptAnswers[str] = KeptAnswers(10, total_weight=100)
    kept.put("a", 0, "A", 60)
    kept.put("b", 0, "B", 30)
    kept.put("huge", 0, "H", 101)   # heavier than all together: not kept, nothing goes for it
    assert (kept.get("a", 0), kept.get("b", 0), kept.get("huge", 0)) == ("A", "B", None)
    kept.put("c", 0, "C", 20)   # 110 > 100: the least recently used (a) goes
    assert (kept.get("a", 0), kept.get("b", 0), kept.get("c", 0)) == (None, "B", "C")
    kept.put("b", 0, "B2", 80)   # put again: its old weight no longer counts; 100 stays
    assert (kept.get("c", 0), kept.get("b", 0)) == ("C", "B2")
    kept.put("d", 0, "D", 1)   # 101: c, now least recently used, goes
    assert (kept.get("b", 0), kept.get("c", 0), kept.get("d", 0)) == ("B2", None, "D")
