"""The `unikat` command: init, load, index, search, show, stats, serve, user, migrate.

Each sub-command is a small function over the `index` API; long work reports progress on
stderr (records/s, ETA) and every run ends with a one-line summary. Errors a user can fix
(missing home, unreadable file, bad query) print one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from index.config import ConfigError
from index.errors import CatalogError, RecordNotFound, WorkerDied
from index.home import Home


class Progress:
    """A one-line progress display on stderr: done/total, rate and ETA."""

    def __init__(self, label: str, unit: str = "records", *, later: bool = False) -> None:
        """`later`: a phase that starts some time after the display is made (the clock starts at
        its first report, which only starts it)."""
        self.label, self.unit = label, unit
        self.started = None if later else time.monotonic()
        self.active = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int, items: int | None = None) -> None:
        """`done` of `total` work units; `items` is the number of records done when units are bytes."""
        now = time.monotonic()
        if self.started is None:
            self.started = self._last = now
            return
        if now - self._last < (0.5 if self.active else 10.0):  # a log file gets a line every 10 s
            return
        self._last = now
        elapsed = now - self.started
        fraction = done / total if total else 0.0
        eta = elapsed * (1 - fraction) / fraction if fraction else 0.0
        rate = (done if items is None else items) / elapsed if elapsed else 0.0
        line = f"{self.label}: {100 * fraction:5.1f}%  {rate:,.0f} {self.unit}/s  {elapsed:6.1f}s elapsed  ETA {eta:5.0f}s"
        if self.active:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.active:
            print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)


@contextmanager
def _index_progress() -> Iterator[dict[str, Progress]]:
    """The progress displays of an index build, as keyword arguments of `index.loading.indexing`."""
    shown = {"progress": Progress("indexing", "titles"), "merging": Progress("merging index runs", "terms", later=True)}
    try:
        yield shown
    finally:
        for display in shown.values():
            display.done()


def _procs() -> int:
    """Index writer processes: one per core (Whoosh's multiprocess writer), at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _home(args: argparse.Namespace) -> Home:
    return Home(Path(args.home).resolve())


def cmd_init(args: argparse.Namespace) -> int:
    home = _home(args)
    existed = home.exists()
    home.init()
    print(f"{'kept existing' if existed else 'created'} {home.config_path}")
    return 0


def _open_store(home: Home):
    from index.store.catalog import CatalogStore

    home.config()  # fails clearly without unikat.toml
    return CatalogStore.of(home)


def cmd_load(args: argparse.Namespace) -> int:
    from index.config import LibraryConfig

    home = _home(args)
    config = home.config()
    # --source names a [sources.NAME] profile if there is one (else, as before, a source system)
    args.profile = config.sources.get(args.source) if args.source else None
    if args.profile is not None:
        args.source = None
        args.library = args.library or args.profile.library or None
        if args.holdings:   # the command line wins over the profile
            args.profile = dataclasses.replace(args.profile, holdings=args.holdings)
    if args.authority and args.library is None:
        library = LibraryConfig(code="AUTH", name="Authority file", source_system=args.source or "AUTH",
                                holdings="record", require_holdings=False)
    elif args.library is None:
        print("unikat: load needs --library (or --authority for an authority file, or a --source profile"
              " that names its library)", file=sys.stderr)
        return 2
    else:
        library = config.libraries.get(args.library)
    if library is None:
        known = ", ".join(config.libraries) or "none"
        print(f"unikat: library {args.library!r} is not in {home.config_path} (known: {known})", file=sys.stderr)
        return 2
    if args.holdings:
        library = LibraryConfig(**{**library.__dict__, "holdings": args.holdings})
    if not args.files and not args.delete_list:
        print("unikat: load needs files to load, or --delete-list FILE", file=sys.stderr)
        return 2
    return _one_at_a_time(home, args, lambda: _load_files(home, library, args))


BUSY = 75   # exit status of `load` / `index --no-wait` while another one runs (EX_TEMPFAIL)


def _one_at_a_time(home: Home, args: argparse.Namespace, work: Callable[[], int]) -> int:
    """Run `work` (a load or an index build) holding the home's load lock: a second one waits for
    the first, or with --no-wait stops with status BUSY. A home we cannot write to (read-only,
    disk full) ends it with one line and status 1; SQLite has rolled back the batch under way."""
    import sqlite3

    from index.loading.lock import HomeBusy, exclusive

    def waiting(message: str) -> None:
        print(f"unikat: {message}", file=sys.stderr, flush=True)

    home.config()   # no home, or a wrong unikat.toml: said as such (ConfigError), before the lock file is made
    try:
        with exclusive(home, wait=not args.no_wait, notify=waiting):
            return work()
    except HomeBusy as busy:
        print(f"unikat: {busy}", file=sys.stderr)
        return BUSY
    except (OSError, sqlite3.OperationalError) as error:
        reason = _write_failure(error)
        if reason is None:
            raise
        where = getattr(error, "filename", None) or home.root
        print(f"unikat: cannot write to {where}: {reason} (stopped; what was committed before is kept)",
              file=sys.stderr)
        return 1


def _write_failure(error: Exception) -> str | None:
    """'read-only file system' or 'disk full' when `error` says the home cannot be written to."""
    import errno

    if isinstance(error, OSError):
        return {errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                errno.EPERM: "permission denied", errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
                }.get(error.errno)
    text = str(error)   # SQLite says it in words (its extended codes are not in Python 3.11's exception)
    if "readonly" in text:
        return "read-only database (or file system)"
    if "disk is full" in text:
        return "disk full"
    return "cannot open the database file" if "unable to open" in text else None


def _load_files(home: Home, library, args: argparse.Namespace) -> int:
    """Load `args.files` for `library`, then bring the index up to date (under the home's lock)."""
    from index.errors import LoadError
    from index.loading import indexing
    from index.loading.load import load_file
    from index.loading.pipeline import ClusterError

    store = _open_store(home)
    started = time.monotonic()
    totals = {"read": 0, "rejected": 0}
    refused = refused_lists = broken_off = changed = 0
    try:
        for name in args.delete_list:   # PICA+ deletions (index.loading.deletions), before the records
            from index.loading.deletions import apply_deletion_list

            try:
                deleted = apply_deletion_list(home, store, library, Path(name), source_system=args.source,
                                              id_prefix=args.profile.id_prefix if args.profile else "")
            except LoadError as error:
                print(f"unikat: {error}", file=sys.stderr)
                refused_lists += 1
                continue
            print(deleted.summary())
        for name in args.files:
            progress = Progress(f"loading {name}", "records")
            try:
                report = load_file(home, store, library, Path(name), fmt=args.format, encoding=args.encoding,
                                   source_system=args.source, progress=progress, authority_only=args.authority,
                                   workers=args.workers, force=args.force, profile=args.profile,
                                   cluster=args.cluster or "")
            except ClusterError as error:   # no cluster to parse on: no file can be loaded
                progress.done()
                print(f"unikat: {error}; nothing more loaded", file=sys.stderr)
                return 2
            except LoadError as error:   # a whole file refused: the others are still loaded and indexed
                progress.done()
                print(f"unikat: {error}", file=sys.stderr)
                refused += 1
                continue
            progress.done()
            print(report.summary())
            broken_off += report.rest_unread
            changed += report.changed_meanwhile
            for kind, count in sorted(report.problems.items()):
                print(f"  light problem: {kind}: {count}")
            totals["read"] += report.counts["read"]
            totals["rejected"] += report.counts["rejected"]
        with _index_progress() as shown:
            written, removed = indexing.update(home, store, procs=_procs(), **shown)
    finally:
        store.close()
    elapsed = time.monotonic() - started
    print(f"loaded {len(args.files) - refused} file(s): {totals['read']} records, {totals['rejected']} rejected;"
          f" index updated ({written} titles written, {removed} removed) in {elapsed:.1f}s")
    if refused:
        print(f"unikat: {refused} file(s) refused, not loaded", file=sys.stderr)
    if refused_lists:
        print(f"unikat: {refused_lists} deletion list(s) refused, not applied", file=sys.stderr)
    if broken_off:
        print(f"unikat: {broken_off} file(s) break off and were read only in part (their last reject says where)",
              file=sys.stderr)
    if changed:
        print(f"unikat: {changed} file(s) changed while they were read: load them again once they are complete",
              file=sys.stderr)
    return 1 if refused or refused_lists or broken_off or changed else 0


def cmd_index(args: argparse.Namespace) -> int:
    home = _home(args)
    home.config()  # fails clearly without unikat.toml
    return _one_at_a_time(home, args, lambda: _index(home, args))


def _index(home: Home, args: argparse.Namespace) -> int:
    from index import engines
    from index.loading import indexing

    started = time.monotonic()
    if args.from_keys:
        if why := indexing.keys_incomplete(home):
            print(f"unikat index --from-keys: {why}", file=sys.stderr)
            return 2
        with _index_progress() as shown:
            count = indexing.build_from_keys(home, **shown)
        what = f"built the index from the search-key files: {count} titles"
    elif args.full or not engines.index_ready(home, home.config()):
        count = _rebuild(home, args.procs)
        what = f"rebuilt search-key files and index: {count} titles"
    else:
        store = _open_store(home)
        try:
            written, removed = indexing.update(home, store)
        finally:
            store.close()
        what = f"index updated: {written} titles written, {removed} removed"
    elapsed = time.monotonic() - started
    print(f"{what} in {elapsed:.1f}s")
    return 0


def _rebuild(home: Home, procs: int) -> int:
    """Rewrite the search-key files and build the index from the whole store, with progress."""
    from index.loading import indexing

    store = _open_store(home)
    try:
        with _index_progress() as shown:
            return indexing.rebuild(home, store, procs=procs, **shown)
    finally:
        store.close()


def _parse_pqf(text: str):
    from zserver.querylang.pqf import parse_pqf
    from zserver.z3950.attributes import rpn_to_query

    return rpn_to_query(parse_pqf(text))


def cmd_search(args: argparse.Namespace) -> int:
    from index.engines.base import RELEVANCE, SortKey
    from index.search import Catalog
    from zserver.querylang.errors import QuerySyntaxError
    from zserver.z3950.diagnostics import Z3950Diagnostic, diagnostic_for

    catalog = Catalog(_home(args))
    try:
        database = catalog.database(args.db or catalog.config.database)
        node = _parse_pqf(args.query)
        keys = [SortKey.named(key.lstrip("-"), key.startswith("-")) for key in args.sort.split(",")] \
            if args.sort else []
        # --ranked alone orders by relevance; with --sort it orders titles that sort equal
        result = catalog.search(node, database, sort=[*keys, RELEVANCE] if args.ranked else keys)
    except QuerySyntaxError as error:
        print(f"unikat: query syntax error: {error}", file=sys.stderr)
        return 2
    except Z3950Diagnostic as diagnostic:
        print(f"unikat: Bib-1 diagnostic {diagnostic.code}: {diagnostic.addinfo}", file=sys.stderr)
        return 2
    except CatalogError as error:
        diagnostic = diagnostic_for(error)
        print(f"unikat: Bib-1 diagnostic {diagnostic.code}: {diagnostic.addinfo}", file=sys.stderr)
        return 2
    briefs = result.briefs(0, args.number)
    if args.json:
        print(json.dumps({"hits": result.size, "records": [b.__dict__ for b in briefs]}, ensure_ascii=False, indent=1))
    else:
        print(f"{result.size} hits")
        for position, brief in enumerate(briefs, 1):
            author = f"{brief.author}: " if brief.author else ""
            year = f" ({brief.year})" if brief.year else ""
            print(f"{position:3}. [{brief.isn}] {author}{brief.title}{year}")
    catalog.close()
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from index.records.formats import to_dc, to_isbd, to_marcxml
    from index.search import Catalog

    catalog = Catalog(_home(args))
    try:
        record = catalog.record(args.isn)
    except RecordNotFound:
        print(f"unikat: no record {args.isn} (it may have been deleted)", file=sys.stderr)
        return 1
    finally:
        catalog.close()
    if args.format == "marc":
        sys.stdout.buffer.write(record.marc)
    elif args.format == "marcxml":
        sys.stdout.buffer.write(to_marcxml(record.marc) + b"\n")
    elif args.format == "dc":
        sys.stdout.buffer.write(to_dc(record.marc) + b"\n")
    elif args.format == "text":
        from index.records.formats import parse

        print(parse(record.marc))
    else:
        print(to_isbd(record.marc, record.holdings), end="")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from index.store import loadlog

    home = _home(args)
    store = _open_store(home)
    try:
        changed, deleted = store.pending()
        stats = {
            "titles": store.count_titles(),
            "records_per_library": store.records_per_library(),
            "holdings_per_library": {k: {"titles": t, "holdings": h} for k, (t, h) in store.holdings_per_library().items()},
            "loads": [{**load, "source": loadlog.load_source(store.db, load["id"])} for load in store.loads()],
            "clusters": store.cluster_counts(),
            "authorities": store.count_authorities(),
            "index": {"updated_at": store.get_meta("indexed_at", "never"), "pending_titles": len(changed) + len(deleted)},
        }
    finally:
        store.close()
    if args.json:
        print(json.dumps(stats, indent=1, ensure_ascii=False))
        return 0
    print(f"titles: {stats['titles']}")
    clusters = stats["clusters"]
    print(f"clusters: {clusters['clusters']} titles merged from {clusters['records_in_clusters']} records"
          f" ({clusters['records_merged']} records merged into existing titles, largest {clusters['largest_cluster']});"
          f" authority records: {stats['authorities']}")
    for library, count in stats["records_per_library"].items():
        held = stats["holdings_per_library"].get(library, {"titles": 0, "holdings": 0})
        print(f"library {library}: {count} records, {held['holdings']} holdings on {held['titles']} titles")
    for load in stats["loads"]:
        print(f"load {load['id']} {load['started']} library {load['library']} {Path(load['file']).name}:"
              f" read {load['read']} new {load['new']} updated {load['updated']} unchanged {load['unchanged']}"
              f" deleted {load['deleted']} rejected {load['rejected']} merged {load.get('merged', 0)}"
              + (f" (profile {load['source']})" if load.get("source") else "")
              + ("" if load["finished"] else " (not finished)"))
    index = stats["index"]
    fresh = "current" if index["pending_titles"] == 0 else f"{index['pending_titles']} titles pending"
    print(f"index: updated {index['updated_at']}, {fresh}")
    return 0


def cmd_clusters(args: argparse.Namespace) -> int:
    """Show one cluster and why its members matched, list clusters, write them all as JSON,
    or re-consolidate the whole store (`--rebuild`)."""
    from index.consolidation.clusters import describe, maintenance_keys
    from index.loading import indexing
    from index.titles import reconsolidate

    home = _home(args)
    rules = home.config().consolidation.rules
    store = _open_store(home)
    try:
        if args.words and not _title_number(args.words[0]):   # a librarian's override (or the list of them)
            from zserver import cluster_commands
            if args.words[0] not in cluster_commands.COMMANDS:
                print(f"unikat: clusters: unknown command {args.words[0]!r}"
                      f" (known: {', '.join(cluster_commands.COMMANDS)}, or a title number)", file=sys.stderr)
                return 2
            correct = functools.partial(cluster_commands.run, args, home, store, _procs())
            if args.words[0] in cluster_commands.CORRECTIONS:   # they write titles and the index: as a load does
                return _one_at_a_time(home, args, correct)
            return correct()
        args.isn = int(args.words[0]) if args.words else None
        if args.rebuild:
            def rebuild() -> int:
                progress = Progress("re-consolidating", "records")
                with store.transaction():
                    counts = reconsolidate(store, rules, progress)
                progress.done()
                written, removed = indexing.update(home, store, procs=_procs())
                print(f"re-consolidated {counts['records']} records: {counts['titles']} titles, {counts['clusters']}"
                      f" clusters, {counts['titles_changed']} titles changed; index: {written} written,"
                      f" {removed} removed")
                return 0

            return _one_at_a_time(home, args, rebuild)
        if args.json:
            out = sys.stdout
            out.write("[\n")
            for number, cluster in enumerate(maintenance_keys(store, all_titles=not args.merged_only)):
                out.write(("," if number else "") + json.dumps(cluster, ensure_ascii=False) + "\n")
            out.write("]\n")
            return 0
        if args.isn is not None:
            if store.display(args.isn) is None:
                from index.store.corrections import redirect
                moved = redirect(store, args.isn)
                print(f"unikat: no title {args.isn}" + (f" (merged into {moved})" if moved else ""), file=sys.stderr)
                return 2
            cluster = describe(store, args.isn, rules)
            print(f"title {cluster['isn']}: {len(cluster['members'])} member record(s)"
                  + (f"; also answers as {', '.join(map(str, cluster['redirects']))}" if cluster["redirects"] else ""))
            for m in cluster["members"]:
                flag = "master" if m["record"] == cluster["master"] else "      "
                print(f"  {flag} record {m['record']}: library {m['library']}, {m['source_system']} {m['source_id']},"
                      f" quality {m['quality']}: {m['title'][:60]} ({m['year'] or '-'})")
            for pair in cluster["pairs"]:
                a, b = pair["records"]
                print(f"  records {a} and {b}: {pair['why']}")
            return 0
        counts = store.cluster_counts()
        print(f"{counts['clusters']} clusters of {counts['records_in_clusters']} records"
              f" ({counts['titles']} titles in all; largest cluster {counts['largest_cluster']})")
        for isn, members in store.clusters():
            libraries = ", ".join(sorted({m.library for m in members}))
            print(f"  {isn}: {len(members)} records ({libraries})")
    finally:
        store.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from zserver.net.app import serve

    home = _home(args)
    if args.replica_of:   # the home may be empty: its unikat.toml comes from the catalog's store
        from zserver.net.replica import ReplicaHomeError

        try:
            return serve(home, host=args.host, port=args.port, workers=args.workers, replica_of=args.replica_of,
                         replica_poll=args.replica_poll)
        except ReplicaHomeError as error:
            print(f"unikat: {error}", file=sys.stderr)
            return 2
    home.config()   # fails clearly without unikat.toml
    return serve(home, host=args.host, port=args.port, workers=args.workers)   # builds a missing index beside


def _read_new_password(args: argparse.Namespace) -> str | None:
    """The new password: one line of stdin with --stdin, else typed twice without echo."""
    import getpass

    if args.stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"New password for {args.name}: ")
    if getpass.getpass("Again: ") != password:
        print("unikat: the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return password


def cmd_user(args: argparse.Namespace) -> int:
    """`user set-password NAME`: write a salted hash into [users.NAME]; `user migrate`: replace
    every plaintext password by its hash. Only those lines of unikat.toml change."""
    from index.passwords import hash_password
    from index.users import UsersFileError, migrate_plaintext, set_password_hash

    home = _home(args)
    path = home.config_path
    if not path.exists():
        print(f"unikat: no unikat.toml in {home.root} (run `unikat init` first)", file=sys.stderr)
        return 2
    text = path.read_text(encoding="utf-8")
    try:
        if args.action == "set-password":
            password = _read_new_password(args)
            if password is None:
                return 2
            if not password:
                print("unikat: empty password refused; nothing changed", file=sys.stderr)
                return 2
            text, done = set_password_hash(text, args.name, hash_password(password)), f"set the password of {args.name}"
        else:
            text, names = migrate_plaintext(text)
            done = f"hashed the plaintext passwords of {', '.join(names)}" if names else "no plaintext passwords"
    except UsersFileError as error:
        print(f"unikat: {path}: {error}", file=sys.stderr)
        return 2
    partial = path.with_name(path.name + ".new")      # replaced in one step: never half a file
    partial.write_text(text, encoding="utf-8")
    partial.chmod(path.stat().st_mode & 0o777)
    partial.replace(path)
    # the server reads [users] as it starts: the old password works there until then
    print(f"{done} in {path}; a running `unikat serve` takes it up when restarted")
    return 0


def cmd_linkcheck(args: argparse.Namespace) -> int:
    from index.links.command import linkcheck

    progress = Progress("checking links", "URLs")
    try:
        return linkcheck(_home(args), library=args.library, since_days=args.since,
                         report_dir=Path(args.report) if args.report else None, progress=progress)
    finally:
        progress.done()


def cmd_ejournals(args: argparse.Namespace) -> int:
    from index.ejournals.command import ejournals

    return ejournals(_home(args), Path(args.out) if args.out else None)


def cmd_ill(args: argparse.Namespace) -> int:
    from index.ill.command import run

    return run(_home(args), args)


def cmd_lfer(args: argparse.Namespace) -> int:
    from index.rules.command import lfer

    home = _home(args)
    return _one_at_a_time(home, args, lambda: lfer(home, all_titles=args.all, dry_run=args.dry_run,
                                                   verbose=args.verbose))


def cmd_migrate(args: argparse.Namespace) -> int:
    home = _home(args)
    return _one_at_a_time(home, args, lambda: _migrate(home, args))


def _migrate(home: Home, args: argparse.Namespace) -> int:
    """Copy the home's SQLite store into the empty PostgreSQL database `--to`, or the PostgreSQL
    store `--from` into the home's new catalog.sqlite (under the home's load lock); unikat.toml
    is left as it is: the user switches `[store]` when the copy is there."""
    from psycopg import OperationalError

    from index.store.catalog import CatalogStore
    from index.store.migrate import MigrationError, MigrationRefused, migrate

    if args.to and not home.store_path.exists():
        print(f"unikat: no {home.store_path.name} in {home.root} to copy (nothing loaded yet); nothing written",
              file=sys.stderr)
        return 2
    created = not home.store_path.exists()
    stores: list = []
    report = None
    shown: dict[str, Progress] = {}

    def progress(step: str, done: int, total: int) -> None:
        if total >= 10_000:   # small tables are copied in a blink
            display = shown.setdefault(step, Progress(step, "rows"))
            display(done, total)
            if done == total:
                display.done()

    try:
        for dsn in ("", args.to) if args.to else (args.from_, ""):
            stores.append(CatalogStore(home.store_path, dsn))
        report = migrate(*stores, progress=progress)
    except OperationalError as error:   # psycopg's: the server cannot be reached, or refuses us
        print(f"unikat: PostgreSQL: {str(error).strip()}; nothing written", file=sys.stderr)
        return 2
    except MigrationRefused as error:
        print(f"unikat: {error}", file=sys.stderr)
        return 2
    except MigrationError as error:
        print(f"unikat: {error}", file=sys.stderr)
        return 1
    finally:
        for store in stores:
            store.close()
        if created and report is None:   # --from failed: no half-made catalog.sqlite left behind
            _remove_store_files(home)
    print(report.summary())
    for table in sorted(report.tables, key=lambda table: table.name):
        print(f"  {table.name:26} {table.rows:10} rows  checksum {table.checksum[:16]}")
    if args.to:
        print(f"The catalog is in PostgreSQL now; migrate does not change {home.config_path}. To use it, write there:\n"
              f'[store]\nbackend = "postgresql"\ndsn = {json.dumps(args.to)}\n'
              f"({home.store_path.name} stays as it was; the index needs no rebuild: title numbers are kept)")
    else:
        print(f"The catalog is in {home.store_path} now; migrate does not change {home.config_path}. To use it,"
              f' write there:\n[store]\nbackend = "sqlite"\n(and no dsn; the index needs no rebuild: title numbers'
              " are kept)")
    return 0


def _remove_store_files(home: Home) -> None:
    """Remove the catalog.sqlite a failed `migrate --from` made (with its WAL and side files)."""
    from index.store.handover import side_path

    for path in (home.store_path, side_path(home.store_path)):
        for name in (path.name, path.name + "-wal", path.name + "-shm"):
            path.with_name(name).unlink(missing_ok=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unikat", description="Union catalog with a Z39.50 and SRU server.")
    parser.add_argument("--home", default="unikat-home", help="catalog home directory (default ./unikat-home)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create a home with a commented unikat.toml").set_defaults(func=cmd_init)

    load = commands.add_parser("load", help="load delivery files of one library")
    load.add_argument("--library", help="library code from unikat.toml (not needed with --authority)")
    load.add_argument("--authority", action="store_true",
                      help="an authority file (MARC 21 authority or GND in PICA+): only leader/06 z records")
    load.add_argument("--source", help="a [sources.NAME] profile of unikat.toml (format, encoding, holdings, fields"
                      " to change, id prefix), else the source system (default: the library's source_system)")
    load.add_argument("--format", choices=["marc21", "marcxml", "pica", "json"],
                      help="default: detected from the first records (a file in none of them is refused)")
    load.add_argument("--encoding", choices=["utf-8", "marc-8"], help="MARC21 encoding (default: leader/09)")
    load.add_argument("--holdings", choices=["852", "record", "pica", "852-all"],
                      help="override the library's holdings rule (852-all: every library's 852, a union source)")
    load.add_argument("--workers", type=int, help="processes that parse the records (default: one per core;"
                      " 0: parse in the loading process)")
    load.add_argument("--cluster", metavar="ADDRESS",
                      help="parse on the workers of the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786;"
                      " each worker host runs `dask worker ADDRESS --nthreads 1 --nworkers N` with unikat installed)")
    load.add_argument("--force", action="store_true",
                      help="let records older than the stored ones (005) replace them (default: rejected)")
    load.add_argument("--no-wait", action="store_true",
                      help=f"while another load or index build of the home runs, stop (status {BUSY}) instead of waiting")
    load.add_argument("--delete-list", action="append", default=[], metavar="FILE",
                      help="delete the library's records whose PPNs FILE lists (a K10plus LOEKXP list or one PPN a"
                      " line; index/loading/deletions.py), before the files are loaded")
    load.add_argument("files", nargs="*")
    load.set_defaults(func=cmd_load)

    index = commands.add_parser("index", help="update or rebuild the search-key files and the index")
    index.add_argument("--full", action="store_true", help="rewrite everything from the store")
    index.add_argument("--from-keys", action="store_true",
                       help="build the index from the search-key files alone, without reading the store")
    index.add_argument("--procs", type=int, default=_procs(), help="index writer processes for --full")
    index.add_argument("--no-wait", action="store_true",
                       help=f"while a load or another index build of the home runs, stop (status {BUSY}) instead of waiting")
    index.set_defaults(func=cmd_index)

    search = commands.add_parser("search", help="run a PQF (Type-1) query")
    search.add_argument("query")
    search.add_argument("--db", help="database (default: the union catalog)")
    search.add_argument("--json", action="store_true")
    search.add_argument("--ranked", action="store_true", help="order by relevance")
    search.add_argument("--sort", help="comma-separated keys title,author,year,relevance; '-' prefix descends")
    search.add_argument("-n", "--number", type=_not_negative, default=10, help="brief lines to print")
    search.set_defaults(func=cmd_search)

    show = commands.add_parser("show", help="print one record")
    show.add_argument("isn", type=_title_number_argument)
    show.add_argument("--format", choices=["isbd", "marc", "marcxml", "dc", "text"], default="isbd")
    show.set_defaults(func=cmd_show)

    stats = commands.add_parser("stats", help="records, holdings, loads, index freshness")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)

    clusters = commands.add_parser("clusters", help="consolidated titles: members, sources, why they matched")
    clusters.add_argument("words", nargs="*", metavar="ISN | COMMAND ...",
                          help="show this title's cluster; or split ISN RECORD..., merge ISN ISN..., keep-apart ISN ISN,"
                               " pin ISN, overrides, undo N (zserver/cluster_commands.py)")
    clusters.add_argument("--note", help="with split/merge/keep-apart/pin: why")
    clusters.add_argument("--by", help="with split/merge/keep-apart/pin/undo: who (default: the OS user)")
    clusters.add_argument("--all", action="store_true", help="with overrides: undone ones too")
    clusters.add_argument("--json", action="store_true",
                          help="write every title with its members' maintenance keys (library, system, 001)")
    clusters.add_argument("--merged-only", action="store_true", help="with --json: only titles of 2+ records")
    clusters.add_argument("--rebuild", action="store_true", help="re-consolidate the whole store with the current rules")
    clusters.add_argument("--no-wait", action="store_true",
                          help="with a correction or --rebuild: exit 75 at once while a load runs (default: wait)")
    clusters.set_defaults(func=cmd_clusters)

    serve = commands.add_parser("serve", help="serve Z39.50 (and SRU) on one port")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--replica-of", metavar="DSN",
                       help="search host of the catalog whose PostgreSQL store is at DSN: serve the index it"
                            " publishes (unikat.toml written from it when the home has none); never build one")
    serve.add_argument("--replica-poll", metavar="SECONDS", type=float, default=5.0,
                       help="with --replica-of: how often to look for a newer index (default 5)")
    serve.set_defaults(func=cmd_serve)

    user = commands.add_parser("user", help="users of Init idPass: set a password, migrate plaintext ones")
    user_actions = user.add_subparsers(dest="action", required=True)
    set_password = user_actions.add_parser("set-password", help="write a salted hash of a new password into"
                                           " [users.NAME] (adds the user if absent)")
    set_password.add_argument("name")
    set_password.add_argument("--stdin", action="store_true", help="read the password from one line of stdin"
                              " instead of asking twice on the terminal")
    user_actions.add_parser("migrate", help="replace every plaintext `password = ...` by `password_hash = ...`")
    user.set_defaults(func=cmd_user)

    from zserver.records_commands import add_commands as records_commands
    records_commands(commands)   # export, backup, restore
    linkcheck = commands.add_parser("linkcheck", help="check the URLs of titles and holdings; reports of broken"
                                    " and moved links per library ([linkcheck] in unikat.toml)")
    linkcheck.add_argument("--library", help="only the URLs of this library (its holdings and the titles it holds)")
    linkcheck.add_argument("--since", type=float, metavar="DAYS",
                           help="re-check only URLs last checked more than DAYS days ago (and new ones)")
    linkcheck.add_argument("--report", metavar="DIR", help="where the reports go (default: HOME/linkcheck)")
    linkcheck.set_defaults(func=cmd_linkcheck)

    ejournals = commands.add_parser("ejournals", help="list the electronic serials by subject group and library"
                                    " (HTML, Dublin Core XML, CSV) with the link-check state of each URL")
    ejournals.add_argument("--out", metavar="DIR", help="where the lists go (default: HOME/ejournals)")
    ejournals.set_defaults(func=cmd_ejournals)
    lfer = commands.add_parser("lfer", help="build the holdings of virtual libraries ([virtual.CODE], e.g. LFER)"
                               " by their rules: add, check (8002 gepr), change and remove")
    lfer.add_argument("--all", action="store_true", help="every title (default: those changed since the last run)")
    lfer.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    lfer.add_argument("--verbose", action="store_true", help="list the re-confirmed (checked) holdings too")
    lfer.add_argument("--no-wait", action="store_true", help="exit 75 at once while a load runs")
    lfer.set_defaults(func=cmd_lfer)
    migrate = commands.add_parser("migrate", help="copy the catalog store from SQLite into PostgreSQL or back,"
                                  " verified by row counts and checksums (unikat.toml is not changed)")
    direction = migrate.add_mutually_exclusive_group(required=True)
    direction.add_argument("--to", metavar="DSN", help="copy this home's catalog.sqlite into the empty PostgreSQL"
                           ' database DSN (libpq, e.g. "postgresql://unikat@db.example.org/catalog")')
    direction.add_argument("--from", dest="from_", metavar="DSN", help="copy the PostgreSQL store at DSN into this"
                           " home's catalog.sqlite (absent or empty)")
    migrate.add_argument("--no-wait", action="store_true",
                         help=f"while a load or index build of the home runs, stop (status {BUSY}) instead of waiting")
    migrate.set_defaults(func=cmd_migrate)
    from index.ill.command import add_arguments as ill_arguments
    ill = commands.add_parser("ill", help="interlibrary loan: accounts, orders, answers, status, deadlines, slips")
    ill_arguments(ill)
    ill.set_defaults(func=cmd_ill)
    from zserver.harvest.command import add_commands as harvest_commands
    harvest_commands(commands)   # harvest, adopt (the external-data catalog)
    return parser


