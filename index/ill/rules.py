"""The checks an order passes before it is routed: mandatory data, holdings statements, ISBD.

This module owns three small rules of the GBV order form, as pure functions:

- `check_article`: for a copy (an article), the article title and the author or the pages are
  mandatory, and the year or the volume must be given (it is what the holdings are checked
  against);
- `covers`: whether a journal's holdings statement (PICA 8032, MARC 866 $a, kept as the
  holding's note) covers a year or volume. A statement is read as ranges separated by `;` or
  `,`, each `start - end` or `start -` (open end) or a single issue; an end point is
  `volume.year` (`12.1990`), `year`, or `volume (year)`. A holding with no statement, or one
  we cannot read, counts as covering: the supplier decides then, and a wrong guess costs one
  "unfilled" answer, while refusing would lose the order;
- `isbd_text`: the bibliographic description of a record in ISBD (heading, then the areas
  joined with ` — `), as the order form and the order slip show it.

It knows no store, no protocol and no clock.
"""

from __future__ import annotations

import re

import pymarc

from index.ill.model import Article, IllRefused, Refusal
from index.records.formats import isbd_areas

__all__ = ["check_article", "covers", "isbd_text"]

_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_VOLUME_DOT_YEAR = re.compile(r"(?<![\d.])(\d{1,4})\s*\.\s*(1[5-9]\d\d|20\d\d)(?!\d)")
_VOLUME_PAREN_YEAR = re.compile(r"(?<!\d)(\d{1,4})\s*\((1[5-9]\d\d|20\d\d)")
_NUMBER = re.compile(r"\d+")


def check_article(article: Article) -> None:
    """Raise IllRefused(MISSING_DATA) naming what a copy order lacks."""
    missing = []
    if not article.title.strip():
        missing.append("the article title")
    if not (article.author.strip() or article.pages.strip()):
        missing.append("the author or the pages")
    if not (article.year.strip() or article.volume.strip()):
        missing.append("the year or the volume")
    if missing:
        raise IllRefused(Refusal.MISSING_DATA, "For an article copy please give " + " and ".join(missing) + ".")


def _point(text: str) -> tuple[int | None, int | None]:
    """(volume, year) of one end of a range; None where it does not say."""
    for pattern in (_VOLUME_DOT_YEAR, _VOLUME_PAREN_YEAR):
        found = pattern.search(text)
        if found:
            return int(found.group(1)), int(found.group(2))
    year = _YEAR.search(text)
    if year:
        return None, int(year.group(1))
    number = _NUMBER.search(text)
    return (int(number.group()), None) if number else (None, None)


def _ranges(statement: str) -> list[tuple[tuple[int | None, int | None], tuple[int | None, int | None] | None]]:
    """(start, end) points of each range; end None: open (`1990 -`)."""
    ranges = []
    for part in re.split(r"[;,]", statement):
        part = part.strip()
        if not part:
            continue
        start_text, dash, end_text = part.partition("-")
        start = _point(start_text)
        if start == (None, None):
            continue
        if not dash:
            ranges.append((start, start))
        else:
            end = _point(end_text)
            ranges.append((start, None if end == (None, None) else end))
    return ranges


def covers(statement: str, year: str = "", volume: str = "") -> bool:
    """Whether a holdings statement covers `year` or `volume` (given as text, e.g. "1997",
    "12"); True when the statement or both values cannot be read."""
    ranges = _ranges(statement)
    wanted_year = int(m.group(1)) if (m := _YEAR.search(year)) else None
    wanted_volume = int(m.group()) if (m := _NUMBER.search(volume)) else None
    if not ranges or (wanted_year is None and wanted_volume is None):
        return True
    for (start_volume, start_year), end in ranges:
        end_volume, end_year = end if end is not None else (None, None)
        if wanted_year is not None and start_year is not None:
            if start_year <= wanted_year and (end is None or end_year is None or wanted_year <= end_year):
                return True
            continue
        if wanted_volume is not None and start_volume is not None:
            if start_volume <= wanted_volume and (end is None or end_volume is None or wanted_volume <= end_volume):
                return True
    return False


def isbd_text(record: pymarc.Record) -> str:
    """The record in ISBD: its main heading, then the areas joined by ` — `."""
    heading = ""
    for tag in ("100", "110", "111"):
        field = record.get(tag)
        if field is not None:
            heading = " ".join(sf.value.strip() for sf in field.subfields if sf.code in "abcdq").rstrip(" ,")
            break
    body = " — ".join(isbd_areas(record))
    return f"{heading}: {body}" if heading and body else heading or body
