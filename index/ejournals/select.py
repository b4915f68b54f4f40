"""Which titles are electronic serials, and what an e-journal list needs of each.

An electronic serial is a display record with leader/07 `s` (serial) that is electronic:
007/00-01 `cr` (remote; PICA+ 0500 `O...` arrives so), or 008/23 form of item `o`, `q` or
`s` (online, direct electronic, electronic). Its subject groups come from the record where
it has them: DDC in 082 $a, the DNB/ZDB subject groups (DDC-based "Sachgruppen") in
084 $a with $2 `sdnb` or `zdbs`. Each is filed under its DDC main class (`300`), a
non-numeric group (`B`, `K`) under itself; a title without one under `NO_GROUP`.

Reads the store; knows nothing of HTML, XML or HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from index.records.formats import parse
from index.store.catalog import CatalogStore

__all__ = ["DDC_CLASSES", "NO_GROUP", "Access", "EJournal", "SubjectGroup", "electronic_serials", "group_label"]

NO_GROUP = "none"

DDC_CLASSES = {
    "000": "Computer science, information & general works", "100": "Philosophy & psychology", "200": "Religion",
    "300": "Social sciences", "400": "Language", "500": "Science", "600": "Technology",
    "700": "Arts & recreation", "800": "Literature", "900": "History & geography",
}
_GROUP_SCHEMES = {"sdnb": "DNB subject group", "zdbs": "ZDB subject group"}


@dataclass(frozen=True)
class SubjectGroup:
    """One classification of a title: `scheme` (`DDC`, `sdnb`, `zdbs`), the `code` as
    catalogued, and `group`, the key the lists file it under (`300`, `B`)."""

    scheme: str
    code: str
    group: str


@dataclass(frozen=True)
class Access:
    """One URL of a title: from the title record (`library` empty, 856) or a holding's."""

    url: str
    library: str = ""
    note: str = ""


@dataclass(frozen=True)
class EJournal:
    isn: int
    title: str
    issns: tuple[str, ...]
    publisher: str
    years: str
    language: str                      # MARC 008/35-37 (ISO 639-2/B), empty when unknown
    subjects: tuple[SubjectGroup, ...]
    access: tuple[Access, ...]         # the title's URLs first, then the holdings' URLs
    libraries: tuple[str, ...]         # holding libraries, sorted

    @property
    def groups(self) -> tuple[str, ...]:
        """The group keys the title is filed under (`NO_GROUP` when it has no subject)."""
        return tuple(dict.fromkeys(s.group for s in self.subjects)) or (NO_GROUP,)

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.url for a in self.access))


def group_label(group: str) -> str:
    if group == NO_GROUP:
        return "Without subject group"
    if group in DDC_CLASSES:
        return f"{group} {DDC_CLASSES[group]}"
    return f"Subject group {group}"


def _group_of(code: str) -> str:
    digits = re.match(r"\d{3}", code)
    return digits.group(0)[0] + "00" if digits else code.strip().upper()


def _subjects(record) -> tuple[SubjectGroup, ...]:
    found = []
    for field in record.get_fields("082"):
        for code in field.get_subfields("a"):
            code = code.replace("/", "").strip()
            if code:
                found.append(SubjectGroup("DDC", code, _group_of(code)))
    for field in record.get_fields("084"):
        scheme = (field.get("2") or "").strip().lower()
        if scheme in _GROUP_SCHEMES:
            for code in field.get_subfields("a"):
                if code.strip():
                    found.append(SubjectGroup(scheme, code.strip(), _group_of(code)))
    return tuple(dict.fromkeys(found))


def is_electronic_serial(record) -> bool:
    leader = str(record.leader)
    if leader[7:8] != "s":
        return False
    if any((field.data or "")[:2] == "cr" for field in record.get_fields("007")):
        return True
    fixed = next(iter(record.get_fields("008")), None)
    return fixed is not None and (fixed.data or "")[23:24] in ("o", "q", "s")


def _text(record, tags: str, codes: str) -> str:
    for field in record.get_fields(*tags.split()):
        text = " ".join(s.value for s in field.subfields if s.code in codes).strip(" /:;,.=")
        if text:
            return text
    return ""


def electronic_serials(store: CatalogStore) -> Iterator[EJournal]:
    """The catalog's electronic serials in ISN order."""
    for isn, display, holdings in store.titles_with_holdings():
        if display[7:8] != b"s":   # leader/07 straight from the ISO 2709 bytes: most titles are not serials
            continue
        record = parse(display)
        if not is_electronic_serial(record):
            continue
        fixed = next(iter(record.get_fields("008")), None)
        language = (fixed.data or "")[35:38].strip(" |") if fixed is not None else ""
        access = [Access(url.strip()) for field in record.get_fields("856") for url in field.get_subfields("u")
                  if url.strip()]
        access += [Access(h.url.strip(), h.library, h.note) for h in holdings if h.url.strip()]
        yield EJournal(
            isn=isn, title=_text(record, "245", "abnp"),
            issns=tuple(dict.fromkeys(v.strip() for f in record.get_fields("022") for v in f.get_subfields("a"))),
            publisher=_text(record, "264 260", "b"), years=_text(record, "362", "a") or _text(record, "264 260", "c"),
            language=language, subjects=_subjects(record), access=tuple(dict.fromkeys(access)),
            libraries=tuple(sorted({h.library for h in holdings})))
