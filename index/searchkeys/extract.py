"""From a bibliographic record to its search keys and its index-control entry.

`extract(isn, record, holdings)` returns a `TitleKeys`: per index the normalized keys (one per
field occurrence; its words are the keywords), and the short index-control data (sort keys,
year, language, material type, brief display) that serve brief lists, sorting and limits
without reading the full record. Pure functions; nothing here touches files.

Authority headings: a `989` field (see-from form of a linked heading, `index.authority.link`)
is indexed as the heading named in its `$9`, so variant forms find the title. An authority
record (leader/06 `z`) is indexed by its headings: 1XX, 4XX and 5XX count as the 7XX (names,
uniform titles) or 6XX (topics, places, genres) with the same last two digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pymarc

from index.records.model import Holding
from index.searchkeys.normalize import (
    key_variants,
    normalize,
    normalize_isbn,
    normalize_issn,
    normalize_lccn,
    normalize_number,
    year_of,
)
from index.searchkeys.spec import BY_NAME, INDEXES, IndexKind, IndexSpec


@dataclass
class IndexControl:
    """MELVYL's index control entry: what a brief list, a sort or a limit needs."""

    sort_title: str = ""
    sort_author: str = ""
    year: int | None = None
    language: str = ""
    material_type: str = "other"
    title: str = ""        # brief display
    author: str = ""
    imprint: str = ""


@dataclass
class TitleKeys:
    isn: int
    keys: dict[str, list[str]] = field(default_factory=dict)   # index name -> keys
    control: IndexControl = field(default_factory=IndexControl)


_OCLC = re.compile(r"^\(OCoLC\)\s*(?:ocm|ocn|on)?0*(\d+)", re.I)


SEE_FROM_TAG = "989"
_AUTHORITY_AS = {"00": "700", "03": "650", "10": "710", "11": "711", "30": "730", "48": "648", "50": "650",
                 "51": "651", "55": "655"}


def _linked_tag(field_: pymarc.Field) -> str:
    """The tag an 880 field stands for (`$6 245-01/(N` → `245`), the tag of the heading a 989
    see-from form belongs to (`$9`), else the field's own tag."""
    if field_.tag == "880":
        link = field_.get("6") or ""
        return link[:3]
    if field_.tag == SEE_FROM_TAG and (field_.get("9") or "").isdigit():
        return field_.get("9")
    return field_.tag


def _authority_tag(field_: pymarc.Field) -> str:
    """The bibliographic tag an authority heading is indexed as (`400` → `700`, `150` → `650`)."""
    if field_.tag[:1] in ("1", "4", "5") and not field_.is_control_field():
        return _AUTHORITY_AS.get(field_.tag[1:], field_.tag)
    return field_.tag


def _text(field_: pymarc.Field, codes: str) -> str:
    if field_.control_field:
        return field_.data or ""
    if codes:
        return " ".join([sf.value for sf in field_.subfields if sf.code in codes])
    return " ".join([sf.value for sf in field_.subfields if sf.code.isalpha()])


def _fields_by_tag(record: pymarc.Record) -> dict[str, list[pymarc.Field]]:
    authority = str(record.leader)[6:7] == "z"
    tag_of = _authority_tag if authority else _linked_tag
    by_tag: dict[str, list[pymarc.Field]] = {}
    for field_ in record.fields:
        if authority and field_.tag[1:] == "03" and not field_.is_control_field():
            # a bilingual local thesaurus term (IISH: $a Dutch, $b English): each term a heading
            for value in field_.get_subfields("a", "b"):
                by_tag.setdefault(tag_of(field_), []).append(
                    pymarc.Field(tag=field_.tag, indicators=pymarc.Indicators(" ", " "),
                                 subfields=[pymarc.Subfield("a", value)]))
            continue
        by_tag.setdefault(tag_of(field_), []).append(field_)
    return by_tag


def _first_fields(record: pymarc.Record) -> dict[str, pymarc.Field]:
    """The first field of each tag, as `record.get` finds it (each `get` scans the record)."""
    return {field_.tag: field_ for field_ in reversed(record.fields)}


