"""The garbage collector's threshold during loads and index builds (index.loading.collector)."""

from __future__ import annotations

import gc

import pytest

from index.loading.collector import YOUNG_THRESHOLD, fewer_collections


@pytest.fixture
def default_threshold():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_raised_inside_and_restored_after(default_threshold):
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_restored_when_the_block_raises(default_threshold):
    with pytest.raises(KeyError), fewer_collections():
        raise KeyError("x")
    assert gc.get_threshold() == (700, 10, 10)


def test_never_lowered(default_threshold):
    gc.set_threshold(YOUNG_THRESHOLD * 2, 10, 10)

    @fewer_collections()
    def threshold():
        return gc.get_threshold()

    assert threshold() == (YOUNG_THRESHOLD * 2, 10, 10)
