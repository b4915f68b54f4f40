"""MELVYL search-key files on disk: one plain UTF-8 file per index, readable and diffable.

`TI.keys` holds lines `ISN<TAB>normalized key`, one per field occurrence (`42\tkilling fields`);
the keywords of a key are its words. `IC.tsv` is the index control file, one line per title:
ISN, sort title, sort author, year, language, material type, brief title, brief author, imprint.
A full write lists titles in ISN order. An incremental update appends a section per changed
title, opened by a tombstone line `ISN<TAB>` that voids that title's earlier lines (a deleted
title is just the tombstone). `write_full` compacts the files again. A full rebuild builds the
index from the titles as `writing_full` writes them (one pass); `read_all` reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from index.searchkeys.extract import IndexControl, TitleKeys
from index.searchkeys.spec import INDEXES

CONTROL_FILE = "IC.tsv"
_WRITE_EVERY = 256   # titles whose lines are gathered before they go to the files


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


def _key_lines(isn: int, values: list[str]) -> str:
    """The lines of one title's keys in one file, built in one go (keys rarely need cleaning)."""
    probe = "".join(values)
    if "\t" in probe or "\n" in probe:
        values = [_clean(value) for value in values]
    prefix = f"{isn}\t"
    return prefix + ("\n" + prefix).join(values) + "\n"


def _write_pending(handles: dict, pending: dict[str, list[str]]) -> None:
    for name, lines in pending.items():
        if lines:
            handles[name].write("".join(lines))
            lines.clear()


def _control_line(keys: TitleKeys) -> str:
    c = keys.control
    fields = [c.sort_title, c.sort_author, "" if c.year is None else str(c.year), c.language,
              c.material_type, c.title, c.author, c.imprint]
    return f"{keys.isn}\t" + "\t".join(_clean(f) for f in fields) + "\n"


def _next_line(handle) -> tuple[int, str] | None:
    line = handle.readline()
    if not line:
        return None
    isn_text, _, key = line.rstrip("\n").partition("\t")
    return int(isn_text), key


def _cut_partial_line(path: Path) -> None:
    """Drop a last line an interrupted append left without its newline. Its title is still
    pending in the store, so the next append writes its whole section again."""
    if not path.exists():
        return
    with open(path, "rb+") as handle:
        end = handle.seek(0, 2)
        at = end
        while at > 0:
            start = max(0, at - 4096)
            handle.seek(start)
            block = handle.read(at - start)
            if at == end and block.endswith(b"\n"):
                return
            newline = block.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            at = start
        handle.truncate(0)


def _control_from(parts: list[str]) -> IndexControl:
    sort_title, sort_author, year, language, mtype, title, author, imprint = (parts + [""] * 8)[:8]
    return IndexControl(sort_title, sort_author, int(year) if year else None, language, mtype, title, author, imprint)


