"""The catalog store in SQLite (WAL mode): titles, member records, holdings, loads, rejects.

The store is the truth; everything else can be rebuilt from it. It holds records as ISO 2709
bytes (UTF-8) and knows no file formats and no search engine. Each change of a title also
marks it `pending` in the same transaction, so the index can always catch up after a crash;
search keys a load already worked out wait beside the marks (`offer_keys`), opaque bytes here.

For consolidation it keeps each member record's short form (`profile`, JSON) and blocking keys
(`match_keys`), and moves member records between titles; what matches what is decided in
`index.consolidation`, never here. A store made by an older version gets the new columns on open.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from index.records.model import Holding
from index.store import editions, handover, loadlog, rule_holdings
from index.store.connection import Connection, is_postgresql

if TYPE_CHECKING:
    from index.home import Home


@dataclass(frozen=True)
class StoredRecord:
    id: int
    isn: int
    library: str
    source_system: str
    source_id: str
    marc: bytes
    version: str
    quality: int


@dataclass(frozen=True)
class MatchCandidate:
    """A member record as matching sees it: its id, its title and its short form (JSON or None)."""

    id: int
    isn: int
    profile: str | None


_MATCHING_CACHE = -65536   # 64 MiB of SQLite pages: matching probes indexes all over a big store
_READING_CACHE = -8192     # 8 MiB: one pass over every title in order
# WAL pages a load lets gather before SQLite copies them into the store (its default: 1,000, 4 MB)
_LOADING_CHECKPOINT = 10_000
_INDEX_LOCK = 0x756E696B6178   # PostgreSQL advisory lock of index phases (the writers' is index.store.postgresql's)
_HOLDING_COLUMNS = "library, location, call_number, url, note, copies, lendable, source_id"
_HOLDING_SELECT = ", ".join("h." + column.strip() for column in _HOLDING_COLUMNS.split(","))
# Columns added after the first release: (table, column, definition).
_MIGRATIONS = (("records", "profile", "TEXT"), ("loads", "merged", "INTEGER NOT NULL DEFAULT 0"),
               ("cluster_override_members", "isn", "INTEGER"))


def _holding(row: sqlite3.Row | tuple) -> Holding:
    library, location, call_number, url, note, copies, lendable, source_id = row
    return Holding(library, location, call_number, url, note, copies, bool(lendable), source_id)


class CatalogStore:
    """The store in SQLite (`path`, the default) or in PostgreSQL (`dsn`, a libpq connection
    string: `index.store.postgresql`; `path` then only names the home's place for side files)."""

    def __init__(self, path: Path, dsn: str = "") -> None:
        self.path = path
        self.db: Connection
        if dsn:
            from index.store.postgresql import PostgresConnection

            self.db = PostgresConnection(dsn)
        else:
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute(f"PRAGMA cache_size = {_MATCHING_CACHE}")
            self.db.execute("PRAGMA foreign_keys = ON")
        self._create_schema()
        self.db.executescript(resources.files("index.store").joinpath("clusters.sql").read_text())  # corrections.py
        if not dsn:
            self._migrate()   # a PostgreSQL store is never older than its columns
        rule_holdings.create_tables(self.db)   # holdings of virtual libraries (index.rules)
        editions.create_tables(self.db)        # links between print and online editions (index.editions)
        loadlog.ensure(self.db)                # load profiles, and deleted member records by any path
        self.handover = handover.attach(self.db, path)   # offered search keys wait in a side file

    @classmethod
    def of(cls, home: Home) -> CatalogStore:
        """The store of a catalog home, where its `[store]` says."""
        return cls(home.store_path, home.config().store.postgresql)

    def reader(self) -> Connection:
        """A second connection to the store, to read beside a cursor still open on this one."""
        if self.backend == "postgresql":
            from index.store.postgresql import PostgresConnection

            return PostgresConnection(self.db.dsn)
        return sqlite3.connect(str(self.path))

    @contextmanager
    def index_turn(self) -> Iterator[None]:
        """This host's turn at the index of a PostgreSQL store: one host at a time takes the
        published index, updates it and publishes it (`index.loading.indexing`); a lock of its
        own, so loads go on meanwhile. Nothing to wait for on SQLite (one machine)."""
        if self.backend != "postgresql":
            yield
            return
        self.db.execute("SELECT pg_advisory_lock(?)", (_INDEX_LOCK,))
        try:
            yield
        finally:
            self.db.execute("SELECT pg_advisory_unlock(?)", (_INDEX_LOCK,))

    @contextmanager
    def small_cache(self) -> Iterator[None]:
        """For one pass over every title in order (the index build): the 64 MiB page cache that
        matching wants buys a sequential read nothing and would only add to the peak."""
        if self.backend != "sqlite":   # PostgreSQL's cache is the server's
            yield
            return
        self.db.execute(f"PRAGMA cache_size = {_READING_CACHE}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA cache_size = {_MATCHING_CACHE}")

    @contextmanager
    def fewer_checkpoints(self) -> Iterator[None]:
        """For a load's run of write transactions: SQLite copies the write-ahead log into the store
        (and syncs both) every _LOADING_CHECKPOINT pages instead of every 1,000. A batch of 1,000
        records writes more than 1,000 pages, so each commit made a checkpoint, copying the index
        pages every batch touches again each time (9% of the main process's loading, at 30,000 LC
        records), and its syncs made the load's time depend on the disk's other work. The log
        may grow to 40 MB meanwhile."""
        if self.backend != "sqlite":   # PostgreSQL checkpoints on its own
            yield
            return
        default = self.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        self.db.execute(f"PRAGMA wal_autocheckpoint = {_LOADING_CHECKPOINT}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA wal_autocheckpoint = {default}")

    @contextmanager
    def headings_indexed_at_end(self, records: int) -> Iterator[None]:
        """For a load of at least `records` records, as many as the store has titles or more (a
        first load, say): the index of the titles' headings by key is dropped while it runs and
        built once, sorted, at its end. Kept up heading by heading it costs a random page write
        each, and half the main process's time at 100,000 LC records. Only authority records
        look titles up by heading: in such a load they read the table (slower, never wrong). A
        load ended by a crash leaves the index out: the store's next opening builds it (the
        schema creates what is missing). SQLite only: on PostgreSQL, hosts load side by side."""
        if self.backend != "sqlite" or records < max(1, self.count_titles()):
            yield
            return
        self.db.execute("DROP INDEX IF EXISTS title_headings_key")
        try:
            yield
        finally:
            self._create_schema()   # what is missing: the headings' index

    def _create_schema(self) -> None:
        """The store's tables and indexes, those missing created (schema.sql says IF NOT EXISTS)."""
        self.db.executescript(resources.files("index.store").joinpath("schema.sql").read_text())

    @property
    def backend(self) -> str:
        return "postgresql" if is_postgresql(self.db) else "sqlite"

    @property
    def dsn(self) -> str:
        """The PostgreSQL server's DSN, "" for a SQLite store."""
        return self.db.dsn if is_postgresql(self.db) else ""

    def _migrate(self) -> None:
        for table, column, definition in _MIGRATIONS:
            columns = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: begun at once (`BEGIN IMMEDIATE`, so a second writer waits here,
        not half-way), committed when the block ends, rolled back if it raises (any exception,
        KeyboardInterrupt too: what the block wrote is lost, what earlier blocks committed stays).
        Every change made in the block, `pending` marks included, commits or vanishes together."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:   # SQLite may have rolled back already (a full disk, say)
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- member records ---------------------------------------------------------------------
    def find_record(self, library: str, source_system: str, source_id: str) -> StoredRecord | None:
        row = self.db.execute(
            "SELECT id, isn, library, source_system, source_id, marc, version, quality FROM records"
            " WHERE library = ? AND source_system = ? AND source_id = ?",
            (library, source_system, source_id),
        ).fetchone()
        return StoredRecord(*row) if row else None

    def record_marc(self, record_id: int) -> bytes:
        """The member record as stored (ISO 2709, UTF-8)."""
        return self.db.execute("SELECT marc FROM records WHERE id = ?", (record_id,)).fetchone()[0]

    def records_of_title(self, isn: int) -> list[StoredRecord]:
        rows = self.db.execute(
            "SELECT id, isn, library, source_system, source_id, marc, version, quality FROM records"
            " WHERE isn = ? ORDER BY id", (isn,))
        return [StoredRecord(*row) for row in rows]

    # -- consolidation ------------------------------------------------------------------------
    def set_match_data(self, record_id: int, profile: str, keys: Iterable[str], *, new: bool = False) -> None:
        """Store a member record's short form and replace its blocking keys (`new`: it has none yet)."""
        self.db.execute("UPDATE records SET profile = ? WHERE id = ?", (profile, record_id))
        if not new:
            self.db.execute("DELETE FROM match_keys WHERE record_id = ?", (record_id,))
        self.db.executemany("INSERT INTO match_keys (key, record_id) VALUES (?, ?)", [(k, record_id) for k in keys])

    def candidates(self, keys: Iterable[str]) -> list[MatchCandidate]:
        """Member records filed under any of `keys`, each once, in id order."""
        keys = list(dict.fromkeys(keys))
        found: dict[int, MatchCandidate] = {}
        for chunk in _chunked(keys):
            rows = self.db.execute(
                f"SELECT DISTINCT r.id, r.isn, r.profile FROM match_keys k JOIN records r ON r.id = k.record_id"
                f" WHERE k.key IN ({_marks(chunk)})", chunk)
            for row in rows:
                found[row[0]] = MatchCandidate(*row)
        return [found[i] for i in sorted(found)]

    def match_profiles(self, isn: int) -> list[MatchCandidate]:
        """The members of one title with their short forms."""
        rows = self.db.execute("SELECT id, isn, profile FROM records WHERE isn = ? ORDER BY id", (isn,))
        return [MatchCandidate(*row) for row in rows]

    def all_match_records(self) -> Iterator[tuple[int, int, bytes]]:
        """(record id, ISN, MARC) of every member record, in id order."""
        yield from self.db.execute("SELECT id, isn, marc FROM records ORDER BY id").fetchall()

    def title_of_record(self, record_id: int) -> int | None:
        row = self.db.execute("SELECT isn FROM records WHERE id = ?", (record_id,)).fetchone()
        return row[0] if row else None

    def move_record(self, record_id: int, isn: int) -> None:
        """Attach a member record (and so its holdings) to another title."""
        old = self.title_of_record(record_id)
        self.db.execute("UPDATE records SET isn = ? WHERE id = ?", (isn, record_id))
        if old is not None and old != isn:
            self.mark_pending(old)
        self.mark_pending(isn)

    def remove_title(self, isn: int) -> None:
        """Delete a title that no member record points to any more."""
        if self.db.execute("SELECT 1 FROM records WHERE isn = ? LIMIT 1", (isn,)).fetchone() is not None:
            raise ValueError(f"title {isn} still has member records")
        self._drop_title(isn)

    def _drop_title(self, isn: int) -> None:
        if self.db.execute("DELETE FROM titles WHERE isn = ?", (isn,)).rowcount:
            self.db.execute("INSERT INTO deleted_titles (isn) VALUES (?)"
                            " ON CONFLICT (isn) DO UPDATE SET deleted = excluded.deleted", (isn,))
        self.db.execute("DELETE FROM title_headings WHERE isn = ?", (isn,))
        self._forget_authority(isn)
        self.db.execute("INSERT INTO pending (isn, deleted) VALUES (?, 1)"
                        " ON CONFLICT (isn) DO UPDATE SET deleted = 1", (isn,))

    def master(self, isn: int) -> int | None:
        """The id of the member record title `isn` shows (None: no such title, or none chosen yet)."""
        row = self.db.execute("SELECT master FROM titles WHERE isn = ?", (isn,)).fetchone()
        return row[0] if row else None

    def bibtype(self, isn: int) -> str:
        row = self.db.execute("SELECT bibtype FROM titles WHERE isn = ?", (isn,)).fetchone()
        return row[0] if row else ""

    def cluster_counts(self) -> dict[str, int]:
        """titles, clusters (titles with two or more members), records in clusters, records merged
        (members beyond the first of each title), largest cluster."""
        rows = self.db.execute("SELECT count(*) FROM records r JOIN titles t ON t.isn = r.isn"
                               " WHERE t.bibtype NOT LIKE 'z%' GROUP BY r.isn").fetchall()
        sizes = [n for (n,) in rows]
        clustered = [n for n in sizes if n > 1]
        return {"titles": len(sizes), "clusters": len(clustered), "records_in_clusters": sum(clustered),
                "records_merged": sum(n - 1 for n in clustered), "largest_cluster": max(sizes, default=0)}

    def clusters(self, isn: int | None = None, *, all_titles: bool = False) -> Iterator[tuple[int, list[StoredRecord]]]:
        """(ISN, members) of every bibliographic title with two or more members (or of every
        bibliographic title, or of title `isn`)."""
        if isn is not None:
            yield isn, self.records_of_title(isn)
            return
        having = "" if all_titles else " HAVING count(*) > 1"
        isns = [row[0] for row in self.db.execute(
            "SELECT r.isn FROM records r JOIN titles t ON t.isn = r.isn WHERE t.bibtype NOT LIKE 'z%'"
            f" GROUP BY r.isn{having} ORDER BY r.isn")]
        for chunk in _chunked(isns):
            by_isn: dict[int, list[StoredRecord]] = {i: [] for i in chunk}
            rows = self.db.execute(
                "SELECT id, isn, library, source_system, source_id, marc, version, quality FROM records"
                f" WHERE isn IN ({_marks(chunk)}) ORDER BY id", chunk)
            for row in rows:
                by_isn[row[1]].append(StoredRecord(*row))
            yield from by_isn.items()

    # -- authority file -------------------------------------------------------------------------
    def set_authority(self, isn: int, forms: Iterable[tuple[str, str, str, str]], ids: Iterable[str]) -> None:
        """Replace the headings (form, kind, key, heading) and identifiers of authority title `isn`."""
        self._forget_authority(isn)
        self.db.executemany("INSERT INTO authority_headings (isn, form, kind, key, heading) VALUES (?, ?, ?, ?, ?)",
                            [(isn, *form) for form in forms])
        self.db.executemany("INSERT INTO authority_ids (id, isn) VALUES (?, ?)", [(i, isn) for i in ids])

    def _forget_authority(self, isn: int) -> None:
        self.db.execute("DELETE FROM authority_headings WHERE isn = ?", (isn,))
        self.db.execute("DELETE FROM authority_ids WHERE isn = ?", (isn,))

    def authority_headings(self, isn: int) -> list[tuple[str, str, str, str]]:
        """(form, kind, key, heading) of one authority record, established form first."""
        return self.db.execute("SELECT form, kind, key, heading FROM authority_headings WHERE isn = ?"
                               " ORDER BY form != 'a', rowid", (isn,)).fetchall()

    def authorities_with_heading(self, kind: str, key: str, forms: str = "ax") -> list[int]:
        """ISNs of the authority records having heading (kind, key) in one of `forms`."""
        marks = ",".join("?" * len(forms))
        rows = self.db.execute(f"SELECT DISTINCT isn FROM authority_headings WHERE kind = ? AND key = ?"
                               f" AND form IN ({marks}) ORDER BY isn", (kind, key, *forms))
        return [isn for (isn,) in rows]

    def authorities_with_id(self, ids: Iterable[str]) -> list[int]:
        ids = list(ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return [isn for (isn,) in self.db.execute(f"SELECT DISTINCT isn FROM authority_ids WHERE id IN ({marks})"
                                                  " ORDER BY isn", ids)]

    def has_authorities(self) -> bool:
        return self.db.execute("SELECT 1 FROM authority_headings LIMIT 1").fetchone() is not None

    def see_references(self, kinds: Iterable[str], key: str) -> tuple[list[str], list[str]]:
        """Established headings (as catalogued) of the authority records of `kinds` that trace
        `key`: (those it is a see-from form of, 4XX: see the heading instead; those it is a
        see-also-from form of, 5XX: see also the heading)."""
        kinds = list(kinds)
        marks = ",".join("?" * len(kinds))
        rows = self.db.execute(
            "SELECT DISTINCT x.form, a.heading FROM authority_headings x JOIN authority_headings a"
            f" ON a.isn = x.isn AND a.form = 'a' WHERE x.form IN ('x', 'r') AND x.key = ? AND x.kind IN ({marks})"
            " ORDER BY a.heading", (key, *kinds))
        see: list[str] = []
        also: list[str] = []
        for form, heading in rows:
            (see if form == "x" else also).append(heading)
        return see, also

    def set_title_headings(self, isn: int, headings: Iterable[tuple[str, str]], *, new: bool = False) -> None:
        """Replace the (kind, key) headings bibliographic title `isn` uses (`new`: it has none yet)."""
        if not new:
            self.db.execute("DELETE FROM title_headings WHERE isn = ?", (isn,))
        self.db.executemany("INSERT INTO title_headings (isn, kind, key) VALUES (?, ?, ?)",
                            [(isn, kind, key) for kind, key in dict.fromkeys(headings)])

    def titles_with_headings(self, headings: Iterable[tuple[str, str]]) -> set[int]:
        """Bibliographic titles using any of the (kind, key) headings."""
        found: set[int] = set()
        for kind, key in set(headings):
            found.update(isn for (isn,) in self.db.execute(
                "SELECT isn FROM title_headings WHERE kind = ? AND key = ?", (kind, key)))
        return found

    def count_authorities(self) -> int:
        return self.db.execute("SELECT count(*) FROM titles WHERE bibtype LIKE 'z%'").fetchone()[0]

    def add_title(self, display: bytes, bibtype: str) -> int:
        # The next number after every title there is and ever was (a deleted title's number is
        # never given again); inside the store's write transaction, so no other writer takes it.
        isn = 1 + self.db.execute("SELECT coalesce(max(isn), 0) FROM (SELECT max(isn) AS isn FROM titles"
                                  " UNION ALL SELECT max(isn) FROM deleted_titles) AS last").fetchone()[0]
        self.db.execute("INSERT INTO titles (isn, display, bibtype) VALUES (?, ?, ?)", (isn, display, bibtype))
        self.mark_pending(isn)
        return isn

    def holdings_changed(self, isn: int) -> None:
        """Title `isn` gained, changed or lost a holding its records do not carry (a rule-built
        one): a new datestamp, so OAI-PMH harvesters take it again, and a pending mark for the index."""
        self.db.execute("UPDATE titles SET changed = datetime('now') WHERE isn = ?", (isn,))
        self.mark_pending(isn)

    def set_display(self, isn: int, display: bytes, master: int | None) -> None:
        self.db.execute("UPDATE titles SET display = ?, master = ?, changed = datetime('now') WHERE isn = ?",
                        (display, master, isn))
        self.mark_pending(isn)

    def add_record(self, isn: int, library: str, source_system: str, source_id: str, marc: bytes,
                   version: str, quality: int, load_id: int | None, holdings: Iterable[Holding]) -> int:
        cursor = self.db.execute(
            "INSERT INTO records (isn, library, source_system, source_id, marc, version, quality, load_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (isn, library, source_system, source_id, marc, version, quality, load_id),
        )
        record_id = cursor.fetchone()[0]
        self._insert_holdings(record_id, holdings)
        return record_id

    def replace_record(self, record_id: int, marc: bytes, version: str, quality: int, load_id: int | None,
                       holdings: Iterable[Holding]) -> None:
        self.db.execute("UPDATE records SET marc = ?, version = ?, quality = ?, load_id = ? WHERE id = ?",
                        (marc, version, quality, load_id, record_id))
        self.db.execute("DELETE FROM holdings WHERE record_id = ?", (record_id,))
        self._insert_holdings(record_id, holdings)

    def _insert_holdings(self, record_id: int, holdings: Iterable[Holding]) -> None:
        self.db.executemany(
            f"INSERT INTO holdings (record_id, {_HOLDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(record_id, h.library, h.location, h.call_number, h.url, h.note, h.copies, int(h.lendable), h.source_id)
             for h in holdings],
        )

    def delete_record(self, record_id: int) -> None:
        """Remove a member record and its holdings; a title left without members is deleted too."""
        row = self.db.execute("SELECT isn FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            return
        isn = row[0]
        self.db.execute("DELETE FROM records WHERE id = ?", (record_id,))
        if self.db.execute("SELECT 1 FROM records WHERE isn = ? LIMIT 1", (isn,)).fetchone() is None:
            self._drop_title(isn)
        else:
            self.mark_pending(isn)

    def record_holdings(self, record_id: int) -> list[Holding]:
        rows = self.db.execute(f"SELECT {_HOLDING_COLUMNS} FROM holdings WHERE record_id = ? ORDER BY id",
                               (record_id,))
        return [_holding(row) for row in rows]

    # -- titles -------------------------------------------------------------------------------
    def display(self, isn: int) -> bytes | None:
        row = self.db.execute("SELECT display FROM titles WHERE isn = ?", (isn,)).fetchone()
        return row[0] if row else None

    def displays(self, isns: Iterable[int]) -> dict[int, bytes]:
        isns = list(isns)
        if not isns:
            return {}
        return dict(self.db.execute(f"SELECT isn, display FROM titles WHERE isn IN ({_marks(isns)})", isns))

    def holdings(self, isn: int) -> list[Holding]:
        return self.holdings_of_titles([isn])[isn]

    def holdings_of_titles(self, isns: Sequence[int]) -> dict[int, list[Holding]]:
        """ISN -> holdings of each of `isns`: the delivered ones by library, then the rule-built ones."""
        return _holdings_by_title(self.db, isns, "h.library, h.id")

    def titles_with_holdings(self, isns: Iterable[int] | None = None) -> Iterator[tuple[int, bytes, list[Holding]]]:
        """(ISN, display record, holdings) of the given titles, or of all titles, in ISN order; the
        holdings in member-record order (the search keys follow it: a rebuild must give the load's)."""
        if isns is None:
            chunks: Iterable[list] = self._all_titles()
        else:
            wanted = sorted(set(isns))
            chunks = (self.db.execute(f"SELECT isn, display FROM titles WHERE isn IN ({_marks(chunk)}) ORDER BY isn",
                                      chunk).fetchall() for chunk in _chunked(wanted))
        holdings_db = self.reader()
        try:
            for rows in chunks:
                holdings = _holdings_by_title(holdings_db, [isn for isn, _ in rows], "r.id, h.id")
                for isn, display in rows:
                    yield isn, display, holdings[isn]
        finally:
            holdings_db.close()

    def _all_titles(self) -> Iterator[list[tuple[int, bytes]]]:
        """(ISN, display) of every title, in ISN order, a page at a time: psycopg holds a whole
        result in memory (every display record of the catalog: 400 MB at 250k titles)."""
        last = 0
        while rows := self.db.execute("SELECT isn, display FROM titles WHERE isn > ? ORDER BY isn LIMIT ?",
                                      (last, _CHUNK)).fetchall():
            yield rows
            last = rows[-1][0]

    def deleted_titles(self, since: str = "", until: str = "") -> list[tuple[int, str]]:
        """(ISN, time of deletion) of titles deleted in [since, until] (SQLite `datetime` text, UTC;
        empty: no bound), oldest first."""
        return self.db.execute(
            "SELECT isn, deleted FROM deleted_titles WHERE deleted >= ? AND (? = '' OR deleted <= ?)"
            " ORDER BY deleted, isn", (since, until, until)).fetchall()

    def count_titles(self) -> int:
        return self.db.execute("SELECT count(*) FROM titles").fetchone()[0]

    # -- pending index work -----------------------------------------------------------------
    def mark_pending(self, isn: int) -> None:
        self.db.execute("INSERT INTO pending (isn, deleted) VALUES (?, 0)"
                        " ON CONFLICT (isn) DO UPDATE SET deleted = 0", (isn,))

    def pending(self) -> tuple[list[int], list[int]]:
        """(changed ISNs, deleted ISNs) not yet in the index."""
        rows = self.db.execute("SELECT isn, deleted FROM pending ORDER BY isn").fetchall()
        return [isn for isn, d in rows if not d], [isn for isn, d in rows if d]

    def clear_pending(self, isns: Iterable[int]) -> None:
        """The titles are in the index: forget their pending marks and the keys offered for them."""
        rows = [(isn,) for isn in isns]
        with self.transaction():
            self.db.executemany("DELETE FROM pending WHERE isn = ?", rows)
            if self.handover:
                if self.db.execute("SELECT NOT EXISTS (SELECT 1 FROM pending)").fetchone()[0]:
                    # nothing pending (an index phase after a load): every key goes at once, those
                    # whose title never committed too; the side file's rows one by one cost a third
                    self.db.execute("DELETE FROM handover.pending_keys")
                else:
                    self.db.executemany("DELETE FROM handover.pending_keys WHERE isn = ?", rows)

    def clear_all_pending(self) -> None:
        self.db.execute("DELETE FROM pending")
        if self.handover:
            self.db.execute("DELETE FROM handover.pending_keys")

    def offer_keys(self, isn: int, digest: bytes, keys: bytes) -> None:
        """Keep search keys worked out for title `isn` (`digest`: of what they were worked out
        from) for the index phase; replaces keys offered before."""
        if self.handover:
            self.db.execute("INSERT INTO handover.pending_keys (isn, digest, keys) VALUES (?, ?, ?) ON CONFLICT (isn)"
                            " DO UPDATE SET digest = excluded.digest, keys = excluded.keys",
                            (isn, digest, keys))

    def offered_digests(self, isns: Iterable[int]) -> dict[int, bytes]:
        """ISN -> digest of the given titles that have keys offered."""
        return dict(self._offered("digest", isns))

    def offered_keys(self, isns: Iterable[int]) -> dict[int, bytes]:
        """ISN -> keys of the given titles that have keys offered."""
        return dict(self._offered("keys", isns))

    def _offered(self, column: str, isns: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        isns = list(isns) if self.handover else []
        for chunk in _chunked(isns):
            yield from self.db.execute(f"SELECT isn, {column} FROM handover.pending_keys WHERE isn IN ({_marks(chunk)})",
                                       chunk)

    # -- loads and rejects ------------------------------------------------------------------
    def start_load(self, library: str, source_system: str, file: str, fmt: str) -> int:
        cursor = self.db.execute("INSERT INTO loads (library, source_system, file, format) VALUES (?, ?, ?, ?)"
                                 " RETURNING id", (library, source_system, file, fmt))
        return cursor.fetchone()[0]

    def update_load(self, load_id: int, counts: dict[str, int], problems: dict[str, int], *, finished: bool) -> None:
        self.db.execute(
            "UPDATE loads SET read = ?, new = ?, updated = ?, unchanged = ?, deleted = ?, rejected = ?, merged = ?,"
            " problems = ?, finished = CASE WHEN ? THEN datetime('now') ELSE finished END WHERE id = ?",
            (counts.get("read", 0), counts.get("new", 0), counts.get("updated", 0), counts.get("unchanged", 0),
             counts.get("deleted", 0), counts.get("rejected", 0), counts.get("merged", 0),
             json.dumps(problems, sort_keys=True), finished, load_id),
        )
        if finished:
            self.refresh_statistics()

    def refresh_statistics(self) -> None:
        """On PostgreSQL, ANALYZE: a load grows the tables faster than autovacuum notices (it looks
        once a minute), and a plan made for a near-empty `match_keys` scans it whole for every record.
        PostgreSQL samples, so this takes a second at most; SQLite's plans need no statistics here."""
        if self.backend == "postgresql":
            self.db.execute("ANALYZE")

    def add_reject(self, load_id: int, position: int, offset: int, reason: str, raw: bytes) -> None:
        self.db.execute('INSERT INTO rejects (load_id, position, "offset", reason, raw) VALUES (?, ?, ?, ?, ?)',
                        (load_id, position, offset, reason, raw))

    def loads(self) -> list[dict]:
        cursor = self.db.execute("SELECT * FROM loads ORDER BY id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def holdings_per_library(self) -> dict[str, tuple[int, int]]:
        """library -> (titles held, holdings)."""
        rows = self.db.execute(
            "SELECT h.library, count(DISTINCT r.isn), count(*) FROM holdings h JOIN records r ON r.id = h.record_id"
            " GROUP BY h.library ORDER BY h.library")
        found = {library: (titles, count) for library, titles, count in rows}
        found.update((library, (count, count)) for library, count in rule_holdings.counts(self.db).items())
        return found

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the store."""
        if self.backend == "postgresql":   # the cluster's next transaction id: moves on every write
            return self.db.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetchone()[0]
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def holding_libraries(self) -> list[str]:
        """Codes of every library that holds something (a union delivery brings many)."""
        delivered = [row[0] for row in self.db.execute(
            "WITH RECURSIVE codes(code) AS (SELECT min(library) FROM holdings"
            " UNION ALL SELECT (SELECT min(library) FROM holdings WHERE library > code) FROM codes"
            " WHERE code IS NOT NULL) SELECT code FROM codes WHERE code IS NOT NULL")]
        return sorted({*delivered, *rule_holdings.libraries(self.db)})

    def records_per_library(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT library, count(*) FROM records GROUP BY library ORDER BY library"))

    def other_libraries_with_record(self, source_id: str, library: str) -> list[str]:
        """The libraries other than `library` that have a member record with control number `source_id`."""
        rows = self.db.execute("SELECT DISTINCT library FROM records WHERE source_id = ? AND library != ?"
                               " ORDER BY library", (source_id, library))
        return [row[0] for row in rows]

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


_CHUNK = 500   # values in one IN (…) list: SQLite allows 999 parameters per statement


def _chunked(values: Sequence) -> Iterator[Sequence]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _marks(values: Sized) -> str:
    return ",".join("?" * len(values))


def _holdings_by_title(db: Connection, isns: Sequence[int], order: str) -> dict[int, list[Holding]]:
    """ISN -> delivered holdings (in `order`) and then rule-built ones, of each of `isns`: one
    statement per chunk of titles, not one per title (a round trip each on PostgreSQL)."""
    found: dict[int, list[Holding]] = {isn: [] for isn in isns}
    for chunk in _chunked(list(found)):
        rows = db.execute(f"SELECT r.isn, {_HOLDING_SELECT} FROM holdings h JOIN records r ON r.id = h.record_id"
                          f" WHERE r.isn IN ({_marks(chunk)}) ORDER BY r.isn, {order}", chunk)
        for isn, *row in rows:
            found[isn].append(_holding(row))
    for isn, extra in rule_holdings.holdings_of_titles(db, list(found)).items():
        found[isn].extend(extra)
    return found
