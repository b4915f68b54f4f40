"""What a query term means for the search keys, decided once for every engine.

An engine looks keys up its own way (Whoosh queries, SQL); what a term asks for is the same
for all of them: which keys, whole or word by word, which truncation, which years. This module
makes those decisions and raises the `index.errors` a term cannot be answered with, so both
engines (`index.engines.whoosh`, `index.sqlengine`) answer alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from index import errors
from index.query import Completeness, Position, Prox, ProximityUnit, Relation, Structure, Term, Truncation
from index.searchkeys.normalize import (
    normalize,
    normalize_isbn,
    normalize_issn,
    normalize_lccn,
    normalize_number,
    normalize_oclc,
)
from index.searchkeys.spec import BY_NAME, IndexKind, IndexSpec


def index_spec(term: Term) -> IndexSpec:
    spec = BY_NAME.get(term.index)
    if spec is None:
        raise errors.UnknownSearchKey(term.index)
    return spec


def scannable(index: str) -> IndexSpec:
    """The index a Scan names; ISNs are not scanned. Years are, as Zebra does: their four-digit
    keys in order, each with its count of titles."""
    spec = BY_NAME.get(index)
    if spec is None or index == "isn":
        raise errors.UnknownSearchKey(index)
    return spec


def check_relation(term: Term) -> None:
    """Word and key indexes compare for equality (NE is the engines' complement of EQ)."""
    if term.relation not in (Relation.EQ, Relation.RELEVANCE, Relation.NE):
        raise errors.UnsupportedRelation(f"{term.relation.value} on {term.index}")


class WordsKind(Enum):
    WHOLE = "whole"      # the whole field is the term (complete field, or structure key)
    FIRST = "first"      # the field begins with the term's words
    PHRASE = "phrase"    # the words, adjacent and in order
    WORDS = "words"      # every word (any word, for relevance), anywhere in the field


@dataclass(frozen=True)
class WordsPlan:
    kind: WordsKind
    text: str                      # normalized; masking characters kept for MASKED
    truncation: Truncation

    @property
    def words(self) -> list[str]:
        return self.text.split()


def plan_words(spec: IndexSpec, term: Term) -> WordsPlan:
    """How to search a term on a word index."""
    text = normalize(term.text, keep_masks=term.truncation is Truncation.MASKED)
    if not text.strip("*? "):
        raise errors.MalformedTerm(f"empty term for {term.index}")
    whole = term.completeness is Completeness.COMPLETE_FIELD or term.structure is Structure.KEY
    if (whole or term.position is Position.FIRST_IN_FIELD) and not spec.exact:
        raise errors.UnsupportedCompleteness(f"{term.index} has no whole-field keys")
    if whole:
        return WordsPlan(WordsKind.WHOLE, text, term.truncation)
    if term.position is Position.FIRST_IN_FIELD:
        if term.truncation not in (Truncation.NONE, Truncation.RIGHT):
            raise errors.UnsupportedTruncation("only right truncation with first-in-field")
        return WordsPlan(WordsKind.FIRST, text, term.truncation)
    if term.structure is Structure.PHRASE and len(text.split()) > 1:
        if term.truncation not in (Truncation.NONE, Truncation.RIGHT):
            raise errors.UnsupportedTruncation("phrases truncate on the right only")
        return WordsPlan(WordsKind.PHRASE, text, term.truncation)
    return WordsPlan(WordsKind.WORDS, text, term.truncation)


def is_masked(text: str, truncation: Truncation) -> bool:
    """Whether `text` needs pattern matching (a masked term without masks is a plain term)."""
    return truncation is not Truncation.NONE and not (
        truncation is Truncation.MASKED and not any(c in text for c in "*?"))




def glob_pattern(masked: str) -> str:
    """Our masking (`*` any run, `?` one character) as an SQLite GLOB pattern (`[` taken literally)."""
    return masked.replace("[", "[[]")


def pattern(text: str, truncation: Truncation) -> str:
    """The masked form (`*` any run, `?` one character) of a left/both/masked truncated text."""
    return {Truncation.LEFT: "*" + text, Truncation.BOTH: "*" + text + "*"}.get(truncation, text)


def isn_value(term: Term) -> int:
    if term.truncation is not Truncation.NONE or not term.text.strip().isdigit():
        raise errors.MalformedTerm(f"ISN must be a number: {term.text!r}")
    return int(term.text)


def check_key_structure(spec: IndexSpec, term: Term) -> None:
    if term.structure is Structure.PHRASE and len(term.text.split()) > 1 and spec.name in ("isbn", "issn"):
        raise errors.UnsupportedStructure(f"phrase on {spec.name}")


def truncated_key(spec: IndexSpec, term: Term) -> str:
    """A truncated or masked term on a key index, normalized as its keys are (no spaces)."""
    text = normalize(term.text, keep_masks=True).replace(" ", "")
    if not text.strip("*?"):
        raise errors.MalformedTerm(f"empty term for {spec.name}")
    return text


def key_forms(spec: IndexSpec, text: str) -> list[str]:
    """The keys a term on a key index equals: an ISBN in both its forms, normalized numbers and codes."""
    index = spec.name
    if index == "isbn":
        forms = normalize_isbn(text)
    elif index == "issn":
        forms = [normalize_issn(text)]
    elif index == "lccn":
        forms = [normalize_lccn(text)]
    elif index == "oclc":
        forms = [normalize_oclc(text)]
    elif index == "lc_call_number":
        forms = [normalize(text)]
    elif index == "identifier":
        forms = normalize_isbn(text) + [normalize_issn(text), normalize_lccn(text), normalize_oclc(text),
                                        normalize_number(text)]
    else:
        forms = [normalize_number(text)]
    forms = list(dict.fromkeys(f for f in forms if f))
    if not forms:
        raise errors.MalformedTerm(f"{text!r} is not a valid {spec.label}")
    return forms


@dataclass(frozen=True)
class YearRange:
    """Years as four-digit keys: `low` … `high` (None: open), or everything but that range."""

    low: str | None
    high: str | None
    low_exclusive: bool = False
    high_exclusive: bool = False
    negated: bool = False


def year_range(term: Term) -> YearRange:
    if BY_NAME[term.index].kind is not IndexKind.YEAR:
        raise ValueError(f"{term.index} is not a year index")
    if term.truncation is not Truncation.NONE:
        raise errors.UnsupportedTruncation("no truncation on years")
    text = term.text.strip()
    low, separator, high = text.partition("-")
    if separator and low.strip().isdigit() and high.strip().isdigit():
        if term.relation is not Relation.EQ:
            raise errors.UnsupportedRelation("a year range takes no relation")
        return YearRange(_year(low), _year(high))
    if not text.isdigit() or len(text) > 4:
        raise errors.MalformedTerm(f"not a year: {term.text!r}")
    year = _year(text)
    return {
        Relation.EQ: YearRange(year, year), Relation.RELEVANCE: YearRange(year, year),
        Relation.NE: YearRange(year, year, negated=True),
        Relation.LT: YearRange(None, year, high_exclusive=True), Relation.LE: YearRange(None, year),
        Relation.GE: YearRange(year, None), Relation.GT: YearRange(year, None, low_exclusive=True),
    }[term.relation]


def _year(text: str) -> str:
    return f"{int(text):04d}"


NEAR_WORDS = 100
"""The farthest two words of one field occurrence may be apart and count as near. A longer word
distance is taken as this; unit=element means within this many words of one occurrence. Whoosh
leaves 100 positions between two occurrences (`FIELD_GAP`: the nearest words of two occurrences
are 101 apart), postings 4096, so within this many words neither engine reaches into the next
occurrence and both find the same."""


@dataclass(frozen=True)
class ProximityWindow:
    """Two terms of one word index whose spans lie `low` … `high` words apart.

    The distance of two spans (a term of several words is a span of adjacent words) is counted
    from the end of the earlier one to the start of the later one: adjacent words are 1 apart,
    overlapping spans 0, as Whoosh's span queries count. `ordered`: the left span starts first
    (or both start at the same word).
    """

    spec: IndexSpec
    left: Term
    right: Term
    low: int
    high: int
    ordered: bool


def untruncated(*terms: Term) -> None:
    """Raise TruncationInProximity for a truncated or masked proximity operand."""
    for term in terms:
        if term.truncation is not Truncation.NONE:
            raise errors.TruncationInProximity(f"{term.text!r} is truncated or masked")


def proximity_window(node: Prox) -> ProximityWindow:
    """What a proximity node asks for, the same for every engine.

    Relations <, <= and = (distance 0 counts as 1 for words: `<= 0` is adjacent, `= 0` adjacent
    or overlapping) between two terms of one word index, each compared for equality; unit word
    (at most NEAR_WORDS) or element (distance 0 only: the same occurrence of the field, within
    NEAR_WORDS words). Anything else is an UnsupportedProximity saying what (relation, distance
    or operands), or an UnsupportedRelation for an operand.
    """
    if node.relation not in (Relation.LE, Relation.LT, Relation.EQ):
        raise errors.ProximityRelationUnsupported(f"proximity relation {node.relation.value} (only <, <= and =)")
    left, right = node.left, node.right
    if not (isinstance(left, Term) and isinstance(right, Term)):
        raise errors.ProximityOperandsUnsupported("proximity needs a search term on each side")
    untruncated(left, right)
    spec = BY_NAME.get(left.index)
    if left.index != right.index or spec is None or spec.kind is not IndexKind.WORDS:
        raise errors.ProximityOperandsUnsupported("proximity needs two terms of the same word index")
    for term in (left, right):
        check_relation(term)   # words compare for equality, inside proximity as outside
        if term.relation is Relation.NE:
            raise errors.ProximityOperandsUnsupported("proximity needs words a field has, not <> (those it has not)")
    if any(plan_words(spec, term).kind in (WordsKind.WHOLE, WordsKind.FIRST) for term in (left, right)):
        raise errors.ProximityOperandsUnsupported("proximity needs words, not a whole field or the first words of one")
    distance = node.distance - 1 if node.relation is Relation.LT else node.distance
    if distance < 0:
        raise errors.ProximityDistanceUnsupported("distance below zero")
    if node.unit is ProximityUnit.FIELD:
        if distance != 0:
            raise errors.ProximityDistanceUnsupported(
                f"unit=element takes distance 0 (the same occurrence of the field), not {distance}")
        return ProximityWindow(spec, left, right, 0, NEAR_WORDS, node.ordered)
    if node.relation is Relation.EQ and distance > NEAR_WORDS:
        raise errors.ProximityDistanceUnsupported(f"a distance of exactly {distance} words (at most {NEAR_WORDS})")
    low = distance if node.relation is Relation.EQ else 1
    return ProximityWindow(spec, left, right, low, min(max(distance, 1), NEAR_WORDS), node.ordered)
