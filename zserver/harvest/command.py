"""`unikat harvest` and `unikat adopt`: the external-data catalog's commands (registered in
`zserver.cli` by `add_commands`).

    unikat harvest --from sru|z3950|oai URL [--query Q | --isbns FILE | --all] [--set S]
                   [--incremental] [--delay S] [--name NAME] [--until DATE] [--prefix P]
    unikat harvest --status
    unikat adopt ISN --library X [--id ID] [--location L] [--call-number C]

A harvest prints progress (records, records/s) on stderr and a one-line summary; a refused or
unreachable server ends it with status 1, keeping what it stored and where it stood (the same
command again resumes). `adopt` loads the copy like `unikat load` and updates the index.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from index.home import Home

__all__ = ["add_commands"]


class _Progress:
    """records so far, rate and (when the server said it) the total, on stderr."""

    def __init__(self, label: str) -> None:
        self.label, self.started, self._last = label, time.monotonic(), 0.0
        self.active = sys.stderr.isatty()

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < (0.5 if self.active else 5.0):
            return
        self._last = now
        rate = done / (now - self.started) if now > self.started else 0.0
        line = f"{self.label}: {done:,}{f' of {total:,}' if total is not None else ''} records  {rate:,.0f} records/s"
        print(("\r" + line) if self.active else line, end="" if self.active else "\n", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.active:
            print("\r" + " " * 78 + "\r", end="", file=sys.stderr, flush=True)


def _home(args: argparse.Namespace) -> Home:
    home = Home(Path(args.home).resolve())
    home.config()   # fails clearly without unikat.toml
    return home


def cmd_harvest(args: argparse.Namespace) -> int:
    from zserver.harvest.base import HarvestError, RemoteUnavailable
    from zserver.harvest.run import HarvestRequest, check, harvest, read_numbers

    home = _home(args)
    if args.status:
        return _status(home)
    if not args.source:
        print("unikat: harvest needs --from sru|z3950|oai URL (or --status)", file=sys.stderr)
        return 2
    protocol, url = args.source
    numbers: tuple[str, ...] = ()
    if args.isbns:
        try:
            numbers = read_numbers(Path(args.isbns).read_text(encoding="utf-8"))
        except OSError as error:
            print(f"unikat: cannot read {args.isbns}: {error.strerror}", file=sys.stderr)
            return 2
        except ValueError as error:
            print(f"unikat: {args.isbns}: {error}", file=sys.stderr)
            return 2
    for option, value in (("--delay", args.delay), ("--retries", args.retries)):
        if value is not None and value < 0:
            print(f"unikat: {option} must be 0 or more, not {value}", file=sys.stderr)
            return 2
    settings = home.config().external
    request = HarvestRequest(
        protocol=protocol, url=url, mode="isbns" if args.isbns else "all" if args.all else "query",
        query=args.query or "", numbers=numbers, set_spec=args.set or "", incremental=args.incremental,
        until=args.until or "", prefix=args.prefix, source=args.name or "",
        delay=settings.delay if args.delay is None else args.delay,
        retries=settings.retries if args.retries is None else args.retries,
        page_size=args.page_size or settings.page_size, timeout=settings.timeout)
    try:
        check(request)
    except HarvestError as error:
        print(f"unikat: {error}", file=sys.stderr)
        return 2
    progress = _Progress(f"harvesting {request.source_name}")

    def notify(message: str) -> None:
        progress.done()
        print(f"unikat: {message}", file=sys.stderr, flush=True)

    try:
        report = harvest(home, request, progress=progress, notify=notify)
    except HarvestError as error:
        progress.done()
        hint = "; the same command resumes" if isinstance(error, RemoteUnavailable) else ""
        print(f"unikat: harvest stopped: {error} (what was stored is kept{hint})", file=sys.stderr)
        return 1
    progress.done()
    print(report.summary())
    for reason in report.rejects:
        print(f"  rejected: {reason}")
    return 0


def _status(home: Home) -> int:
    from index.external import ExternalStore

    store = ExternalStore(home)
    try:
        counts = store.counts()
        for state in store.states():
            how = "complete" if state.complete else f"interrupted at {state.position}"
            print(f"{state.source}: {counts.get(state.source, 0)} records; run {state.run} {how};"
                  f" {state.mode} {state.set_spec or state.query!r}; started {state.started}"
                  + (f", finished {state.finished}" if state.finished else "")
                  + (f"; next incremental from {state.since}" if state.since else ""))
    finally:
        store.close()
    return 0


def cmd_adopt(args: argparse.Namespace) -> int:
    from index.external.adopt import AdoptError, adopted_record
    from zserver.cli import _one_at_a_time

    home = _home(args)
    config = home.config()
    library = config.libraries.get(args.library)
    if library is None:
        known = ", ".join(config.libraries) or "none"
        print(f"unikat: library {args.library!r} is not in {home.config_path} (known: {known})", file=sys.stderr)
        return 2
    try:
        adoption = adopted_record(home, args.isn, library, record_id=args.id or "", location=args.location or "",
                                  call_number=args.call_number or "")
    except AdoptError as error:
        print(f"unikat: {error}", file=sys.stderr)
        return 2
    return _one_at_a_time(home, args, lambda: _load(home, library, adoption, args.isn))


def _load(home: Home, library, adoption, isn: int) -> int:
    from index.loading import indexing
    from index.loading.load import load_file
    from index.store.catalog import CatalogStore

    store = CatalogStore.of(home)
    try:
        # adopting is cataloguing a record new to the library: under a number it has, the load
        # would replace its own record, holdings and all
        own = store.find_record(library.code, library.source_system, adoption.source_id)
        if own is not None:
            print(f"unikat: library {library.code} already has a record {adoption.source_id} (title {own.isn}):"
                  " the copy would replace it; give the copy a number of its own with --id", file=sys.stderr)
            return 1
        report = load_file(home, store, library, adoption.path, fmt="marc21", encoding="utf-8", workers=0)
        indexing.update(home, store)
        found = store.find_record(library.code, library.source_system, adoption.source_id)
    finally:
        store.close()
    print(report.summary())
    if found is None:
        print(f"unikat: external record {isn} was not adopted (see the reject above)", file=sys.stderr)
        return 1
    print(f"adopted external record {isn} as {library.code} {adoption.source_id}: title {found.isn}"
          f" (delivery file {adoption.path})")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    harvest = commands.add_parser("harvest", help="harvest records from another server (SRU, Z39.50, OAI-PMH) into"
                                  " the external-data catalog")
    harvest.add_argument("--from", dest="source", nargs=2, metavar=("PROTOCOL", "URL"),
                         help="sru URL | z3950 host:port/database | oai URL")
    what = harvest.add_mutually_exclusive_group()
    what.add_argument("--query", help="CQL (SRU) or PQF (Z39.50)")
    what.add_argument("--isbns", metavar="FILE", help="ISBNs/ISSNs, one a line")
    what.add_argument("--all", action="store_true", help="everything (OAI-PMH: the repository or --set)")
    harvest.add_argument("--set", help="OAI-PMH set")
    harvest.add_argument("--incremental", action="store_true",
                         help="only what changed since the last complete harvest of this source")
    harvest.add_argument("--until", help="OAI-PMH until (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
    harvest.add_argument("--prefix", default="marc21", help="OAI-PMH metadataPrefix giving MARCXML (default marc21)")
    harvest.add_argument("--name", help="the source's name (default: PROTOCOL:URL); its records and state go by it")
    harvest.add_argument("--delay", type=float, help="seconds between requests (default: [external] delay)")
    harvest.add_argument("--retries", type=int, help="tries again of a failed request (default: [external] retries)")
    harvest.add_argument("--page-size", type=int, help="records per request (default: [external] page_size)")
    harvest.add_argument("--status", action="store_true", help="list the sources harvested and where each stands")
    harvest.set_defaults(func=cmd_harvest)

    adopt = commands.add_parser("adopt", help="copy an external record into a library's records (copy cataloging)")
    adopt.add_argument("isn", type=int, help="the external record's number (from a search of the external database)")
    adopt.add_argument("--library", required=True, help="library code from unikat.toml")
    adopt.add_argument("--id", help="the library's control number for it (default: the record's 001)")
    adopt.add_argument("--location", help="852 $b of the library's holding")
    adopt.add_argument("--call-number", help="852 $h of the library's holding")
    adopt.add_argument("--no-wait", action="store_true", help="exit 75 at once while a load runs")
    adopt.set_defaults(func=cmd_adopt)
