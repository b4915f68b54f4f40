"""Search-key files: a full write reads back in a stream; appended sections and tombstones apply."""

from __future__ import annotations

from index.searchkeys.extract import IndexControl, TitleKeys
from index.searchkeys.files import SearchKeyFiles


def title(isn: int, *words: str) -> TitleKeys:
    return TitleKeys(isn, {"title": list(words), "year": ["1999"]}, IndexControl(sort_title=words[0], year=1999))


def as_dict(files: SearchKeyFiles) -> dict[int, dict]:
    return {t.isn: {k: v for k, v in t.keys.items() if v} | {"control": t.control} for t in files.read_all()}


def test_full_write_streams_back_and_appends_apply(tmp_path):
    files = SearchKeyFiles(tmp_path / "keys")
    files.write_full([title(1, "killing fields"), title(2, "water supply", "supply of water"), title(5, "maps")])
    assert (tmp_path / "keys" / "TI.keys").read_text().splitlines()[:2] == ["1\tkilling fields", "2\twater supply"]
    streamed = as_dict(files)
    assert streamed[2]["title"] == ["water supply", "supply of water"] and set(streamed) == {1, 2, 5}
    files.append([title(2, "drinking water")], deleted=[5])
    gathered = as_dict(files)
    assert set(gathered) == {1, 2} and gathered[2]["title"] == ["drinking water"]
    files.write_full(files.read_all())
    assert as_dict(files) == gathered


def test_an_append_cut_short_is_repaired_by_the_next(tmp_path):
    """A load killed while appending leaves half a line; its titles are still pending and are
    appended again in full."""
    files = SearchKeyFiles(tmp_path / "keys")
    files.write_full([title(1, "killing fields"), title(2, "water supply")])
    files.append([title(2, "drinking water")])
    expected = as_dict(files)
    titles_file = tmp_path / "keys" / "TI.keys"
    whole = titles_file.read_bytes()
    titles_file.write_bytes(whole + b"2\tdrinking wa")            # the next append, cut short
    (tmp_path / "keys" / "IC.tsv").write_bytes((tmp_path / "keys" / "IC.tsv").read_bytes()[:-3])
    files.append([title(2, "drinking water")])
    assert as_dict(files) == expected
    assert all(line.count("\t") == 1 for line in titles_file.read_text().splitlines())
