"""The catalog as the protocol layer sees it: databases, search, result sets, records, scan.

This is the one narrow interface between `zserver` and the catalog. The search engine behind it
(Whoosh or posting arrays, see `index.engines`) is invisible to the protocol layer. Errors are
`index.errors`.

One search is one call, `Catalog.search`: the query tree in, a result set out. It decides
relevance ranking, applies the sort keys, resolves result-set references and limits to the
database's view, so that Z39.50, SRU and the web page do each of these the same way.

The authority file is its own database, `authorities`: authority records are titles of material
type `authority` in the same index, so that database searches only them and every other
database leaves them out. A scan marks a term that is a see-from form of an established heading
(`SeeReference.see`) or a see-also-from form of one (`SeeReference.also`), and counts titles
only, not the authority records.

Restricted databases (`[databases] restricted`) are for signed-in users (a Z39.50 Init login,
HTTP Basic for SRU and the web page). For a client who is not signed in:

- a restricted database cannot be searched or scanned, nor its records read (explain stays
  open); with the union database restricted that is the whole catalog;
- the holdings of a restricted library are left out of every record shown, in every database
  (`Catalog.shown(titles, signed_in=False)`): its holdings, and in the MARC record its 852
  fields and the 035 maintenance keys tagged `$5 <library>`; other fields a restricted
  library contributed to a merged record stay (they describe the title, not the copy);
- the web page's library limit leaves restricted libraries out, with their counts, and
  refuses to limit to one;
- a query may not name a restricted library in a library term (Bib-1 Use 56, CQL
  `unikat.library`), nor one that could match it (truncated, masked, a range):
  `LibraryRestricted` (Bib-1 236, SRU 3), since its hit count would count the library's titles;
  a scan of the library index leaves the restricted libraries out.

OAI-PMH, unAPI, SRU's json/isohold/opac schemas and facets apply the same rules (`shown`,
`hidden_libraries`); `unikat export` is a staff command on the home and exports everything.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from index import editions, engines, errors
from index.consortia import Consortia
from index.engines.base import RELEVANCE, Brief, ScanEntry, SortField, SortKey
from index.engines.facets import FacetCounts, Widening
from index.engines.missing import MissingIndex
from index.external.catalog import ExternalCatalog
from index.home import Home
from index.kept import KeptAnswers
from index.query import And, AndNot, Completeness, Node, Or, Prox, Relation, ResultSetRef, Structure, Term, Truncation
from index.records.formats import parse
from index.records.model import Holding
from index.searchkeys.extract import headings, headings_wanted
from index.searchkeys.normalize import normalize
from index.searchkeys.spec import BY_NAME, IndexKind
from index.store.catalog import CatalogStore
from index.title_numbers import current as live_isn
from index.title_numbers import follow as follow_retired_isns

DEFAULT_ALIAS = "default"
AUTHORITY_DATABASE = "authorities"
LIBRARY_INDEX = "library"   # the logical index of holding libraries' codes
REFRESH_SECONDS = 1.0
_HEADINGS_KEPT = 20_000   # headings of scan terms and facet values remembered per catalog
_VIEW_WIDENING = 4   # a view's scan asks the engine for this many times the terms, each round
_VIEW_WIDEST = 256    # at most (a view lacking most terms: the authority file in a large catalog)
_AUTHORITY = Term("material_type", "authority", structure=Structure.KEY)
# Heading kinds (index.authority.headings) whose see-from forms a scan of each index shows.
_NAME_KINDS = {"personal_name": ("personal", "personal-title"), "corporate_name": ("corporate", "corporate-title"),
               "conference_name": ("meeting", "meeting-title")}
_SEE_KINDS = {**_NAME_KINDS, "author": sum(_NAME_KINDS.values(), ()),
              "subject": sum(_NAME_KINDS.values(), ("title", "topical", "geographic", "genre")),
              "title": ("title", "personal-title", "corporate-title", "meeting-title")}


@dataclass(frozen=True)
class Database:
    name: str
    library: str | None      # None: the whole union catalog
    restricted: bool = False
    authorities: bool = False  # the authority file, not titles
    external: bool = False     # the external-data catalog (index.external), not the union catalog


@dataclass(frozen=True)
class SeeReference(ScanEntry):
    """A scan term the authority file refers from: `see` lists the established headings to use
    instead (the term is their see-from form, 4XX), `also` related headings to look at too (the
    term is their see-also-from form, 5XX)."""

    see: tuple[str, ...] = ()
    also: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        shown = self.heading or self.term
        if self.see:
            shown += f" see {'; '.join(self.see)}"
        if self.also:
            shown += f" see also {'; '.join(self.also)}"
        return shown


@dataclass(frozen=True)
class TitleRecord:
    isn: int
    marc: bytes              # ISO 2709, UTF-8
    holdings: tuple[Holding, ...]


class ResultSet:
    """An ordered set of titles found by one search (a snapshot of the index)."""

    def __init__(self, hits, engine, database: Database) -> None:
        self.hits = hits           # the engine's own result (index.engines.base.Hits)
        self._engine = engine
        self.database = database

    @property
    def size(self) -> int:
        return len(self.hits)

    def isns(self, start: int = 0, count: int | None = None) -> list[int]:
        """ISNs of the titles at 0-based positions start … start+count-1."""
        return self._engine.isns(self.hits, start, self.size if count is None else count)

    def briefs(self, start: int = 0, count: int = 10) -> list[Brief]:
        return self._engine.briefs(self.hits, start, count)

    def facet_counts(self, facet: str, widen: Widening | None = None) -> FacetCounts:
        """The engine's counts of this set's titles per value of `facet` (`index.resultfacets`);
        asked of the set, since the external database's sets come from another engine."""
        return self._engine.facet_counts(self.hits, facet, widen)


