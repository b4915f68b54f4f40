"""`unikat export`, `unikat backup` and `unikat restore`: the catalog's records out, and copies of
the whole home kept and brought back (`index.dumps`, `index.backup`). `add_commands` registers
them with the `unikat` parser (`zserver.cli`).

    unikat export [--library X] [--format marc21|marcxml|pica|json] [--since DATE] [--out FILE]
    unikat export --database external [--source NAME] ...   # the external-data catalog
    unikat backup [DEST] [--keep N] [--pause S]     # DEST default: [backup] directory
    unikat backup --verify [SRC]                     # restore into a scratch home, compare
    unikat --home H restore SRC                      # H may be new and empty
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from index.home import Home

__all__ = ["add_commands"]


def _home(args: argparse.Namespace) -> Home:
    return Home(Path(args.home).resolve())


def _export_target(args: argparse.Namespace, config, external: bool) -> str | None:
    """Why `--database`, `--library` and `--source` do not go together, or None."""
    names = (config.database, config.external.database, "external")
    if args.database is not None and args.database.lower() not in {name.lower() for name in names}:
        return (f"--database {args.database!r}: export writes the union catalog ({config.database}) or the"
                f" external-data catalog ({config.external.database}); a library's records: --library")
    if external and args.library:
        return "--library and the external database: a library's records are in the union catalog"
    if args.source and not external:
        return f"--source is for the external-data catalog (--database {config.external.database})"
    return None


def cmd_export(args: argparse.Namespace) -> int:
    from index.dumps import DumpError, export, export_external, parse_since
    from zserver.cli import Progress

    home = _home(args)
    config = home.config()   # fails clearly without unikat.toml
    external = args.database is not None and args.database.lower() in (
        "external", config.external.database.lower())
    refused = _export_target(args, config, external)
    if refused:
        print(f"unikat: {refused}; nothing exported", file=sys.stderr)
        return 2
    if not external and not home.has_store():
        print(f"unikat: no catalog in {home.root} (nothing loaded yet)", file=sys.stderr)
        return 2
    what = (f"the external database {config.external.database}" + (f", source {args.source}" if args.source else "")
            if external else f"library {args.library}" if args.library else "the whole catalog")
    progress = Progress(f"exporting {what}", "records")

    def run(out, deleted_path: Path | None):
        if external:
            return export_external(home, out, source=args.source, fmt=args.format, since=since,
                                   deleted_path=deleted_path, include_restricted=args.include_restricted,
                                   progress=progress)
        return export(home, out, library=args.library, fmt=args.format, since=since, deleted_path=deleted_path,
                      include_restricted=args.include_restricted, progress=progress)

    partial = None
    try:
        since = parse_since(args.since) if args.since else ""
        if since and args.format == "pica" and not args.out:
            raise DumpError("PICA+ has no deletion record: give --out, and the deletions go to OUT.deleted")
        if args.out:
            out_path = Path(args.out)
            partial = out_path.with_name(out_path.name + ".partial")   # a broken export never looks whole
            with open(partial, "wb") as out:
                report = run(out, out_path.with_name(out_path.name + ".deleted") if since else None)
            partial.replace(out_path)
        else:
            report = run(sys.stdout.buffer, None)
    except DumpError as error:
        progress.done()
        if partial is not None:
            partial.unlink(missing_ok=True)
        print(f"unikat: {error}; nothing exported", file=sys.stderr)
        return 2
    progress.done()
    print(report.summary(what, args.out or "standard output"), file=sys.stderr if not args.out else sys.stdout)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from index import backup

    home = _home(args)
    config = home.config()
    dest = Path(args.dest) if args.dest else home.root / config.backup.directory
    try:
        if args.verify:
            result = backup.verify(home, backup.resolve(dest), log=_say)
            print(result.summary())
            return 0 if result.ok else 1
        keep = config.backup.keep if args.keep is None else args.keep
        made = backup.backup(home, dest, keep=keep, pause=args.pause, log=_say)
    except backup.BackupError as error:
        print(f"unikat: {error}", file=sys.stderr)
        return 1
    print(made.summary())
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from index import backup
    from index.loading.lock import HomeBusy
    from zserver.cli import BUSY, _index_progress, _procs

    home = _home(args)
    try:
        with _index_progress() as shown:
            done = backup.restore(home, backup.resolve(Path(args.source)), procs=_procs(), log=_say,
                                  wait=not args.no_wait, **shown)
    except backup.BackupError as error:
        print(f"unikat: {error}", file=sys.stderr)
        return 1
    except HomeBusy as busy:
        print(f"unikat: {busy}", file=sys.stderr)
        return BUSY
    print(done)
    return 0


def _say(message: str) -> None:
    print(f"unikat: {message}", file=sys.stderr, flush=True)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register export, backup and restore."""
    export = commands.add_parser("export", help="write a library's records or the whole catalog"
                                 " (MARC21, MARCXML, PICA+, MARC-in-JSON)")
    export.add_argument("--library", help="this library's records with its holdings (default: every title of the"
                        " catalog with every library's holdings)")
    export.add_argument("--database", help="external (or the [external] database name): the external-data"
                        " catalog's records with their provenance (default: the union catalog)")
    export.add_argument("--source", help="with the external database: only the records harvested from this source")
    export.add_argument("--format", choices=["marc21", "marcxml", "pica", "json"], default="marc21")
    export.add_argument("--since", help="only what changed since this date (UTC, 2026-12-01 or 2026-12-01T10:00);"
                        " deletions listed in OUT.deleted and, but for pica, as leader/05 d records")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.add_argument("--include-restricted", action="store_true",
                        help="export restricted databases and holdings of restricted libraries too")
    export.set_defaults(func=cmd_export)

    backup = commands.add_parser("backup", help="a consistent copy of the catalog store and configuration,"
                                 " while the server runs (or --verify one)")
    backup.add_argument("dest", nargs="?", help="directory of backups (default: [backup] directory of unikat.toml);"
                        " with --verify: a backup or a directory of them (the newest is checked)")
    backup.add_argument("--keep", type=int, help="backups kept in DEST (default: [backup] keep)")
    backup.add_argument("--pause", type=float, default=0.0,
                        help="seconds to pause between steps of the copy, to spare a busy disk")
    backup.add_argument("--verify", action="store_true",
                        help="restore the backup into a scratch home and compare counts and sample searches")
    backup.set_defaults(func=cmd_backup)

    restore = commands.add_parser("restore", help="bring back a backup (checked first) into --home, then"
                                  " rebuild the search-key files and the index")
    restore.add_argument("source", help="a backup, or a directory of backups (the newest is taken)")
    restore.add_argument("--no-wait", action="store_true", help="while a load runs, stop (status 75) instead of waiting")
    restore.set_defaults(func=cmd_restore)
