"""What a search engine provides, and what is the same for every engine.

`Catalog` (index.search) talks to an engine only through `SearchEngine`. An engine answers the
neutral query tree (`index.query`) with its own `Hits`; the value types it hands back (`Brief`,
`ScanEntry`) and takes (`SortKey`) are defined here, once. So is the shared skeleton: the
dispatch of query nodes and terms (`Translator`), the order of a multi-key sort (`sort_order`)
and the window of a scan (`scan_window`). What a term means is decided in
`index.searchkeys.queryterms`; an engine only looks keys up its own way.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Generic, Protocol, TypeVar

from index import errors
from index.query import (
    AllRecords,
    And,
    AndNot,
    Node,
    Or,
    Prox,
    Relation,
    ResultSetRef,
    Term,
)
from index.searchkeys import queryterms
from index.searchkeys.spec import IndexKind, IndexSpec


@dataclass(frozen=True)
class Brief:
    """A title's brief entry (MELVYL's index-control data) for result lists."""

    isn: int
    title: str
    author: str
    year: int | None
    imprint: str
    material_type: str
    language: str


@dataclass(frozen=True)
class ScanEntry:
    term: str                # the normalized key: what a client searches with
    count: int
    heading: str = ""        # the key as catalogued (`Smith, Clare, 1964-`), where the catalog has one

    @property
    def display(self) -> str:
        """The term as a client shows it (a see-reference adds where to look)."""
        return self.heading or self.term


class SortField(Enum):
    TITLE = "title"
    AUTHOR = "author"
    YEAR = "year"
    RELEVANCE = "relevance"


SORT_NAMES: dict[str, SortField] = {
    **{field.value: field for field in SortField},
    "date": SortField.YEAR,
    "score": SortField.RELEVANCE, "rank": SortField.RELEVANCE,
    "creator": SortField.AUTHOR, "personal_name": SortField.AUTHOR,
    "corporate_name": SortField.AUTHOR, "conference_name": SortField.AUTHOR,
}
"""Every name a client may sort by -> its field: the field names, and the aliases of Z39.50
sortfield names and SRU sort paths (dc.date, dc.creator, the name indexes, score, rank).
Lower case; the one table of them, for every protocol."""


def sort_field(name: str) -> SortField | None:
    """The field a client's sort name stands for (`SORT_NAMES`; case and surrounding space
    ignored); None for a name that is none."""
    return SORT_NAMES.get(name.strip().lower())


@dataclass(frozen=True)
class SortKey:
    """One key of a sort. Relevance puts the best match first unless `descending` is set
    (Z39.50 and SRU name the direction of the score, not of the rank)."""

    field: SortField
    descending: bool = False

    @classmethod
    def named(cls, name: str, descending: bool = False) -> SortKey:
        """The key of a sort field's own name (no alias: `sort_field` reads those); raises
        `UnknownSortKey` for any other name."""
        try:
            return cls(SortField(name), descending)
        except ValueError:
            raise errors.UnknownSortKey(name) from None


RELEVANCE = SortKey(SortField.RELEVANCE)

Progress = Callable[[int, int], None]   # (done, total) of a long step: titles indexed, runs merged


class Hits(Protocol):
    """An engine's result: a snapshot of matching titles in their order."""

    def __len__(self) -> int: ...


H = TypeVar("H", bound=Hits)
ResolveSet = Callable[[str], H]


class SearchEngine(Protocol[H]):
    """An open index. `refresh` takes up what a load or rebuild committed since; hits taken
    before stay valid (a snapshot)."""

    def search(self, node: Node, resolve_set: ResolveSet, *, ranked: bool = False) -> H: ...
    def sort(self, hits: H, keys: Sequence[SortKey]) -> H: ...
    def scan(self, index: str, start: str, *, count: int, preferred_position: int = 1) -> tuple[list[ScanEntry], int]: ...
    def isns(self, hits: H, start: int, count: int) -> list[int]: ...
    def briefs(self, hits: H, start: int, count: int) -> list[Brief]: ...
    def refresh(self) -> bool: ...   # True when it took up a change
    def close(self) -> None: ...


# -- what one search may cost ---------------------------------------------------------------------

@dataclass(frozen=True)
class QueryLimits:
    """What one search may cost (`[index]` in unikat.toml): the index terms one truncated or
    masked word may stand for, those of all such words of a query together, and the seconds of
    work of the whole search. Zebra's `truncmax` is 10,000 terms a word; ours stays at the
    20,000 unikat always allowed."""

    truncation_terms: int = 20_000
    query_terms: int = 30_000
    seconds: float = 3.0
    term_words: int = 100          # each word of a term is looked up, and kept, on its own
    term_characters: int = 1_000   # SQLite refuses LIKE and GLOB patterns past 50,000


T = TypeVar("T")