def _words_keys(by_tag: dict[str, list[pymarc.Field]], spec: IndexSpec) -> list[str]:
    keys: dict[str, None] = {}   # a dict keeps the order and finds repeats at once
    for tag, codes in spec.fields.items():
        for field_ in by_tag.get(tag, ()):
            for key in key_variants(_text(field_, codes)):
                if key:
                    keys.setdefault(key)
    return list(keys)


_SUBDIVISIONS = frozenset("vxyz")   # subject subdivisions: written `Smoking--Sweden--Prevention`


def headings_wanted(index: str) -> bool:
    """Whether the keys of `index` are headings (whole fields of words), not codes or numbers."""
    spec = BY_NAME.get(index)
    return spec is not None and spec.kind is IndexKind.WORDS and spec.exact and bool(spec.fields)


def headings(record: pymarc.Record, index: str) -> dict[str, str]:
    """The whole-field keys of `index` in `record`, each with its heading as catalogued
    (`smith clare 1964` → `Smith, Clare, 1964-`): what a scan shows for a key."""
    if not headings_wanted(index):
        return {}
    spec = BY_NAME[index]
    found: dict[str, str] = {}
    by_tag = _fields_by_tag(record)
    for tag, codes in spec.fields.items():
        for field_ in by_tag.get(tag, ()):
            if field_.is_control_field():
                continue
            heading = ""
            for sf in field_.subfields:
                if (sf.code in codes) if codes else sf.code.isalpha():
                    joint = "--" if heading and sf.code in _SUBDIVISIONS and not codes else " " if heading else ""
                    heading = heading.rstrip(" .") + joint if joint == "--" else heading + joint
                    heading += sf.value.strip()
            for key in key_variants(_text(field_, codes)):
                found.setdefault(key, _trimmed(heading))
    return found


def _trimmed(heading: str) -> str:
    """A heading without the closing punctuation of its field (`Smoking--Prevention.` → `…Prevention`);
    an initial's full stop (`Smith, J.`) and an open date's hyphen (`1964-`) stay."""
    heading = " ".join(heading.split()).rstrip(" ,;:/")
    if heading.endswith(".") and not re.search(r"(?:^|[\s,])\w\.$", heading):
        heading = heading[:-1]
    return heading


def _raw_values(by_tag: dict[str, list[pymarc.Field]], spec: IndexSpec) -> Iterable[str]:
    for tag, codes in spec.fields.items():
        for field_ in by_tag.get(tag, ()):
            if field_.is_control_field():
                yield field_.data or ""
            else:
                yield from (sf.value for sf in field_.subfields if sf.code in codes)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _isbns(values: Iterable[str]) -> list[str]:
    return _unique(form for value in values for form in normalize_isbn(value))


def _oclc(values: Iterable[str]) -> list[str]:
    return _unique(m.group(1) for v in values if (m := _OCLC.match(v.strip())))


def material_type(record: pymarc.Record) -> str:
    """A coarse material type from leader/06-07, 007 and 008 form of item."""
    leader = str(record.leader)
    kind, level = leader[6:7], leader[7:8]
    f007 = record.get("007")
    f008 = record.get("008")
    data008 = f008.data if f008 is not None and f008.data else ""
    online = (f007 is not None and (f007.data or "")[:2] == "cr") or data008[23:24] in ("o", "s")
    if kind in ("a", "t"):
        if level in ("s", "i"):
            return "ejournal" if online else "serial"
        if level in ("a", "b"):
            return "article"
        return "manuscript" if kind == "t" else ("ebook" if online else "book")
    return {"e": "map", "f": "map", "c": "score", "d": "score", "i": "sound", "j": "music", "g": "video",
            "k": "image", "m": "computer", "o": "kit", "p": "mixed", "r": "object", "z": "authority"}.get(kind, "other")


def _sort_title(first: dict[str, pymarc.Field]) -> str:
    f245 = first.get("245")
    if f245 is None:
        return ""
    text = _text(f245, "abnp")
    skip = int(f245.indicator2) if (f245.indicator2 or "").isdigit() else 0
    return normalize(text[skip:])


