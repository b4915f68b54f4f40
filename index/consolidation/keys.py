"""Match elements and blocking keys: the short form of a record that consolidation compares.

MELVYL compares not full records but their short forms from the index-control file
(`LCCN: 82197912  ISBN: 081910363  TITLE: FRANCISCO FRANCO THE JEWISH CONNECTION  DATE: 1977 ...`).
`elements(record)` makes that short form, `MatchElements`: normalized identifiers, title, part,
edition, date, language, country, author, pagination, running time, publisher and publisher
numbers, format of music, the later printings a note says the record covers, and the record's kind
(leader/06-07, material type and carrier). It is small, JSON-serializable and stored with each member record, so
matching never re-reads MARC.

`blocking_keys(elements)` gives the keys under which a record is filed for candidate search: every
strong identifier, and the first 15 letters of the title with the year or with the author's
surname, and (for titles of 60 letters or more) the title's longer words in alphabetical order
with the year, so that a record giving the parallel titles in another order is compared. Only
records sharing a key are ever compared, and every key starts with the kind, so matching stays
inside one bibliographic type and cost grows with the catalog, not its square.

This module knows MARC 21 and normalization; it knows nothing of the store, scoring or merging.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields

import pymarc

from index.searchkeys.extract import material_type
from index.searchkeys.normalize import normalize, normalize_isbn, normalize_issn, normalize_lccn, normalize_number

__all__ = ["MatchElements", "blocking_keys", "elements", "title_key"]

TITLE_KEY_LETTERS = 15
PARALLEL_TITLE_LETTERS = 60     # a title long enough to hold parallel titles

_OCLC = re.compile(r"^\s*\((?:OCoLC|OCLC)\)\s*(?:ocm|ocn|on)?0*(\d+)", re.I)
_OCLC_001 = re.compile(r"^(?:ocm|ocn|on)?0*(\d+)$", re.I)
_NO_LANGUAGE = {"", "und", "zxx", "mul", "|||", "n/a", "xxx", "sgn"}
_NO_COUNTRY = {"", "xx", "|||", "zz", "vp", "uu"}
# Leading articles dropped from titles catalogued without non-filing indicator (ind2 0), so
# "The Hobbit" (ind2 0) and "Hobbit" (ind2 4 on "The ") compare equal.
_ARTICLES = {"the", "a", "an", "der", "die", "das", "le", "la", "les", "l", "el", "los", "las", "il", "lo",
             "gli", "un", "une", "ein", "eine", "de", "het", "een", "o", "os", "as", "den", "det"}
_EDITION_WORDS = {"ed", "edition", "edn", "aufl", "auflage", "ausg", "ausgabe", "uppl", "upplagan", "izd",
                  "izdanie", "edicion", "edizione", "wyd", "wydanie", "vyd", "vydani", "druk", "udg",
                  "udgave", "painos", "kiadas", "edicao", "print", "printing", "impr", "impression", "rev",
                  "revised", "enl", "and", "und", "et", "neu", "bearb", "new", "nouv", "nouvelle", "st", "nd",
                  "rd", "th", "d", "e", "er", "re", "eme", "a", "o"}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "erste": 1, "zweite": 2, "dritte": 3, "vierte": 4,
             "funfte": 5, "premiere": 1, "deuxieme": 2, "troisieme": 3, "primera": 1, "segunda": 2,
             "tercera": 3, "prima": 1, "seconda": 2, "terza": 3, "erster": 1, "zweiter": 2, "dritter": 3}
_ROMAN = re.compile(r"^(?=[mdclxvi]+$)m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_PAGE_WORD = re.compile(r"\d\]?\s*(?:p|pp|pages?|s|seiten|leaves|l|bl|f|ff|str|sider|sivua|oldal|stron|c|folios?|"
                        r"pagine|paginas|fr)\b", re.I)
_VOLUMES = re.compile(r"(\d+)\s*(?:v|vols?|volumes?|bd|bde|bande|t|tomes?)\b", re.I)
_NUMBER = re.compile(r"\d+")
_LABEL_PREFIX = re.compile(r"^[a-z]+(?=\d)")
_RUNNING_TIME = re.compile(r"(\d+)\s*(?:min|minutes|minuten|mins)\b", re.I)
# A note listing the later printings a record stands for (Finnish and Swedish national bibliography
# practice: one record per edition, its reprints noted), e.g. "Lisäpainokset: 2010".
_REPRINT_NOTE = re.compile(r"^\s*(?:lisäpainok\w*|nytryck\w*|reprinted)\s*:?\s*\d{4}", re.I)
_BRACKETED = re.compile(r"\[[^\]]*\]")
# "[s.n.]", "o.V.": the publisher is not known.
_NO_PUBLISHER = {"n", "sn", "sine nomine", "o v", "ov", "ohne verlag", "n n"}
_VOCAL_SCORE = {"klavierauszug", "klavierauszuge", "reduction", "vocal", "chorpartitur", "klavier auszug"}
_FULL_SCORE = {"partitur", "partituren", "studienpartitur", "taschenpartitur", "dirigierpartitur", "score",
               "scores", "poche", "miniature"}
_PUBLISHER_NOISE = {"inc", "ltd", "co", "corp", "corporation", "company", "gmbh", "ag", "kg", "sa", "srl",
                    "spa", "llc", "plc", "bv", "nv", "ab", "as", "oy", "verlag", "verlags", "editions",
                    "editorial", "editore", "editeur", "editeurs", "edition", "publishers", "publisher",
                    "publishing", "pub", "publ", "and", "und", "the", "et", "y", "e", "jun", "sons", "s",
                    "distributed", "by", "distributor", "distributors", "printed", "for"}


@dataclass(frozen=True)
class MatchElements:
    """The normalized short form of one bibliographic record (the consolidation profile).

    Empty strings, empty tuples and None mean "not in the record"; a missing element never
    counts for or against a match.
    """

    kind: str = ""                  # leader/06-07 and material type, e.g. "am book"
    carrier: str = ""               # "online", "microform", "braille", "large print" or "" (regular)
    language: str = ""              # MARC language code (008/35-37, else 041 $a)
    lccn: tuple[str, ...] = ()
    isbn: tuple[str, ...] = ()      # ISBN-13, made from ISBN-10 where needed
    issn: tuple[str, ...] = ()
    oclc: tuple[str, ...] = ()
    nbn: tuple[str, ...] = ()       # national bibliography numbers (015) and agency numbers (016)
    year: int | None = None         # 008/07-10, else the first year of 260/264 $c
    years: tuple[int, ...] = ()     # every year the record names (008 dates, 26x $c)
    title: str = ""                 # 245 $a $b normalized, non-filing characters skipped
    title_a: str = ""               # 245 $a alone
    part: str = ""                  # 245 $n $p: number and name of a part or volume
    edition: str = ""               # 250 $a, as "#2" when it has a number, else its significant words
    country: str = ""               # 008/15-17
    author: str = ""                # 1XX $a normalized (else the first 7XX)
    names: tuple[str, ...] = ()     # every 1XX/7XX $a normalized
    pages: int | None = None        # the largest page count in 300 $a
    extent: int | None = None       # the leading count in 300 $a (volumes, discs, sheets)
    publisher: str = ""             # first 260/264 $b, normalized, legal forms dropped
    pubnum: tuple[str, ...] = ()    # publisher numbers (028), as `label+number|number`
    minutes: int | None = None      # running time (306 $a, else `(ca. 109 Min.)` in 300 $a)
    reprints: tuple[int, ...] = ()  # years of later printings the record says it covers (500)
    music_format: str = ""          # notated music: "score" or "vocal score" (008/20, 300 $a)
    size: int | None = None         # 300 $c height in cm
    prepublication: bool = False    # leader/17 `8`: date and extent are the publisher's forecast

    def to_json(self) -> str:
        """The elements that differ from their defaults (`from_json` gives back the rest)."""
        return json.dumps({name: value for name, default in _DEFAULTS if (value := getattr(self, name)) != default},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MatchElements:
        data = json.loads(text)
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in _FIELD_NAMES}
        return cls(**values)

    @property
    def strong_ids(self) -> dict[str, tuple[str, ...]]:
        return {"lccn": self.lccn, "isbn": self.isbn, "issn": self.issn, "oclc": self.oclc, "nbn": self.nbn}


_DEFAULTS = tuple((f.name, f.default) for f in fields(MatchElements))
_FIELD_NAMES = tuple(name for name, _ in _DEFAULTS)


def title_key(title: str) -> str:
    """The first 15 letters (and digits) of a normalized title, spaces left out (MELVYL's rule)."""
    return "".join(title.split())[:TITLE_KEY_LETTERS]


def blocking_keys(e: MatchElements) -> list[str]:
    """Keys under which a record is filed for candidate search, each prefixed by its kind."""
    keys = [f"{e.kind}|{name}:{value}" for name, values in e.strong_ids.items() for value in values]
    keys += [f"{e.kind}|pubnum:{value.split('|')[1]}" for value in e.pubnum]
    short = title_key(e.title)
    if short:
        if e.year is not None:
            keys.append(f"{e.kind}|ty:{short}:{e.year}")
        surname = e.author.split()[0] if e.author else ""
        if surname:
            keys.append(f"{e.kind}|ta:{short}:{surname}")
        short_a = title_key(e.title_a)
        if short_a != short and e.year is not None:
            keys.append(f"{e.kind}|ty:{short_a}:{e.year}")
        if e.year is not None and len(e.title) >= PARALLEL_TITLE_LETTERS:  # parallel titles in another order
            words = sorted({w for w in e.title.split() if len(w) > 3})
            keys.append(f"{e.kind}|tw:{''.join(w[:4] for w in words)[:24]}:{e.year}")
    return list(dict.fromkeys(keys))


# -- building the elements -----------------------------------------------------------------------

_ByTag = dict[str, list[pymarc.Field]]


def _subfields(field: pymarc.Field | None, codes: str) -> list[str]:
    if field is None or field.is_control_field():
        return []
    return [sf.value for sf in field.subfields if sf.code in codes and sf.value]


def _fields_by_tag(record: pymarc.Record) -> _ByTag:
    """The record's fields by tag, in record order: looked up once, where each `record.get` and
    `record.get_fields` would scan the whole record."""
    by_tag: _ByTag = {}
    for field in record.fields:
        by_tag.setdefault(field.tag, []).append(field)
    return by_tag


def _first(by_tag: _ByTag, tag: str) -> pymarc.Field | None:
    found = by_tag.get(tag)
    return found[0] if found else None


def _control(by_tag: _ByTag, tag: str) -> str:
    field = _first(by_tag, tag)
    return (field.data or "") if field is not None and field.is_control_field() else ""


def _unique(values) -> tuple:
    return tuple(dict.fromkeys(v for v in values if v))


def _isbns(by_tag: _ByTag) -> tuple[str, ...]:
    found = []
    for field in by_tag.get("020", ()):
        for value in field.get_subfields("a"):
            forms = normalize_isbn(value)
            found += [f for f in forms if len(f) == 13]
    return _unique(found)


def _oclc(by_tag: _ByTag) -> tuple[str, ...]:
    found = [m.group(1) for f in by_tag.get("035", ()) for v in f.get_subfields("a") if (m := _OCLC.match(v))]
    if _control(by_tag, "003").strip().lower() in ("ocolc", "oclc") and (m := _OCLC_001.match(_control(by_tag, "001").strip())):
        found.append(m.group(1))
    return _unique(found)


def _nbn(by_tag: _ByTag) -> tuple[str, ...]:
    found = []
    for field in by_tag.get("015", ()):
        source = normalize_number(" ".join(field.get_subfields("2")))
        found += [f"{source}:{normalize_number(v)}" for v in field.get_subfields("a")]
    for field in by_tag.get("016", ()):
        agency = normalize_number(" ".join(field.get_subfields("2"))) or "dlc-ca"
        found += [f"{agency}:{normalize_number(v)}" for v in field.get_subfields("a")]
    return _unique(v for v in found if not v.endswith(":"))


def _years(by_tag: _ByTag, imprints: list[pymarc.Field]) -> tuple[int | None, tuple[int, ...]]:
    data008 = _control(by_tag, "008")
    years = []
    for start in (7, 11):
        text = data008[start:start + 4]
        if len(text) == 4 and text.isdigit() and text not in ("0000", "9999"):
            years.append(int(text))
    imprint_years = []
    for field in imprints:
        for value in field.get_subfields("c"):
            imprint_years += [int(y) for y in re.findall(r"(?<!\d)(1[4-9]\d\d|20\d\d)(?!\d)", value)]
    primary = years[0] if years else (imprint_years[0] if imprint_years else None)
    return primary, _unique(years + imprint_years)


def _strip_article(words: list[str]) -> list[str]:
    if len(words) > 1 and words[0] in _ARTICLES:
        return words[1:]
    return words


def _titles(by_tag: _ByTag) -> tuple[str, str, str]:
    field = _first(by_tag, "245")
    if field is None:
        return "", "", ""
    skip = int(field.indicator2) if (field.indicator2 or "").isdigit() else 0
    a = " ".join(field.get_subfields("a"))
    b = " ".join(field.get_subfields("b"))
    a = a[skip:] if skip < len(a) else a
    words_a = normalize(a).split()
    if skip == 0:
        words_a = _strip_article(words_a)
    title_a = " ".join(words_a)
    title = " ".join(words_a + normalize(b).split())
    return title, title_a, _part(field)


def _number(word: str) -> str:
    if word.isdigit():
        return str(int(word))
    if _ROMAN.match(word):
        values = {"m": 1000, "d": 500, "c": 100, "l": 50, "x": 10, "v": 5, "i": 1}
        total = 0
        for here, after in zip(word, word[1:] + " ", strict=True):
            value = values[here]
            total += -value if after != " " and values[after] > value else value
        return str(total)
    return word


def _part(field: pymarc.Field) -> str:
    """245 $n/$p: numbers in arabic form, words normalized (`Bd. II` and `v. 2` both give `2`)."""
    numbers = [_number(w) for n in field.get_subfields("n") for w in normalize(n).split()]
    numbered = [w for w in numbers if w.isdigit()]
    names = normalize(" ".join(field.get_subfields("p")))
    return " ".join(numbered + ([names] if names else []) if numbered or names else [])


def _edition(by_tag: _ByTag) -> str:
    """250 $a as `#N` when it states a number (`2nd ed.`, `Second edition`, `2. Aufl.`), else its words."""
    text = " ".join(_subfields(_first(by_tag, "250"), "a"))
    if not text:
        return ""
    words = normalize(re.sub(r"(\d+)(st|nd|rd|th|d|e|er|re|eme|a|o)\b", r"\1", text, flags=re.I)).split()
    for word in words:
        if word.isdigit() and len(word) <= 3:
            return f"#{int(word)}"
        if word in _ORDINALS:
            return f"#{_ORDINALS[word]}"
    significant = [w for w in words if w not in _EDITION_WORDS]
    return " ".join(significant)


def _carrier(leader: str, by_tag: _ByTag) -> str:
    f007 = _control(by_tag, "007")
    data008 = _control(by_tag, "008")
    gmd = normalize(" ".join(_subfields(_first(by_tag, "245"), "h")))
    form_at = 29 if leader[6:7] in ("e", "f", "g", "k", "o", "r") else 23
    form = data008[form_at:form_at + 1]
    if f007[:2] == "cr" or form in ("o", "s", "q") or "electronic resource" in gmd or "online" in gmd:
        return "online"
    if f007[:1] == "h" or form in ("a", "b", "c") or "microform" in gmd or "microfiche" in gmd:
        return "microform"
    if f007[:1] == "f" or form == "f" or "braille" in gmd:
        return "braille"
    if form == "d" or "large print" in gmd:
        return "large print"
    return ""


def _language(by_tag: _ByTag) -> str:
    code = _control(by_tag, "008")[35:38].strip().lower()
    if code in _NO_LANGUAGE or not code.isalpha():
        codes = [normalize_number(v)[:3] for f in by_tag.get("041", ()) for v in f.get_subfields("a")]
        code = codes[0] if codes else ""
    return "" if code in _NO_LANGUAGE or not code.isalpha() else code


def _names(by_tag: _ByTag) -> tuple[str, tuple[str, ...]]:
    main = ""
    names = []
    for tag in ("100", "110", "111", "700", "710", "711"):
        for field in by_tag.get(tag, ()):
            codes = "a" if tag.endswith("00") else "ab"
            name = normalize(" ".join(field.get_subfields(*codes)))
            if name:
                names.append(name)
                if not main and (tag.startswith("1") or by_tag.keys().isdisjoint(("100", "110", "111"))):
                    main = name
    return main, _unique(names)


def _extent(by_tag: _ByTag) -> tuple[int | None, int | None]:
    """(pages, count): the largest unbracketed number of a paged extent (`4 p.l., [3]-311, [1] p.`
    gives 311), else the leading count (`2 v.`, `3 CD`, `8 microfiches`)."""
    field = _first(by_tag, "300")
    text = " ".join(field.get_subfields("a")) if field is not None else ""
    text = re.split(r"[:;]", text)[0]
    volumes = [int(n) for n in _VOLUMES.findall(text)]
    if _PAGE_WORD.search(text) and not volumes:
        numbers = [int(n) for n in _NUMBER.findall(_BRACKETED.sub(" ", text))]
        return (max(numbers) if numbers else None), None
    first = _NUMBER.search(text)
    return None, (volumes[0] if volumes else (int(first.group()) if first else None))


def _publisher(imprints: list[pymarc.Field]) -> str:
    for field in imprints:
        if field.tag == "264" and field.indicator2 not in ("1", " "):
            continue
        names = field.get_subfields("b")
        if names:
            words = [w for w in normalize(names[0]).split() if w not in _PUBLISHER_NOISE]
            name = " ".join(words)
            return "" if name in _NO_PUBLISHER else name
    return ""


def _music_format(leader: str, by_tag: _ByTag) -> str:
    """Notated music: "score" (full, study or miniature) or "vocal score" (piano reduction), from
    008/20 or the words of 300 $a; "" for other records or when neither says."""
    if leader[6:7] not in ("c", "d"):
        return ""
    code = _control(by_tag, "008")[20:21]
    if code in ("a", "b"):
        return "score"
    if code in ("c", "d"):
        return "vocal score"
    field = _first(by_tag, "300")
    words = set(normalize(" ".join(field.get_subfields("a")) if field is not None else "").split())
    if words & _VOCAL_SCORE:
        return "vocal score"
    if words & _FULL_SCORE:
        return "score"
    return ""


def _size(by_tag: _ByTag) -> int | None:
    field = _first(by_tag, "300")
    match = re.search(r"(\d+)\s*cm", " ".join(field.get_subfields("c")) if field is not None else "")
    return int(match.group(1)) if match else None


def _pubnums(by_tag: _ByTag) -> tuple[str, ...]:
    """028 as `label+number|number`, the number without a label written into $a (`Arthaus 502023`,
    `EP 10425`), so that it compares with the same number given bare or with its label in $b."""
    found = []
    for field in by_tag.get("028", ()):
        label = normalize_number(" ".join(field.get_subfields("b")))
        for value in field.get_subfields("a"):
            number = normalize_number(value)
            bare = _LABEL_PREFIX.sub("", number) or number
            if any(c.isdigit() for c in number):     # a label alone ("BA") is no number
                found.append(f"{label}{number}|{bare}")
    return _unique(found)


def _minutes(by_tag: _ByTag) -> int | None:
    """Running time in minutes: 306 $a (`014930` = 1 h 49 min 30 s), else `109 Min.` in 300 $a."""
    for field in by_tag.get("306", ()):
        for value in field.get_subfields("a"):
            if len(value) == 6 and value.isdigit():
                return int(value[:2]) * 60 + int(value[2:4])
    field = _first(by_tag, "300")
    match = _RUNNING_TIME.search(" ".join(field.get_subfields("a")) if field is not None else "")
    return int(match.group(1)) if match else None


def _reprints(by_tag: _ByTag) -> tuple[int, ...]:
    """Years of later printings a note says this record covers (`Lisäpainokset: 2010, 2012`)."""
    years = []
    for field in by_tag.get("500", ()):
        text = " ".join(field.get_subfields("a"))
        if _REPRINT_NOTE.match(text):
            years += [int(y) for y in re.findall(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)", text)]
    return _unique(years)


def elements(record: pymarc.Record) -> MatchElements:
    """The match elements of a MARC 21 bibliographic record."""
    leader = str(record.leader)
    by_tag = _fields_by_tag(record)
    imprints = record.get_fields("260", "264")
    year, years = _years(by_tag, imprints)
    title, title_a, part = _titles(by_tag)
    author, names = _names(by_tag)
    pages, extent = _extent(by_tag)
    country = _control(by_tag, "008")[15:18].strip(" |").lower()
    lccns = [normalize_lccn(v) for f in by_tag.get("010", ()) for v in f.get_subfields("a")]
    issns = [normalize_issn(v) for f in by_tag.get("022", ()) for v in f.get_subfields("a")]
    return MatchElements(
        kind=f"{leader[6:8]} {material_type(record)}",
        carrier=_carrier(leader, by_tag),
        language=_language(by_tag),
        lccn=_unique(lccns),
        isbn=_isbns(by_tag),
        issn=_unique(issns),
        oclc=_oclc(by_tag),
        nbn=_nbn(by_tag),
        year=year,
        years=years,
        title=title,
        title_a=title_a,
        part=part,
        edition=_edition(by_tag),
        country="" if country in _NO_COUNTRY else country,
        author=author,
        names=names,
        pages=pages,
        extent=extent,
        publisher=_publisher(imprints),
        pubnum=_pubnums(by_tag),
        minutes=_minutes(by_tag),
        reprints=_reprints(by_tag),
        music_format=_music_format(leader, by_tag),
        size=_size(by_tag),
        prepublication=leader[17:18] == "8",
    )