class Budget:
    """The work one search may still do. Engines count the terms each truncated word expands to
    (`expand`) and call `check` between the steps of an evaluation (each node, each expanded
    term, every so many postings), so a hostile query is stopped within its seconds rather
    than after them. `close` ends the budget: work done later on the same hits (a relevance
    sort) is not this search's."""

    def __init__(self, limits: QueryLimits, clock: Callable[[], float] | None = None) -> None:
        self.limits = limits
        self._clock = clock or time.monotonic
        self._deadline = self._clock() + limits.seconds
        self._open = True
        self.spent = False  # the seconds are used up: the search stops
        self.terms = 0      # index terms the truncated words so far expanded to

    def exhausted(self) -> bool:
        """Whether the search has used its seconds (as SQLite's progress handler asks)."""
        if self._open and not self.spent:
            self.spent = self._clock() > self._deadline
        return self.spent

    def check(self) -> None:
        """Raise `ResourcesExhausted` once the search has used its seconds."""
        if self.exhausted():
            raise self.error()

    def error(self) -> errors.ResourcesExhausted:
        return errors.ResourcesExhausted(f"the query needs more than {self.limits.seconds:g} s of work; "
                                         "use fewer or longer truncated words")

    def expand(self, word: str, terms: Iterable[T]) -> list[T]:
        """The index terms `word` (truncated or masked) stands for, taken from `terms` until one
        too many: raises `TooManyTerms` over the limit of a word or of the whole query."""
        limit = min(self.limits.truncation_terms, self.limits.query_terms - self.terms)
        found = []
        for term in terms:
            if len(found) >= limit:
                if limit < self.limits.truncation_terms:
                    raise errors.TooManyTerms(f"the truncated words of the query match more than "
                                              f"{self.limits.query_terms} terms")
                raise errors.TooManyTerms(f"more than {self.limits.truncation_terms} terms match {word}")
            found.append(term)
            if not len(found) % 256:
                self.check()
        self.terms += len(found)
        return found

    def every(self, items: Iterable[T], step: int = 256) -> Iterator[T]:
        """`items`, checking the budget before the first and then every `step` of them."""
        for count, item in enumerate(items):
            if not count % step:
                self.check()
            yield item

    def close(self) -> None:
        self._open = False


# -- the shared skeleton -------------------------------------------------------------------------

Q = TypeVar("Q")


class Translator(ABC, Generic[Q]):
    """Turns the neutral query tree into an engine's form `Q` (a Whoosh query, an ISN array).

    The dispatch of nodes and the first decisions on a term (year, key or words; `<>` as the
    complement of `=`) are made here for every engine; the engine supplies how each is looked up.
    The engine's `budget` is checked at every node.
    """

    budget: Budget

    def translate(self, node: Node) -> Q:
        self.budget.check()
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, And):
            return self.conjunction(node)
        if isinstance(node, Or):
            return self.any_of(self.translate(node.left), self.translate(node.right))
        if isinstance(node, AndNot):
            return self.but_not(self.translate(node.left), self.translate(node.right))
        if isinstance(node, Prox):
            return self.prox(node)
        if isinstance(node, ResultSetRef):
            return self.result_set(node.name)
        if isinstance(node, AllRecords):
            return self.everything()
        raise TypeError(f"not a query node: {node!r}")

    def conjunction(self, node: And) -> Q:
        return self.all_of(self.translate(node.left), self.translate(node.right))

    def term(self, term: Term) -> Q:
        limits = self.budget.limits
        if len(term.text) > limits.term_characters:
            raise errors.TermTooLong(f"a term of more than {limits.term_characters} characters")
        if len(term.text.split()) > limits.term_words:
            raise errors.TermTooLong(f"a term of more than {limits.term_words} words")
        spec = queryterms.index_spec(term)
        if spec.kind is IndexKind.YEAR:
            return self.year(term)
        queryterms.check_relation(term)
        if term.relation is Relation.NE:
            return self.but_not(self.everything(), self.term(replace(term, relation=Relation.EQ)))
        if spec.kind is IndexKind.KEY:
            queryterms.check_key_structure(spec, term)
            return self.key(spec, term)
        return self.words(spec, term, queryterms.plan_words(spec, term))

    @abstractmethod
    def all_of(self, left: Q, right: Q) -> Q: ...

    @abstractmethod
    def any_of(self, left: Q, right: Q) -> Q: ...

    @abstractmethod
    def but_not(self, left: Q, right: Q) -> Q: ...

    @abstractmethod
    def everything(self) -> Q: ...

    @abstractmethod
    def result_set(self, name: str) -> Q: ...

    @abstractmethod
    def year(self, term: Term) -> Q: ...

    @abstractmethod
    def key(self, spec: IndexSpec, term: Term) -> Q: ...

    @abstractmethod
    def words(self, spec: IndexSpec, term: Term, plan: queryterms.WordsPlan) -> Q: ...

    @abstractmethod
    def prox(self, node: Prox) -> Q: ...


Column = Callable[[int], object]   # the sort value of the item at a position of the hits


def sort_order(count: int, keys: Sequence[SortKey], column: Callable[[SortField], Column]) -> list[int]:
    """The positions 0 … count-1 of some hits in the order of `keys` (stable: equal values keep
    their order). `column(field)` gives each position's value; for relevance, its score."""
    order = list(range(count))
    for key in reversed(keys):
        values = column(key.field)
        best_first = key.field is SortField.RELEVANCE and not key.descending
        order.sort(key=values, reverse=key.descending or best_first)
    return order


def scan_window(before: Sequence[tuple[str, int]], after: Sequence[tuple[str, int]], count: int,
                preferred_position: int) -> tuple[list[ScanEntry], int]:
    """A scan's entries from the terms just before the start term (nearest first) and those from
    it on; returns them and the 1-based position of the start term in them."""
    wanted_before = max(preferred_position - 1, 0)
    taken = list(before[:wanted_before])
    entries = [ScanEntry(term, hits) for term, hits in [*reversed(taken), *after]]
    return entries[:count], len(taken) + 1
