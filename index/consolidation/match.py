"""Deciding whether two records describe the same title: guards, first pass, second pass.

`compare(a, b, rules)` takes two `MatchElements` and returns a `Verdict` that says whether they
match and why, element by element, so a librarian can read every decision
(`unikat clusters ISN` prints them).

1. **Guards.** Records of different kinds (leader/06-07, material type), carriers (print, online,
   microform), languages, edition statements, volume/part numbers or formats of music (full score,
   vocal score) never match, whatever else agrees: different editions and translations are
   different titles.
2. **First pass** (MELVYL): the same strong identifier (LCCN, ISBN-13, ISSN, OCLC number,
   national bibliography number), the same year and the same first 15 letters of the title –
   unless the page counts disagree (then the second pass weighs it all).
3. **Second pass**: a weighted comparison. Each element adds its `agree` points when both records
   have it and agree, and takes away its `disagree` points when both have it and disagree;
   partial agreement (a similar title, a year apart, nearly the same page count) earns a fixed
   fraction. The records match when the sum reaches `threshold` and a number or the year agrees,
   or, short of it, by one of the agreements below. Weights and threshold come from
   `unikat.toml` (`[consolidation]`); the defaults here were tuned on the labelled sets that
   `bench/consolidate.py` evaluates.

Rules, one line each (`bench/consolidate.py --errors` shows where each one decides):

- Numbers catalogs give their own records (LCCN, OCLC, national bibliography) may differ for one
  book catalogued twice; they never outweigh an agreeing description.
- Title, year and author agree, and pages or publisher too (an article: its host's), nothing else
  disagrees but record numbers: one title catalogued twice.
- A shared identifier and nothing disagreeing: one title, however little the records carry.
- A film or recording: title (main title at least), year, disc count and running time (300 `109
  Min.`, 306) agree, a name is shared, only record numbers differ: one release.
- Running times more than 2 minutes (3 %) apart, or one volume against a set of several: the
  extent disagrees.
- Publisher numbers (028) compare by the number: a label written into `$a` (`Arthaus 502023`),
  given in `$b`, or a label code in front (`LC 0171 433 210-2`) leaves the number the same.
- A score's plate number stays on reprints for decades: it does not tie an undated score to a
  dated one.
- Personal names agree initial by initial (`Scherrer, A. U.` = `Scherrer, Alexandra U.`).
- The ISBN began in 1967-1970: two different ISBNs on records of books finished before 1968 were
  added for later reprints and say nothing.
- A later printing that the other record's note says it covers (`Lisäpainokset: 2010`, same
  ISBN) is not another edition and not another year.
- One book under its hardback and paperback ISBNs stays two titles unless something else ties
  them (the rule of the pride-and-prejudice and thomas-mann labels: each binding its own record).

`compare` is symmetric and depends on the two records only, never on what else is in the
catalog, so clusters (connected groups of matching records) come out the same whatever order
records arrive in. This module knows nothing of MARC, the store or merging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from index.consolidation.keys import MatchElements, title_key

__all__ = ["DEFAULT_AGREE", "DEFAULT_DISAGREE", "DEFAULT_THRESHOLD", "MatchRules", "Verdict", "compare"]

# Points per element. Tuned with bench/consolidate.py (see its table); change them in unikat.toml.
DEFAULT_AGREE: dict[str, float] = {
    "lccn": 0.5, "isbn": 0.45, "issn": 0.4, "oclc": 0.5, "nbn": 0.5, "pubnum": 0.45,
    "title": 0.35, "date": 0.15, "edition": 0.1, "country": 0.05,
    "author": 0.15, "pagination": 0.2, "publisher": 0.1,
}
DEFAULT_DISAGREE: dict[str, float] = {
    "lccn": 0.5, "isbn": 0.45, "issn": 0.4, "oclc": 0.1, "nbn": 0.3, "pubnum": 0.2,
    "title": 0.6, "date": 1.0, "edition": 0.05, "country": 0.1,
    "author": 0.3, "pagination": 0.3, "publisher": 0.1,
}
DEFAULT_THRESHOLD = 0.8
ELEMENTS = tuple(DEFAULT_AGREE)


@dataclass(frozen=True)
class MatchRules:
    """Weights and threshold of the second pass (`[consolidation]` in unikat.toml)."""

    agree: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_AGREE))
    disagree: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DISAGREE))
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def from_table(cls, table: Mapping) -> MatchRules:
        """Rules from the `[consolidation]` table; raises ValueError naming a wrong entry."""
        agree, disagree = dict(DEFAULT_AGREE), dict(DEFAULT_DISAGREE)
        for name, target in (("agree", agree), ("disagree", disagree)):
            for element, value in table.get(name, {}).items():
                if element not in ELEMENTS:
                    raise ValueError(f"[consolidation.{name}] {element}: unknown element (known: {', '.join(ELEMENTS)})")
                if not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"[consolidation.{name}] {element}: points must be a number >= 0")
                target[element] = float(value)
        threshold = table.get("threshold", DEFAULT_THRESHOLD)
        if not isinstance(threshold, int | float) or threshold <= 0:
            raise ValueError("[consolidation] threshold must be a number > 0")
        return cls(agree, disagree, float(threshold))


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing two records, with its reasons.

    `step` is "guard" (a conflict forbids the match), "pass 1", or "pass 2". `points` lists
    (element, points, note) for every element that counted.
    """

    matched: bool
    step: str
    score: float = 0.0
    points: tuple[tuple[str, float, str], ...] = ()
    conflict: str = ""

    def explain(self) -> str:
        if self.step == "guard":
            return f"no match: {self.conflict}"
        if self.step == "pass 1":
            return "pass 1: " + "; ".join(note for _, _, note in self.points)
        parts = ", ".join(note or f"{name} {value:+.2f}" for name, value, note in self.points)
        verb = "match" if self.matched else "no match"
        return f"pass 2 {verb}: score {self.score:.2f} ({parts})"