class SearchKeyFiles:
    """The directory of search-key files of one catalog."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _open_all(self, mode: str) -> dict[str, object]:
        self.directory.mkdir(parents=True, exist_ok=True)
        paths = {spec.name: self.directory / f"{spec.code}.keys" for spec in INDEXES}
        paths[CONTROL_FILE] = self.directory / CONTROL_FILE
        if mode == "a":
            for path in paths.values():
                _cut_partial_line(path)
        return {name: open(path, mode, encoding="utf-8") for name, path in paths.items()}

    def write_full(self, titles: Iterable[TitleKeys]) -> int:
        """Rewrite every file from `titles` (in ISN order); returns the number of titles."""
        return sum(1 for _ in self.writing_full(titles))

    def writing_full(self, titles: Iterable[TitleKeys]) -> Iterator[TitleKeys]:
        """Rewrite every file from `titles` (in ISN order), passing each title on once its lines
        are written, so an index can be built from exactly these keys in the same pass."""
        self._compact_marker().unlink(missing_ok=True)
        yield from self._writing(titles, mode="w", tombstones=False, deleted=())
        self._compact_marker().write_text("search-key files in ISN order, no appended sections\n")

    def append(self, titles: Iterable[TitleKeys], deleted: Iterable[int] = ()) -> int:
        """Append changed titles (each after a tombstone) and tombstones of deleted ones."""
        self._compact_marker().unlink(missing_ok=True)
        return sum(1 for _ in self._writing(titles, mode="a", tombstones=True, deleted=deleted))

    def _writing(self, titles: Iterable[TitleKeys], *, mode: str, tombstones: bool,
                 deleted: Iterable[int]) -> Iterator[TitleKeys]:
        handles = self._open_all(mode)
        # each file's text gathers in a list and is written every _WRITE_EVERY titles: a write
        # call per title and file (24 files) cost more than making the lines
        pending: dict[str, list[str]] = {name: [] for name in handles}
        try:
            for isn in deleted:
                for lines in pending.values():
                    lines.append(f"{isn}\t\n")
            for count, title in enumerate(titles, 1):
                for name, values in title.keys.items():
                    lines = pending[name]
                    if tombstones:
                        lines.append(f"{title.isn}\t\n")
                    if values:
                        lines.append(_key_lines(title.isn, values))
                if tombstones:
                    pending[CONTROL_FILE].append(f"{title.isn}\t\n")
                pending[CONTROL_FILE].append(_control_line(title))
                if count % _WRITE_EVERY == 0:
                    _write_pending(handles, pending)
                yield title
        finally:
            _write_pending(handles, pending)
            for handle in handles.values():
                handle.close()

    def _compact_marker(self) -> Path:
        return self.directory / "COMPACT"

    def read_all(self) -> Iterator[TitleKeys]:
        """Every live title with its keys, in ISN order, tombstones applied.

        Files as `write_full` left them (marked COMPACT) are read in one streaming pass, in
        little memory; files with appended sections are gathered in memory first.
        """
        if self._compact_marker().exists():
            return self._stream()
        return self._gather()

    def count_titles(self) -> int:
        """Titles in the control file (an upper bound when sections were appended)."""
        path = self.directory / CONTROL_FILE
        if not path.exists():
            return 0
        with open(path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))

    def _stream(self) -> Iterator[TitleKeys]:
        handles = {spec.name: open(self.directory / f"{spec.code}.keys", encoding="utf-8") for spec in INDEXES}
        pending: dict[str, tuple[int, str] | None] = {name: _next_line(h) for name, h in handles.items()}
        try:
            with open(self.directory / CONTROL_FILE, encoding="utf-8") as control:
                for line in control:
                    isn_text, _, rest = line.rstrip("\n").partition("\t")
                    title = TitleKeys(isn=int(isn_text), control=_control_from(rest.split("\t")))
                    for name, handle in handles.items():
                        while (entry := pending[name]) is not None and entry[0] <= title.isn:
                            if entry[0] == title.isn:
                                title.keys.setdefault(name, []).append(entry[1])
                            pending[name] = _next_line(handle)
                    yield title
        finally:
            for handle in handles.values():
                handle.close()

    def _gather(self) -> Iterator[TitleKeys]:
        titles: dict[int, TitleKeys] = {}
        control_path = self.directory / CONTROL_FILE
        if not control_path.exists():
            return iter(())
        with open(control_path, encoding="utf-8") as handle:
            for line in handle:
                isn_text, _, rest = line.rstrip("\n").partition("\t")
                isn = int(isn_text)
                if rest:
                    titles[isn] = TitleKeys(isn=isn, control=_control_from(rest.split("\t")))
                else:
                    titles.pop(isn, None)
        for spec in INDEXES:
            path = self.directory / f"{spec.code}.keys"
            if not path.exists():
                continue
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    isn_text, _, key = line.rstrip("\n").partition("\t")
                    title = titles.get(int(isn_text))
                    if title is None:
                        continue
                    if key:
                        title.keys.setdefault(spec.name, []).append(key)
                    else:
                        title.keys[spec.name] = []
        return iter(sorted(titles.values(), key=lambda t: t.isn))
