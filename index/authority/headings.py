"""Headings: which fields of a bibliographic or an authority record are headings, of what kind,
and the normalized key under which a heading is compared with the authority file.

A bibliographic heading (100 600 700 800 personal name, 110 610 710 810 corporate name, 111 611
711 811 meeting, 130 240 630 730 830 uniform title, 650 topical, 651 geographic, 655 genre term)
and an authority heading (1XX established form, 4XX see-from form, 5XX see-also form, MARC 21
Authority format) are the same heading when their kind and key agree. The key is the
normalized text of the heading's naming subfields: subdivisions ($v $x $y $z), relators ($e $4),
links and sources ($0 $1 $2 $5 $6 $8) are left out, so `650 _0 $a Cookery $z France` is filed
under the topical heading `cookery`. A name with a title ($t) is a name/title heading of its own.

Local thesaurus headings in tag X03 (103/403/503, as IISH's Aleph exports its bilingual subject
thesaurus: `$a` Dutch, `$b` English term) are topical headings, each subfield a form of its own.

Pure functions over pymarc fields; nothing here knows the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymarc import Field

from index.searchkeys.normalize import normalize, normalize_number

__all__ = ["AuthorityForm", "BIB_HEADING_TAGS", "authority_forms", "authority_ids", "heading_of", "kind_of_tag"]

_KIND_BY_DIGITS = {"00": "personal", "10": "corporate", "11": "meeting", "30": "title", "50": "topical",
                   "51": "geographic", "55": "genre"}
_CODES = {"personal": "abcdgjq", "corporate": "abcdgn", "meeting": "acdegnq", "title": "adfgklmnoprs",
          "topical": "ab", "geographic": "a", "genre": "a"}
_TITLE_PART = "tfklmnoprs"
BIB_HEADING_TAGS = frozenset({"100", "110", "111", "130", "240", "600", "610", "611", "630", "650", "651", "655",
                              "700", "710", "711", "730", "800", "810", "811", "830"})
_FORMS = {"1": "a", "4": "x", "5": "r"}   # authority field group -> established / see-from / see-also


@dataclass(frozen=True)
class AuthorityForm:
    """One heading of an authority record: `form` is `a` (1XX established), `x` (4XX see-from)
    or `r` (5XX see-also); `kind` and `key` as `heading_of` gives them; `text` as catalogued."""

    form: str
    kind: str
    key: str
    text: str


def kind_of_tag(tag: str) -> str:
    """The heading kind a bibliographic or authority tag carries, or `` if none."""
    if tag == "240":
        return "title"
    return _KIND_BY_DIGITS.get(tag[1:], "")


def heading_of(field: Field) -> tuple[str, str, str] | None:
    """(kind, key, display text) of a heading field, or None when it has no naming text."""
    kind = kind_of_tag(field.tag)
    if not kind or field.is_control_field():
        return None
    codes = _CODES[kind]
    if kind in ("personal", "corporate", "meeting") and field.get("t"):
        kind, codes = f"{kind}-title", codes + _TITLE_PART
    parts = [sf.value for sf in field.subfields if sf.code in codes and sf.value.strip()]
    key = normalize(" ".join(parts))
    if not key:
        return None
    return kind, key, " ".join(" ".join(parts).split()).rstrip(" ,.;:/")


def authority_forms(record) -> list[AuthorityForm]:
    """Every heading of a MARC 21 authority record: 1XX, 4XX and 5XX, in record order."""
    forms = []
    for field in record.fields:
        group = _FORMS.get(field.tag[:1])
        if group is None or field.is_control_field():
            continue
        if field.tag[1:] == "03":
            for value in field.get_subfields("a", "b"):
                if normalize(value):
                    forms.append(AuthorityForm(group, "topical", normalize(value), " ".join(value.split())))
            continue
        heading = heading_of(field)
        if heading is not None:
            forms.append(AuthorityForm(group, *heading))
    return forms


def authority_ids(record) -> list[str]:
    """Identifiers a bibliographic `$0` may use for this authority record, normalized:
    `(003)001`, the bare 001, 010 $a (LCCN of a name authority), 035 $a and 024 $a."""
    ids = []
    control = record.get("001")
    system = record.get("003")
    if control is not None and control.data:
        ids.append(normalize_number(control.data))
        if system is not None and system.data:
            ids.append(normalize_number(f"({system.data}){control.data}"))
    for tag in ("010", "035", "024"):
        for field in record.get_fields(tag):
            ids += [normalize_number(v) for v in field.get_subfields("a")]
    return list(dict.fromkeys(i for i in ids if i))


def linked_ids(field: Field) -> list[str]:
    """The authority identifiers a bibliographic heading names in `$0`, normalized (a URI's
    last path segment counts too)."""
    ids = []
    for value in field.get_subfields("0"):
        ids.append(normalize_number(value))
        if "/" in value:
            ids.append(normalize_number(value.rstrip("/").rsplit("/", 1)[-1]))
    return [i for i in ids if i]