# -- guards -------------------------------------------------------------------------------------

def _edition_conflict(a: str, b: str) -> bool:
    if a == b:
        return False
    if a and b:
        return True
    present = a or b
    # A numbered edition after the first against a record stating none: a later edition.
    return present.startswith("#") and present != "#1"


def _covered_printing(a: MatchElements, b: MatchElements) -> bool:
    """One record is a later printing that the other says it stands for: the same ISBN, and its
    year among the printings the other's note lists (`Lisäpainokset: 2010`)."""
    if not set(a.isbn) & set(b.isbn):
        return False
    return (a.year is not None and a.year in b.reprints) or (b.year is not None and b.year in a.reprints)


def _conflict(a: MatchElements, b: MatchElements) -> str:
    if a.kind != b.kind:
        return f"different bibliographic type ({a.kind} / {b.kind})"
    if a.carrier != b.carrier:
        return f"different carrier ({a.carrier or 'print'} / {b.carrier or 'print'})"
    if a.language and b.language and a.language != b.language:
        return f"different language ({a.language} / {b.language})"
    if _edition_conflict(a.edition, b.edition) and not _covered_printing(a, b):
        return f"different edition ({a.edition or 'none'} / {b.edition or 'none'})"
    if a.music_format and b.music_format and a.music_format != b.music_format:
        return f"different format of music ({a.music_format} / {b.music_format})"
    if a.part != b.part:
        return f"different part or volume ({a.part or 'none'} / {b.part or 'none'})"
    if _publisher(a, b) == -1.0 and _equal(a.country, b.country) == -1.0:
        return f"different publisher and country ({a.publisher}, {a.country} / {b.publisher}, {b.country})"
    return ""


# -- element comparisons: each returns (fraction in -1..1, note) or None when not comparable ------

def _shared(a: tuple[str, ...], b: tuple[str, ...]) -> float | None:
    if not a or not b:
        return None
    return 1.0 if set(a) & set(b) else -1.0


def _words(text: str) -> set[str]:
    return set(text.split())


def title_similarity(a: str, b: str) -> float:
    """1.0 for equal titles, else the Dice coefficient of their words (one title being the
    start of the other, as with and without a subtitle, counts 0.85 at least)."""
    if a == b:
        return 1.0
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    dice = 2 * len(wa & wb) / (len(wa) + len(wb))
    if a.startswith(b + " ") or b.startswith(a + " "):
        dice = max(dice, 0.85)
    return dice


def _title(a: MatchElements, b: MatchElements) -> float | None:
    if not a.title or not b.title:
        return None
    similarity = title_similarity(a.title, b.title)
    if similarity >= 0.999:
        return 1.0
    if a.title_a == b.title_a:
        return 0.8
    if similarity >= 0.8:
        return 0.7
    if similarity >= 0.6:
        return 0.3
    return -1.0


def _date(a: MatchElements, b: MatchElements) -> float | None:
    """Same year agrees; a year apart is a mild doubt (publishers date late in the year, and a
    prepublication record's year is a forecast); farther apart is another printing or edition."""
    if a.year is None or b.year is None:
        return None
    if a.year == b.year or _covered_printing(a, b):
        return 1.0
    if abs(a.year - b.year) == 1:
        return 0.0 if a.prepublication or b.prepublication else -0.1
    return -1.0


def _edition(a: MatchElements, b: MatchElements) -> float | None:
    if a.edition and b.edition:
        return 1.0 if a.edition == b.edition else -1.0
    if a.edition or b.edition:
        return -1.0
    return None


