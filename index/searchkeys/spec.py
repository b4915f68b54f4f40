"""The search indexes: their names, their MELVYL file codes, their kind and where their text comes from.

This table is the single definition of what is searchable. The query languages name these
logical indexes; `extract` reads the MARC fields listed here; the engine builds one field (or
two) per entry. 880 fields (vernacular scripts) count as the field their $6 links to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class IndexKind(Enum):
    WORDS = "words"   # searchable by word, phrase and whole-field key; scannable
    KEY = "key"       # identifiers and codes, compared whole
    YEAR = "year"     # numbers, comparable with < <= = >= >


@dataclass(frozen=True)
class IndexSpec:
    name: str                  # logical name used by query languages
    code: str                  # MELVYL-style code, also the search-key file name (TI.keys)
    kind: IndexKind
    fields: dict[str, str]     # MARC tag -> subfield codes taken ("" means all alphabetic)
    label: str
    exact: bool = True         # WORDS only: also index each field whole (exact search, scan)
    table: bool = False        # KEY only: many distinct values; kept in the key table, not in Whoosh

    @property
    def exact_keys_in_table(self) -> bool:
        """Whether this index's whole keys live in the key table (see index.engines.whoosh.keytable)."""
        return ((self.kind is IndexKind.WORDS and self.exact) or (self.kind is IndexKind.KEY and self.table)
                or self.kind is IndexKind.YEAR)


def _tags(subfields: str, *tags: str) -> dict[str, str]:
    return {tag: subfields for tag in tags}


_PERSONAL = _tags("abcdq", "100", "700", "800")
_CORPORATE = _tags("abcdn", "110", "710", "810")
_CONFERENCE = _tags("acden", "111", "711", "811")
_SUBJECT = _tags("", "600", "610", "611", "630", "648", "650", "651", "653", "655")
_SERIES = {**_tags("av", "440", "490"), **_tags("tv", "800", "810", "811"), **_tags("anpv", "830")}

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec("title", "TI", IndexKind.WORDS, {
        **_tags("abfghknps", "245"), **_tags("adfgklmnoprs", "130", "240", "730"),
        **_tags("abfnp", "210", "222", "242", "246", "247"), **_tags("anp", "740"),
        **_tags("a", "440", "490", "830"), **_tags("t", "700", "710", "711", "800", "810", "811"),
    }, "Title"),
    IndexSpec("personal_name", "PA", IndexKind.WORDS, _PERSONAL, "Personal name"),
    IndexSpec("corporate_name", "CA", IndexKind.WORDS, _CORPORATE, "Corporate name"),
    IndexSpec("conference_name", "CO", IndexKind.WORDS, _CONFERENCE, "Conference name"),
    IndexSpec("author", "AU", IndexKind.WORDS, {**_PERSONAL, **_CORPORATE, **_CONFERENCE}, "Author (any name)"),
    IndexSpec("subject", "SU", IndexKind.WORDS, _SUBJECT, "Subject"),
    IndexSpec("series", "SE", IndexKind.WORDS, _SERIES, "Series"),
    IndexSpec("publisher", "PU", IndexKind.WORDS, _tags("ab", "260", "264"), "Publisher and place"),
    IndexSpec("any", "AN", IndexKind.WORDS, {}, "Any field", exact=False),
    IndexSpec("isbn", "IB", IndexKind.KEY, _tags("az", "020"), "ISBN", table=True),
    IndexSpec("issn", "IS", IndexKind.KEY, {**_tags("ayz", "022"), **_tags("x", "490", "776")}, "ISSN", table=True),
    IndexSpec("lccn", "LC", IndexKind.KEY, _tags("az", "010"), "LC control number", table=True),
    IndexSpec("oclc", "OC", IndexKind.KEY, _tags("az", "035"), "OCLC number", table=True),
    IndexSpec("local_number", "LN", IndexKind.KEY, {"001": "", **_tags("a", "035")}, "Local control number", table=True),
    IndexSpec("identifier", "ID", IndexKind.KEY, {}, "Any standard number", table=True),
    IndexSpec("dewey", "DC", IndexKind.KEY, _tags("a", "082"), "Dewey class", table=True),
    IndexSpec("lc_call_number", "CN", IndexKind.KEY, _tags("ab", "050", "090"), "LC call number", table=True),
    IndexSpec("year", "YR", IndexKind.YEAR, _tags("c", "260", "264"), "Year of publication"),
    IndexSpec("language", "LA", IndexKind.KEY, _tags("ad", "041"), "Language code"),
    IndexSpec("material_type", "MT", IndexKind.KEY, {}, "Material type"),
    IndexSpec("library", "LI", IndexKind.KEY, {}, "Holding library"),
    IndexSpec("isn", "IN", IndexKind.KEY, {}, "Record number (ISN)"),
)

BY_NAME: dict[str, IndexSpec] = {spec.name: spec for spec in INDEXES}
BY_CODE: dict[str, IndexSpec] = {spec.code: spec for spec in INDEXES}

SORT_KEYS = ("title", "author", "year")
MATERIAL_TYPES = ("book", "ebook", "serial", "ejournal", "article", "map", "score", "sound", "music",
                  "video", "image", "computer", "kit", "mixed", "object", "manuscript", "authority", "other")