def _title_number(word: str) -> bool:
    """Whether `word` is a title number (ASCII digits below 2**63, SQLite's integers)."""
    return word.isascii() and word.isdigit() and len(word) <= 18


def _not_negative(word: str) -> int:
    if not (word.isascii() and word.isdigit()):
        raise argparse.ArgumentTypeError(f"{word!r} is not a number of 0 or more")
    return int(word)


def _title_number_argument(word: str) -> int:
    if not _title_number(word):
        raise argparse.ArgumentTypeError(f"{word!r} is not a title number")
    return int(word)


def main(argv: list[str] | None = None) -> int:
    from zserver.querylang.errors import allow_deep_queries

    allow_deep_queries()   # `unikat search` with a query as deep as the server takes
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()   # a closed pipe shows here, not as a traceback at exit
        return status
    except BrokenPipeError:
        # `unikat stats | head`: the reader has gone; end quietly, as a program killed by
        # SIGPIPE would, and keep Python's flush at exit from writing to the closed pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ConfigError, CatalogError) as error:
        print(f"unikat: {error}", file=sys.stderr)
        return 2
    except WorkerDied as error:   # killed, or out of memory: what was committed stays
        print(f"unikat: {error}; stopped, what was committed is kept: run the command again to finish",
              file=sys.stderr)
        return 1
    except OSError as error:   # a path given that cannot be written or read (--out, --report, slips): say which
        where = f": {error.filename}" if error.filename else ""
        print(f"unikat: {error.strerror or error}{where}", file=sys.stderr)
        return 1
    except EOFError:   # a password prompt with nothing to read: no terminal, stdin empty or closed
        print("\nunikat: no password given: stdin ended (type it at a terminal, or pipe one line with --stdin"
              " where the command offers it)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("unikat: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