def _equal(a: str, b: str) -> float | None:
    if not a or not b:
        return None
    return 1.0 if a == b else -1.0


def same_name(x: str, y: str) -> bool:
    """Two normalized personal names agree: the same surname (first word) and forenames that
    agree word by word or initial by initial (`scherrer a u` = `scherrer alexandra u`)."""
    if x == y:
        return True
    wx, wy = x.split(), y.split()
    if len(wx) < 2 or len(wx) != len(wy) or wx[0] != wy[0]:
        return False
    return all(p == q or (min(len(p), len(q)) == 1 and p[0] == q[0]) for p, q in zip(wx[1:], wy[1:], strict=True))


def _author(a: MatchElements, b: MatchElements) -> float | None:
    if not a.names or not b.names:
        return None
    if a.author and b.author and same_name(a.author, b.author):
        return 1.0
    if any(same_name(x, y) for x in a.names for y in b.names):
        return 0.6
    surnames_a = {n.split()[0] for n in a.names}
    surnames_b = {n.split()[0] for n in b.names}
    if surnames_a & surnames_b:
        return 0.3
    return -1.0


def _pagination(a: MatchElements, b: MatchElements) -> float | None:
    """Pages (or the leading count: volumes, discs, sheets) and, for films and recordings, the
    running time: the same within 2 minutes or 3% agrees, more apart is another version."""
    if a.prepublication or b.prepublication:
        return None
    if a.size is not None and b.size is not None and abs(a.size - b.size) >= 3:
        return -1.0
    if a.minutes is not None and b.minutes is not None:
        if abs(a.minutes - b.minutes) > max(2, 0.03 * max(a.minutes, b.minutes)):
            return -1.0
        if a.extent is not None and b.extent is not None and a.extent != b.extent:
            return -1.0
        return 1.0
    if a.pages is not None and b.pages is not None:
        if a.pages == b.pages:
            return 1.0
        if abs(a.pages - b.pages) <= max(2, 0.02 * max(a.pages, b.pages)):
            return 0.5
        return -1.0
    if a.extent is not None and b.extent is not None:
        return 0.5 if a.extent == b.extent else -1.0
    if (a.pages is not None and (b.extent or 0) > 1) or (b.pages is not None and (a.extent or 0) > 1):
        return -1.0     # one volume of 428 pages against a set of 5
    return None


def _publisher(a: MatchElements, b: MatchElements) -> float | None:
    if not a.publisher or not b.publisher:
        return None
    wa, wb = _words(a.publisher), _words(b.publisher)
    if a.publisher.split()[0] == b.publisher.split()[0] or len(wa & wb) * 2 >= min(len(wa), len(wb)):
        return 1.0
    return -1.0


def _pubnum(a: MatchElements, b: MatchElements) -> float | None:
    """Publisher numbers (028): the same label and number agree (`$b F $a 123` = `$a F-123`),
    the same number under another label, or inside the other, half."""
    if not a.pubnum or not b.pubnum:
        return None
    if {p.split("|")[0] for p in a.pubnum} & {p.split("|")[0] for p in b.pubnum}:
        return 1.0
    if {p.split("|")[1] for p in a.pubnum} & {p.split("|")[1] for p in b.pubnum}:
        return 0.5
    if any(_digits_within(x, y) for x in a.pubnum for y in b.pubnum):
        return 0.5
    return -1.0


def _digits_within(x: str, y: str) -> bool:
    """One number's digits (5 at least) inside the other's: a label code or catalogue prefix
    written with it (`LC 0171 433 210-2` and `433 210-2`)."""
    dx, dy = "".join(c for c in x.split("|")[1] if c.isdigit()), "".join(c for c in y.split("|")[1] if c.isdigit())
    short, long = sorted((dx, dy), key=len)
    return len(short) >= 5 and short in long


# The ISBN began in 1967-1970; one on a record of a book published wholly before was added for a
# later reprint (each library its own), so two such ISBNs differing say nothing about the book.
ISBN_FROM = 1968


def _before_isbn(e: MatchElements) -> bool:
    return bool(e.years) and max(e.years) < ISBN_FROM


def _isbn(a: MatchElements, b: MatchElements) -> float | None:
    fraction = _shared(a.isbn, b.isbn)
    if fraction == -1.0 and _before_isbn(a) and _before_isbn(b):
        return None
    return fraction


_COMPARISONS = {
    "lccn": lambda a, b: _shared(a.lccn, b.lccn),
    "isbn": _isbn,
    "issn": lambda a, b: _shared(a.issn, b.issn),
    "oclc": lambda a, b: _shared(a.oclc, b.oclc),
    "nbn": lambda a, b: _shared(a.nbn, b.nbn),
    "pubnum": _pubnum,
    "title": _title,
    "date": _date,
    "edition": _edition,
    "country": lambda a, b: _equal(a.country, b.country),
    "author": _author,
    "pagination": _pagination,
    "publisher": _publisher,
}