ResultSetLookup = Callable[[str], ResultSet | None]
"""The result sets a query may refer to by name: the set, or None when there is none by that
name (a Z39.50 association's `dict.get`; SRU's cache that can also run a search again)."""


class Catalog:
    """An open catalog home: the store for records, the engine for searching. Opening never
    builds: without an index of the current layout it raises `IndexNotBuilt`."""

    def __init__(self, home: Home, *, rebuilding: bool = False) -> None:
        """`rebuilding`: an index missing is being built beside the catalog (`unikat serve`):
        open without it, answer `IndexUnavailable` for what needs it, take it up when built."""
        self.home = home
        self.config = home.config()
        ready = engines.index_ready(home, self.config)
        if not ready and not rebuilding:   # no index yet, or one of an older layout
            raise errors.IndexNotBuilt(f"no index of the current layout in {engines.index_dir(home, self.config)}:"
                                       " run 'unikat index'")
        self.store = CatalogStore.of(home)
        self.engine = engines.open_engine(home, self.config) if ready else MissingIndex()
        self._external = ExternalCatalog.beside(home, self.config)   # harvested records, kept apart (index.external)
        self._store_version = self.store.data_version()
        self._headings: dict[tuple[str, str], str] = {}   # (index, key) -> heading, until the store changes
        self._read_databases()
        self._checked = time.monotonic()
        self.generation = 0   # counts the changes `refresh` took up: what answers kept until a change go by
        # search results given again until the catalog changes ([index] kept_searches, index.kept)
        self.kept_searches: KeptAnswers[ResultSet] = KeptAnswers(self.config.index.kept_searches,
                                                                  self.config.index.kept_hits)
        self.work_seconds = 0.0   # seconds of engine work so far (`_index_at_hand`)
        # code -> name of each configured library, for holdings shown to a client
        self.library_names: Mapping[str, str] = MappingProxyType(
            {code: library.name for code, library in self.config.libraries.items()})
        # consortium sigels count for their members (index.consortia); virtual libraries and
        # consortia are named like libraries, a consortium with its members
        self.consortia = Consortia(self.config.consortia)
        names = {**self.library_names, **{code: v.name for code, v in self.config.virtual.items()}}
        self.library_names = MappingProxyType(
            {**names, **{code: self.consortia.label(code, names) for code in self.config.consortia}})

    def close(self) -> None:
        self.engine.close()
        self.store.close()
        if self._external is not None:
            self._external.close()

    # -- databases ----------------------------------------------------------------------------
    def _read_databases(self) -> None:
        """The databases as the store has them now (each holding library is one too); read
        when opened and when a load has committed, not per request."""
        self._authorities = self.store.has_authorities()
        restricted = {name.lower() for name in self.config.restricted}
        union = Database(self.config.database, None, self.config.database.lower() in restricted)
        codes = dict.fromkeys([*self.config.libraries, *self.config.virtual,   # configured first
                               *self.store.holding_libraries()])
        libraries = [Database(code, code, code.lower() in restricted) for code in codes]
        authorities = Database(AUTHORITY_DATABASE, None, AUTHORITY_DATABASE in restricted, authorities=True)
        external = Database(self.config.external.database, None, self.config.external.database.lower() in restricted,
                            external=True)
        self._databases = (union, *libraries, authorities, external)
        self._by_name = {DEFAULT_ALIAS: union}
        self._by_name.update((database.name.lower(), database) for database in self._databases)
        self._restricted_libraries = frozenset(database.library for database in self._databases
                                               if database.restricted and database.library is not None)

    def view_libraries(self, database: Database) -> frozenset[str] | None:
        """The codes whose holdings a library's database shows as its own (its consortia's too);
        None for the union database (every library's)."""
        return None if database.library is None else self.consortia.codes_for(database.library)

    def databases(self) -> list[Database]:
        return list(self._databases)

    def database(self, name: str) -> Database:
        found = self._by_name.get(name.lower())
        if found is None:
            raise errors.UnknownDatabase(name)
        return found

    # -- searching ----------------------------------------------------------------------------
    def refresh(self, now: float | None = None) -> None:
        """Take up index and store changes, at most once per REFRESH_SECONDS; `generation`
        goes up by one when there were any."""
        now = time.monotonic() if now is None else now
        if now - self._checked >= REFRESH_SECONDS:
            self._checked = now
            changed = False
            if self.index_missing and engines.index_ready(self.home, self.config):   # the rebuild is done
                self.engine = engines.open_engine(self.home, self.config)
                changed = True
            changed |= self.engine.refresh()
            if self._external is not None:
                changed |= self._external.refresh(now)
            version = self.store.data_version()
            if version != self._store_version:   # a load committed: holders may have changed
                self._store_version = version
                self._headings.clear()
                self._read_databases()
                changed = True
            self.generation += changed

    @property
    def index_missing(self) -> bool:
        """Whether the catalog waits for its index to be built (searches are `IndexUnavailable`)."""
        return isinstance(self.engine, MissingIndex)

    @contextmanager
    def _index_at_hand(self) -> Iterator[None]:
        """Engine work. The index removed while serving (deleted, or a rebuild under way) is still
        served from the files the engine has open, but a part it opens afresh fails: that is
        `IndexUnavailable`, not an internal error, and `refresh` takes up the index `unikat index`
        puts back."""
        # charged as `_charged` does, but in this one context manager: nesting it cost 0.6 µs a
        # call on the search path (a one-word search is about 15 µs in process)
        started = time.monotonic()
        try:
            yield
        except (OSError, sqlite3.Error) as error:
            if engines.index_ready(self.home, self.config):   # the index is there: a real fault
                raise
            # (no path: the detail goes to clients)
            raise errors.IndexUnavailable("the index is missing (deleted, or being rebuilt): run 'unikat index'"
                                          ) from error
        finally:
            self.work_seconds += time.monotonic() - started

    @contextmanager
    def _charged(self) -> Iterator[None]:
        """Work a client asked for (engine work, a scan's headings and references): its time adds
        up in `work_seconds` (a client's search time: zserver.querytime)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.work_seconds += time.monotonic() - started

    def search(self, node: Node, database: Database, *, sort: Sequence[SortKey] = (),
               result_sets: ResultSetLookup | None = None, signed_in: bool = True) -> ResultSet:
        """The titles of `database` that `node` finds, in the order of `sort`.

        Ranked by relevance when a term of `node` asks for it (`Relation.RELEVANCE`) or a sort
        key is relevance. `result_sets` looks up the sets that `ResultSetRef`s name; a node that
        is only such a reference gives that set itself (sorted: a sorted copy), and only on the
        database it was made on. Raises `ResultSetNotFound` for a name with no set (or one of
        another database), and the `CatalogError`s of the query's terms and of `sort`. A client
        not `signed_in` may not name a restricted library in a library term: `LibraryRestricted`.
        """
        hidden = self.hidden_libraries(signed_in)
        if hidden:
            _refuse_hidden_libraries(node, hidden)
        if database.external and self._external is not None:
            return self._external.search(node, database, sort=sort, result_sets=result_sets)
        lookup = result_sets if result_sets is not None else _no_result_sets
        if isinstance(node, ResultSetRef):
            return self._earlier(node.name, database, lookup, sort)
        kept_as = (node, database, tuple(sort))
        if (kept := self.kept_searches.get(kept_as, self.generation)) is not None:
            return kept
        named: list[str] = []   # a search that names the client's sets is not kept

        def naming(name: str) -> ResultSet | None:
            named.append(name)
            return lookup(name)

        by_relevance = any(key.field is SortField.RELEVANCE for key in sort)
        result = self._select(node, database, naming, ranked=by_relevance or _asks_relevance(node))
        # Ranked hits are already best first: sorting them by relevance alone would only cost
        # a second scoring pass (the web page's default order).
        if sort and list(sort) != [RELEVANCE]:
            result = self.sort(result, sort)
        if not named:   # a kept search weighs its hits and its query's characters (a term may be 4 MB)
            self.kept_searches.put(kept_as, self.generation, result, result.size + sum(len(term.text) for term in _terms(node)))
        return result

    def _select(self, node: Node, database: Database, lookup: ResultSetLookup, *, ranked: bool) -> ResultSet:
        """The engine's search of `node` within the view of `database`."""

        def resolve(name: str):
            found = lookup(name)
            if found is None:
                raise errors.ResultSetNotFound(name)
            return found.hits

        if editions.has_editions_term(node):   # `editions`: what `any` finds and its other editions
            node = editions.expand(node, self.store, self._find_all)
        if database.authorities:
            node = And(node, _AUTHORITY)
        elif database.library is None and self._authorities:
            node = AndNot(node, _AUTHORITY)
        if database.library is not None:
            node = And(node, Term(LIBRARY_INDEX, database.library, structure=Structure.KEY))
        node = self.consortia.expand(node)   # a member's library terms find its consortia's titles too
        with self._index_at_hand():
            hits = self.engine.search(follow_retired_isns(node, self.store), resolve, ranked=ranked)
        return ResultSet(hits, self.engine, database)

    def _find_all(self, node: Node) -> list[int]:
        """ISNs `node` finds in the whole catalog (at most `editions.EXPAND_LIMIT`)."""
        with self._index_at_hand():
            hits = self.engine.search(node, lambda name: None, ranked=False)
            return self.engine.isns(hits, 0, editions.EXPAND_LIMIT)

    def other_editions(self, isn: int) -> list[editions.Edition]:
        """The print or online editions linked with title `isn`, both ways (`index.editions`)."""
        return editions.other_editions(self.store, isn, self._find_all)

    def _earlier(self, name: str, database: Database, lookup: ResultSetLookup, sort: Sequence[SortKey]) -> ResultSet:
        """The set a query that only names it gives: itself, or a sorted copy."""
        found = lookup(name)
        if found is None:
            raise errors.ResultSetNotFound(name)
        if found.database.name.lower() != database.name.lower():
            raise errors.ResultSetNotFound(f"{name} (another database)")
        return self.sort(found, sort) if sort else found

    def sort(self, result_set: ResultSet, keys: Sequence[SortKey]) -> ResultSet:
        """A new result set in the order of `keys`."""
        if result_set.database.external and self._external is not None:
            return self._external.sort(result_set, keys)
        with self._index_at_hand():
            hits = self.engine.sort(result_set.hits, keys)
        return ResultSet(hits, self.engine, result_set.database)

    def scan(self, index: str, start: str, *, count: int = 20, preferred_position: int = 1,
             signed_in: bool = True, database: Database | None = None) -> tuple[list[ScanEntry], int]:
        """Terms of `index` around `start` with the number of titles of `database` (the union
        catalog if None) each occurs in, and each term's heading as catalogued; a library's view
        and the authority database leave out the terms they have no title for. See-from and
        see-also-from forms of the authority file come as `SeeReference`s. A scan of the library
        index leaves out the restricted libraries for a client not `signed_in`."""
        if database is not None and database.external and self._external is not None:
            return self._external.scan(index, start, count=count, preferred_position=preferred_position)
        view = database if database is not None and (database.library or database.authorities) else None
        kinds = _SEE_KINDS.get(index) if self._authorities else None
        titles_of = view or self.databases()[0]
        wanted_before = max(preferred_position - 1, 0)
        hidden = {library_key(code) for code in self.hidden_libraries(signed_in)} if index == LIBRARY_INDEX else set()
        described: dict[str, ScanEntry] = {}   # by term: a wider round meets the narrower one's terms again

        def described_entry(entry: ScanEntry) -> ScanEntry:
            if entry.term in described:
                return described[entry.term]
            titles = entry.count
            if titles and (kinds or view):   # titles only (not authority records), or the view's
                titles = self.search(key_term(index, entry.term), titles_of).size
            heading = self.heading(index, entry.term) if titles else ""   # "" for a key no title has
            with self._charged():
                see, also = map(tuple, self.store.see_references(kinds, entry.term)) if kinds else ((), ())
            if see or also:
                described[entry.term] = SeeReference(entry.term, titles, heading, see, also)
            else:
                described[entry.term] = ScanEntry(entry.term, titles, heading)
            return described[entry.term]

        # A view drops the terms it lacks: the engine is asked for `widen` times the window around
        # the start, more each round until the view's window is full or the lexicon ends.
        widen = _VIEW_WIDENING if view is not None else 1
        while True:
            with self._index_at_hand():
                entries, position = self.engine.scan(index, start, count=count * widen,
                                                     preferred_position=wanted_before * widen + 1)
            if hidden:
                position -= sum(1 for entry in entries[:position - 1] if library_key(entry.term) in hidden)
                entries = [entry for entry in entries if library_key(entry.term) not in hidden]
            if not (kinds or view is not None or headings_wanted(index)):
                return entries, position
            before = [described_entry(entry) for entry in reversed(entries[:position - 1])]
            after = [described_entry(entry) for entry in entries[position - 1:]]
            if view is None:
                break
            # see-from forms stay: they lead to a heading the view may have
            before = [entry for entry in before if entry.count or isinstance(entry, SeeReference) and entry.see]
            after = [entry for entry in after if entry.count or isinstance(entry, SeeReference) and entry.see]
            full = len(before) >= wanted_before and len(before[:wanted_before]) + len(after) >= count
            if full or len(entries) < count * widen or widen >= _VIEW_WIDEST:
                break
            widen *= _VIEW_WIDENING
        taken = before[:wanted_before]
        return [*reversed(taken), *after][:count], len(taken) + 1

    def heading(self, index: str, key: str) -> str:
        """The whole-field `key` of `index` as catalogued (`smith clare 1964` → `Smith, Clare,
        1964-`), from the first title that has it: what scans and facets show. "" for an index
        of codes or a key no title has. Remembered until the store changes."""
        if not headings_wanted(index):
            return ""
        heading = self._headings.get((index, key))
        if heading is None:
            if len(self._headings) >= _HEADINGS_KEPT:
                self._headings.clear()
            isns = self.search(key_term(index, key), self.databases()[0]).isns(0, 1)
            with self._charged():
                display = self.store.display(isns[0]) if isns else None
                heading = headings(parse(display), index).get(key, "") if display else ""
            self._headings[(index, key)] = heading
        return heading

    def hidden_libraries(self, signed_in: bool) -> frozenset[str]:
        """Codes of the libraries whose holdings a client does not see: the restricted ones,
        unless `signed_in` (see the module docstring)."""
        return frozenset() if signed_in else self._restricted_libraries

    def records(self, isns: Sequence[int], *, with_holdings: bool = False) -> list[TitleRecord | None]:
        """The display records of `isns` in order; None where a title was deleted since the search.
        Everything is in them: pass them through `shown` before a client sees them."""
        displays = self.store.displays(isns)
        holdings = self.store.holdings_of_titles(list(displays)) if with_holdings else {}
        result = [None if isn not in displays else TitleRecord(isn, displays[isn], tuple(holdings.get(isn, ())))
                  for isn in isns]
        return result if self._external is None else self._external.fill(isns, result)

    def shown(self, titles: Sequence[TitleRecord | None], *, signed_in: bool) -> list[TitleRecord | None]:
        """`titles` as a client sees them: not `signed_in`, without the holdings of restricted
        libraries (`hidden_libraries`; see the module docstring)."""
        hidden = self.hidden_libraries(signed_in)
        if not hidden:
            return list(titles)
        return [None if title is None else
                TitleRecord(title.isn, _without_holdings_of(title.marc, hidden),
                            tuple(holding for holding in title.holdings if holding.library not in hidden))
                for title in titles]

    def record(self, isn: int, *, signed_in: bool = True) -> TitleRecord:
        """The record of `isn` with its holdings, as a client `signed_in` or not sees it."""
        found = self.records([isn], with_holdings=True)[0]
        if found is None and (live := live_isn(self.store, isn)) != isn:   # retired by a merge: its successor answers
            found = self.records([live], with_holdings=True)[0]
        found = self.shown([found], signed_in=signed_in)[0]
        if found is None:
            raise errors.RecordNotFound(str(isn))
        return found