def _brief_title(record: pymarc.Record, first: dict[str, pymarc.Field]) -> str:
    f245 = first.get("245")
    if f245 is None and str(record.leader)[6:7] == "z":   # an authority record: its heading
        f245 = next((f for f in record.fields if f.tag[:1] == "1" and not f.is_control_field()), None)
        return " ".join(_text(f245, "").split()).rstrip(" /:;,.") if f245 is not None else ""
    return " ".join(_text(f245, "abnp").split()).rstrip(" /:;,.") if f245 is not None else ""


def _main_author(first: dict[str, pymarc.Field]) -> str:
    for tag in ("100", "110", "111", "700", "710", "711"):
        field_ = first.get(tag)
        if field_ is not None:
            return " ".join(_text(field_, "abcdq" if tag.endswith("00") else "abcdn").split()).rstrip(" ,.")
    return ""


def extract(isn: int, record: pymarc.Record, holdings: Iterable[Holding] = ()) -> TitleKeys:
    """The search keys and index-control entry of one title."""
    by_tag = _fields_by_tag(record)
    first = _first_fields(record)
    keys: dict[str, list[str]] = {}
    for spec in INDEXES:
        if spec.kind is IndexKind.WORDS and spec.fields:
            keys[spec.name] = _words_keys(by_tag, spec)
    keys["any"] = _unique(
        key for tag, fields in by_tag.items() if tag >= "010" for f in fields for key in key_variants(_text(f, ""))
    )
    keys["isbn"] = _isbns(_raw_values(by_tag, BY_NAME["isbn"]))
    keys["issn"] = _unique(normalize_issn(v) for v in _raw_values(by_tag, BY_NAME["issn"]))
    keys["lccn"] = _unique(normalize_lccn(v) for v in _raw_values(by_tag, BY_NAME["lccn"]))
    keys["oclc"] = _oclc(_raw_values(by_tag, BY_NAME["oclc"]))
    keys["local_number"] = _unique(normalize_number(v) for v in _raw_values(by_tag, BY_NAME["local_number"]))
    others = _unique(normalize_number(f.get("a") or "") for f in by_tag.get("024", ()))
    keys["identifier"] = _unique(keys["isbn"] + keys["issn"] + keys["lccn"] + keys["oclc"] + others)
    keys["dewey"] = _unique(normalize_number(v) for v in _raw_values(by_tag, BY_NAME["dewey"]))
    keys["lc_call_number"] = _unique(
        normalize(_text(f, "ab")) for tag in ("050", "090") for f in by_tag.get(tag, ())
    )
    title, author = _brief_title(record, first), _main_author(first)
    control = IndexControl(
        sort_title=_sort_title(first) or normalize(title),
        sort_author=normalize(author),
        material_type=material_type(record),
        title=title,
        author=author,
    )
    f008 = first.get("008")
    data008 = (f008.data or "") if f008 is not None else ""
    years = [y for y in [year_of(data008[7:11]) if len(data008) >= 11 else None] if y]
    years += [y for v in _raw_values(by_tag, BY_NAME["year"]) if (y := year_of(v))]
    control.year = years[0] if years else None
    keys["year"] = [str(y) for y in dict.fromkeys(years)]
    languages = [data008[35:38].lower()] if len(data008) >= 38 and data008[35:38].strip(" |") else []
    languages += [normalize_number(v) for v in _raw_values(by_tag, BY_NAME["language"])]
    keys["language"] = _unique(code for code in languages if len(code) == 3 and code.isalpha())
    control.language = keys["language"][0] if keys["language"] else ""
    keys["material_type"] = [control.material_type]
    keys["library"] = _unique(normalize_number(h.library) for h in holdings)
    keys["isn"] = [str(isn)]
    imprint = first.get("264") or first.get("260")
    if imprint is not None:
        control.imprint = " ".join(_text(imprint, "abc").split())
    return TitleKeys(isn=isn, keys=keys, control=control)