# A second-pass match needs one of these to agree: a title and a name alone, however alike, do not
# tell one edition from another.
_ANCHORS = frozenset({"lccn", "isbn", "issn", "oclc", "nbn", "pubnum", "date"})


def _anchors(name: str, a: MatchElements, b: MatchElements) -> bool:
    # A score's plate number stays on reprints for decades: it does not tie an undated score to a
    # dated one.
    return name != "pubnum" or a.kind[:1] not in "cd" or (a.year is None) == (b.year is None)


def _first_pass(a: MatchElements, b: MatchElements) -> tuple[tuple[str, float, str], ...] | None:
    """MELVYL's first pass: a shared strong id, the same year, the same first 15 title letters."""
    if a.year is None or a.year != b.year or not a.title or title_key(a.title) != title_key(b.title):
        return None
    if _pagination(a, b) == -1.0:   # 388 pages against 280 under one ISBN: a wrong number, not one book
        return None
    for name, values in a.strong_ids.items():
        shared = sorted(set(values) & set(b.strong_ids[name]))
        if shared:
            return ((name, 0.0, f"same {name} {shared[0]}"), ("date", 0.0, f"same year {a.year}"),
                    ("title", 0.0, f"same title start '{title_key(a.title)}'"))
    return None


def compare(a: MatchElements, b: MatchElements, rules: MatchRules | None = None) -> Verdict:
    """Whether `a` and `b` describe the same title (symmetric in a and b)."""
    rules = rules or MatchRules()
    conflict = _conflict(a, b)
    if conflict:
        return Verdict(False, "guard", conflict=conflict)
    first = _first_pass(a, b)
    if first is not None:
        return Verdict(True, "pass 1", points=first)
    points = []
    score = 0.0
    anchored = False
    fractions: dict[str, float] = {}
    for name, comparison in _COMPARISONS.items():
        fraction = comparison(a, b)
        if fraction is None:
            continue
        fractions[name] = fraction
        anchored = anchored or (name in _ANCHORS and fraction > 0 and _anchors(name, a, b))
        value = fraction * (rules.agree[name] if fraction > 0 else rules.disagree[name])
        if value:
            points.append((name, round(value, 4), ""))
            score += value
    if not anchored:
        return Verdict(False, "pass 2", round(score, 4), tuple(points) + (("anchor", 0.0, "no shared number or year"),))
    matched = score >= rules.threshold - 1e-9
    reason = "" if matched else _agreement(a, b, fractions)
    if reason:
        return Verdict(True, "pass 2", round(score, 4), tuple(points) + (("agreement", 0.0, reason),))
    return Verdict(matched, "pass 2", round(score, 4), tuple(points))


# Numbers a catalog gives its own record, not the book: one book catalogued twice has two.
_RECORD_NUMBERS = frozenset({"lccn", "oclc", "nbn"})
_DESCRIPTION = ("title", "date", "author", "publisher", "pagination")
_TIMED_MEDIA = "gij"    # leader/06: projected medium, sound recordings


def _agreement(a: MatchElements, b: MatchElements, fractions: dict[str, float]) -> str:
    """Why two records short of the threshold still match (empty: they do not): the whole
    description agrees and only record numbers differ, or they share an identifier and nothing
    disagrees (records that carry little, so the score stays low)."""
    disagreeing = {name for name, fraction in fractions.items() if fraction < 0}
    component = a.kind[1:2] in ("a", "b")     # an article: its pages and publisher are its host's
    if (all(fractions.get(name) == 1.0 for name in ("title", "date", "author")) and disagreeing <= _RECORD_NUMBERS
            and (component or fractions.get("pagination", 0) > 0 or fractions.get("publisher", 0) > 0)):
        return "title, year and author agree, and pages or publisher; only record numbers differ"
    timed = a.kind[:1] in _TIMED_MEDIA and (a.minutes or b.minutes)
    if (timed and disagreeing <= _RECORD_NUMBERS and fractions.get("title", 0) >= 0.7
            and fractions.get("date") == 1.0 and fractions.get("pagination", 0) > 0 and fractions.get("author", 0) > 0):
        return "a film or recording: title, year, discs (and running time) agree, a name shared; only record numbers differ"
    shared = any(set(x) & set(y) for x, y in zip(a.strong_ids.values(), b.strong_ids.values(), strict=True))
    if shared and not disagreeing and sum(fractions.values()) > 1:
        return "a shared identifier and nothing disagrees"
    return ""
