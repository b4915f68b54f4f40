"""PICA+ (plain) out of a stored MARC21 record and its holdings, for `unikat export --format pica`.

The mapping is the reverse of the reader's (`index.records.pica`), field for field, so that a
dump read back gives the same title, author, subject, number, publisher and year keys and the
same holdings (tests/index/test_dumps.py); MARC fields the reader has no PICA+ field for
(classification, 035s other than OCLC numbers, 5XX other than 500/502, 76X-78X links, name
dates) are not written, so searches on those find less after a PICA+ round trip. The record's id (001,
or the title's ISN in a union dump) is the PPN (003@). Plain PICA+: one field per line,
`TAG[/OCC] $code value`, `$` doubled in values, a blank line after each record.

    002@ $0 type      from leader/06-07 (and 007 `cr`: online)
    003@ $0 PPN       the id given
    011@ $a year $n   008/07-10 and the 260/264 $c text
    004A 005A 006A 003O  ISBN (020 $a $c $q), ISSN, LCCN, OCLC number (035 (OCoLC))
    021A $a $d $h $n  245 $a (non-filing part marked with @) $b $c $h; 021B $l $a: 245 $n $p
    028A 028C / 029A 029F / 030F   100 700 / 110 710 / 111 711
    022A 027A 036E    130/240/730; 210/222/242/246/247/740 and 7XX $t; 490/440/830 and 8XX $t, whole
    032@ 033A 034D/M/I/K 031@ 037A 037C   250 260/264 300 362 500 502
    880               as the field its $6 names
    044K 044N 009Q    subjects 600-655 (words of the heading), 653, 856 $u
    101@ $a1 $c LIB   one local record per holding library, then per holding a copy /NN:
    203@ $0 copy id, 209A $a call number $f location $d i (not for loan) $x00, 209R $u, 209B $a note $x34
"""

from __future__ import annotations

from collections.abc import Iterable

from index.records import iso2709
from index.records.model import Holding

__all__ = ["to_pica_plain"]

_FORM = {"a": "A", "t": "H", "g": "B", "i": "G", "j": "G", "e": "K", "f": "K", "c": "M", "d": "M", "m": "S", "r": "V"}
_LEVEL = {"m": "a", "s": "b", "a": "s", "b": "s", "i": "b", "c": "a", "d": "a"}
# MARC tag -> (PICA tag, MARC subfield code -> PICA subfield code) for fields copied one to one.
_COPIED = {
    "020": ("004A", {"a": "0", "c": "f", "q": "g"}),
    "022": ("005A", {"a": "0"}),
    "010": ("006A", {"a": "0"}),
    "250": ("032@", {"a": "a", "b": "h"}),
    "260": ("033A", {"a": "p", "b": "n"}), "264": ("033A", {"a": "p", "b": "n"}),
    "362": ("031@", {"a": "a"}),
    "490": ("036E", {"a": "a", "v": "l"}), "440": ("036E", {"a": "a", "v": "l"}),
    "500": ("037A", {"a": "a"}),
    "502": ("037C", {"a": "a"}),
    "653": ("044N", {"a": "a"}),
    "856": ("009Q", {"u": "u", "z": "z", "3": "y", "q": "q"}),
    "111": ("030F", {"a": "a", "c": "k", "d": "p"}), "711": ("030F", {"a": "a", "c": "k", "d": "p"}),
    "811": ("030F", {"a": "a", "c": "k", "d": "p"}),
    "110": ("029A", {"a": "a", "b": "b", "e": "B", "4": "4"}), "710": ("029F", {"a": "a", "b": "b", "e": "B", "4": "4"}),
    "810": ("029F", {"a": "a", "b": "b"}),
}
# Other titles, written whole into one subfield: uniform titles (022A, read as 240), variant and
# related titles (027A, read as 246), series titles (036E, read as 490), as the title index has them.
_WHOLE = {
    "130": ("022A", "adfgklmnoprs"), "240": ("022A", "adfgklmnoprs"), "730": ("022A", "adfgklmnoprs"),
    "210": ("027A", "abfnp"), "222": ("027A", "abfnp"), "242": ("027A", "abfnp"), "246": ("027A", "abfnp"),
    "247": ("027A", "abfnp"), "740": ("027A", "anp"), "830": ("036E", "anpv"),
}
_NAME_TITLES = ("700", "710", "711", "800", "810", "811")   # their $t: a related or series title
_EXTENT = {"a": "034D", "b": "034M", "c": "034I", "e": "034K"}
_SUBJECTS = ("600", "610", "611", "630", "648", "650", "651", "655")


def _escape(value: str) -> str:
    return value.replace("$", "$$").replace("\n", " ").replace("\r", " ")


def _line(tag: str, subfields: Iterable[tuple[str, str]], occurrence: str = "") -> str | None:
    parts = "".join(f"${code}{_escape(value)}" for code, value in subfields if value is not None)
    return f"{tag}{'/' + occurrence if occurrence else ''} {parts}" if parts else None


