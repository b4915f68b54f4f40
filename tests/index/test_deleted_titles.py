"""The store remembers deleted titles (for OAI-PMH and dumps) and never gives their numbers away again."""
from pathlib import Path

from index.store.catalog import CatalogStore


def test_a_deleted_title_is_logged_and_its_number_not_reused(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "catalog.sqlite")
    with store.transaction():
        first = store.add_title(b"first", "am")
        last = store.add_title(b"last", "am")
        store.remove_title(last)           # the highest number: SQLite alone would hand it out again
        newer = store.add_title(b"newer", "am")
    assert newer > last > first
    assert [isn for isn, _ in store.deleted_titles()] == [last]
    when = store.deleted_titles()[0][1]
    assert store.deleted_titles(since=when) == [(last, when)]
    assert store.deleted_titles(since="9999") == []
    assert store.deleted_titles(until="2000-01-01") == []