def _without_holdings_of(marc: bytes, hidden: frozenset[str]) -> bytes:
    """`marc` without the 852 fields ($a) and 035 keys ($5) of the `hidden` libraries."""
    if not any(code.encode() in marc for code in hidden):   # cheap test before parsing
        return marc
    record = parse(marc)
    found = [field for field in record.get_fields("852", "035")
             if ((field.get("a") if field.tag == "852" else field.get("5")) or "").strip() in hidden]
    if not found:
        return marc
    for field in found:
        record.remove_field(field)
    return record.as_marc()


def key_term(index: str, term: str) -> Term:
    """A search for the titles a key of `index` stands for: a scan term, a facet value
    (`index.resultfacets.facet_term`)."""
    spec = BY_NAME[index]
    if spec.kind is IndexKind.KEY:
        return Term(index, term, structure=Structure.KEY)
    if spec.kind is IndexKind.YEAR:
        return Term(index, term, structure=Structure.YEAR)
    if not spec.exact:   # a word of a words-only index (`any`)
        return Term(index, term, structure=Structure.WORD)
    return Term(index, term, structure=Structure.PHRASE, completeness=Completeness.COMPLETE_FIELD)


def _no_result_sets(name: str) -> ResultSet | None:
    return None


def library_key(text: str) -> str:
    """A library code or library-index term as the library index keeps it (normalized, no spaces)."""
    return normalize(text).replace(" ", "")


def _terms(node: Node) -> Iterator[Term]:
    if isinstance(node, Term):
        yield node
    elif isinstance(node, And | Or | AndNot | Prox):
        yield from _terms(node.left)
        yield from _terms(node.right)


def _refuse_hidden_libraries(node: Node, hidden: frozenset[str]) -> None:
    """A library term that names a restricted library, or may (truncated, masked, a range),
    would count its titles: refused for a client not signed in."""
    keys = {library_key(code) for code in hidden}
    for term in _terms(node):
        if term.index == LIBRARY_INDEX and (term.truncation is not Truncation.NONE or term.relation is not Relation.EQ
                                            or library_key(term.text) in keys):
            raise errors.LibraryRestricted(f"{term.text}: restricted to users who are logged in")


def _asks_relevance(node: Node) -> bool:
    """Whether a term anywhere in `node` asks for relevance ranking."""
    if isinstance(node, Term):
        return node.relation is Relation.RELEVANCE
    if isinstance(node, And | Or | AndNot | Prox):
        return _asks_relevance(node.left) or _asks_relevance(node.right)
    return False