def to_pica_plain(marc: bytes, ppn: str, holdings: Iterable[Holding]) -> str:
    """One plain PICA+ record (ending with the blank line) of a stored record and its holdings."""
    leader = iso2709.leader(marc)
    fields = list(iso2709.fields(marc))
    control = {f.tag: f.data for f in fields if isinstance(f, iso2709.ControlField)}
    data = [f for f in fields if isinstance(f, iso2709.DataField)]
    online = control.get("007", "").startswith("cr")
    form = "O" if online and leader[6] == "a" else _FORM.get(leader[6], "A")
    lines = [f"002@ $0{form}{_LEVEL.get(leader[7], 'a')}u", f"003@ $0{_escape(ppn)}"]
    fixed = control.get("008", "")
    if len(fixed) >= 38 and fixed[35:38].strip().isalpha():
        lines.append(f"010@ $a{fixed[35:38]}")
    year = fixed[7:11] if len(fixed) >= 11 and fixed[7:11].isdigit() else ""
    imprint_date = next((v for f in data if f.tag in ("264", "260") for c, v in f.subfields if c == "c"), "")
    years = _line("011@", [("a", year)] * bool(year) + [("n", imprint_date)] * bool(imprint_date))
    lines += [years] if years else []
    for field in data:
        lines += _title_level(field)
    lines = [line for line in lines if line]
    lines += _holdings(list(holdings))
    return "\n".join(lines) + "\n\n"


def _title_level(field: iso2709.DataField) -> list[str | None]:
    tag, subfields = field.tag, field.subfields
    if tag == "880":   # vernacular script: written as the field it stands beside (its $6 tag)
        linked = next((v[:3] for c, v in subfields if c == "6"), "")
        if not linked.isdigit() or linked == "880":
            return []
        return _title_level(iso2709.DataField(linked, field.indicator1, field.indicator2,
                                              [(c, v) for c, v in subfields if c != "6"]))
    if tag == "245":
        return _title(field)
    lines: list[str | None] = []
    if tag in _NAME_TITLES and any(c == "t" for c, _ in subfields):
        title = " ".join(v for c, v in subfields if c in "tnpv")
        lines.append(_line("036E" if tag.startswith("8") else "027A", [("a", title)]))
    if tag in ("100", "700", "800"):
        return [_person("028A" if tag == "100" else "028C", field), *lines]
    if tag in _WHOLE:
        pica, codes = _WHOLE[tag]
        return [_line(pica, [("a", " ".join(v for c, v in subfields if c in codes))])]
    if tag == "035":
        return [_line("003O", [("0", v[7:].strip())]) for c, v in subfields if c == "a" and v.startswith("(OCoLC)")]
    if tag == "300":
        return [_line(_EXTENT[c], [("a", v)]) for c, v in subfields if c in _EXTENT]
    if tag in _SUBJECTS:
        heading = " ".join(v for c, v in subfields if c not in "02345689")
        return [_line("044K", [("a", heading)])] if heading else []
    if tag == "020" and not any(c == "a" for c, _ in subfields):
        return []
    if tag in _COPIED:
        pica, codes = _COPIED[tag]
        return [_line(pica, [(codes[c], v) for c, v in subfields if c in codes]), *lines]
    return lines


def _title(field: iso2709.DataField) -> list[str | None]:
    main = " ".join(v for c, v in field.subfields if c == "a")
    skip = int(field.indicator2) if field.indicator2.isdigit() else 0
    if 0 < skip < len(main):
        main = main[:skip] + "@" + main[skip:]
    title = [("a", main)] if main else []
    title += [("d", v) for c, v in field.subfields if c in "bfgks"]
    title += [("h", v) for c, v in field.subfields if c == "c"]
    title += [("n", v) for c, v in field.subfields if c == "h"]
    part = [("l", v) for c, v in field.subfields if c == "n"] + [("a", v) for c, v in field.subfields if c == "p"]
    return [_line("021A", title), _line("021B", part)]


def _person(tag: str, field: iso2709.DataField) -> str | None:
    name = next((v for c, v in field.subfields if c == "a"), "")
    if not name:
        return None
    surname, comma, forename = name.partition(", ")
    subfields = [("a", surname.strip()), ("d", forename.strip())] if comma and field.indicator1 == "1" else [("P", name)]
    subfields += [("n", v) for c, v in field.subfields if c == "b"] + [("l", v) for c, v in field.subfields if c == "c"]
    subfields += [("B", v) for c, v in field.subfields if c == "e"] + [("4", v) for c, v in field.subfields if c == "4"]
    return _line(tag, subfields)


def _holdings(holdings: list[Holding]) -> list[str]:
    by_library: dict[str, list[Holding]] = {}
    for holding in holdings:
        by_library.setdefault(holding.library, []).append(holding)
    lines = []
    for library, copies in by_library.items():
        lines.append(f"101@ $a1$c{_escape(library)}")
        for number, holding in enumerate(copies, 1):
            occurrence = f"{number:02d}" if number < 100 else f"{number:03d}"
            if holding.source_id:
                lines.append(f"203@/{occurrence} $0{_escape(holding.source_id)}")
            call = [("a", holding.call_number), ("x", "00")]
            call += [("f", holding.location)] * bool(holding.location) + [("d", "i")] * (not holding.lendable)
            lines.append(_line("209A", call, occurrence))
            if holding.url:
                lines.append(f"209R/{occurrence} $u{_escape(holding.url)}")
            if holding.note:
                lines.append(f"209B/{occurrence} $a{_escape(holding.note)}$x34")
    return lines
