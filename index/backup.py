"""Backups of a home: `unikat backup DEST`, `unikat restore SRC`, `unikat backup --verify`.

A backup is a directory `DEST/unikat-backup-<UTC time>/` holding

    catalog.sqlite            the catalog store, copied with SQLite's online backup API
    external/catalog.sqlite   the external-data catalog's store (`index.external`), likewise,
                              when the home has one
    unikat.toml               the configuration
    manifest.json             size and SHA-256 of each, the stores' counts, when and from where

The store is the truth; search-key files and the index are derived and rebuilt on restore, and
reject files repeat the store's `rejects` table, so neither is copied.

Consistency while the server runs and loads go on: the copy is read inside one read transaction
of the store (WAL: writers go on, the copy is the snapshot at its start), in steps of pages, with
an optional pause between steps to spare a busy disk. Not a file copy: a file copied while a load
commits can be torn. The SQLite side (backup API, integrity check, counts) is
`index.store.snapshots`.

Crash safety: everything is written into a hidden `.unikat-backup-<time>.partial-<pid>` directory,
synced, and renamed to its final name at the very end; only then are old backups rotated out
(`keep`). A backup killed half-way leaves its partial directory (removed by the next backup once
its process is gone) and every earlier backup as it was.

Restore checks everything before it touches the home: every file's size and checksum, the copy's
`PRAGMA integrity_check` and its counts against the manifest. Then, holding the home's load lock
(no load or index build meanwhile), it writes the configuration (an existing different one is
kept as `unikat.toml.before-restore`), copies the store into the home's store with the backup
API again (so a server with the store open sees the new content, WAL and all), and rebuilds
the search-key files and the index, the external catalog's too. `verify` restores into a scratch home and compares counts
and a sample of searches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from index.external.store import ExternalHome
from index.home import Home
from index.store import snapshots

__all__ = ["BackupError", "Made", "Verified", "backup", "check", "resolve", "restore", "verify"]

PREFIX = "unikat-backup-"
MANIFEST = "manifest.json"
STORE = "catalog.sqlite"
CONFIG = "unikat.toml"
EXTERNAL = "external/catalog.sqlite"   # the external-data catalog's store, when the home has one
_PARTIAL = re.compile(r"\." + re.escape(PREFIX) + r".*\.partial-(\d+)")

Log = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why and what was left as it was."""


@dataclass
class Made:
    path: Path
    counts: dict
    seconds: float
    removed: list[Path] = field(default_factory=list)
    external: dict | None = None   # the external catalog's counts, when the home has one

    def summary(self) -> str:
        size = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file()) / 1e6
        text = (f"backup {self.path}: {self.counts['titles']} titles, {self.counts['records']} records,"
                f" {self.counts['holdings']} holdings")
        if self.external is not None:
            text += f", {self.external['records']} external records"
        text += f", {size:.1f} MB in {self.seconds:.1f}s"
        if self.removed:
            text += f"; rotated out {', '.join(p.name for p in self.removed)}"
        return text


@dataclass
class Verified:
    source: Path
    ok: bool
    lines: list[str]

    def summary(self) -> str:
        head = f"backup {self.source}: {'verified' if self.ok else 'VERIFICATION FAILED'}"
        return "\n".join([head, *(f"  {line}" for line in self.lines)])


def _quiet(message: str) -> None:
    pass


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- backup -------------------------------------------------------------------------------------

def backup(home: Home, dest: Path, *, keep: int = 7, pause: float = 0.0, log: Log = _quiet) -> Made:
    """Make one backup of `home` in `dest` and keep the newest `keep` there (see the module docstring)."""
    if keep < 1:
        raise BackupError(f"--keep must be 1 or more, not {keep}")
    if home.config().store.backend != "sqlite":   # a home without a (valid) unikat.toml raises here
        raise BackupError("the catalog store is in PostgreSQL ([store] backend): back it up with the server's"
                          " tools (pg_dump, base backups); `unikat backup` copies SQLite stores; no backup made")
    if not home.store_path.exists():
        raise BackupError(f"no catalog store in {home.root} (nothing loaded yet); no backup made")
    started = time.monotonic()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(dest, log)
        name = _new_name(dest)
        partial = dest / f".{name}.partial-{os.getpid()}"
        partial.mkdir()
    except OSError as error:
        raise BackupError(f"cannot write to {dest}: {error.strerror}; no backup made") from None
    try:
        copied = _copy_store(home.store_path, partial / STORE, pause, log)
        shutil.copyfile(home.config_path, partial / CONFIG)
        parts, external = [STORE, CONFIG], None
        if ExternalHome(home).exists():   # harvested records: a store of their own (index.external)
            (partial / EXTERNAL).parent.mkdir()
            external = _copy_store(ExternalHome(home).store_path, partial / EXTERNAL, pause, log)
            parts.append(EXTERNAL)
            _fsync((partial / EXTERNAL).parent)
        files = {}
        for part in parts:
            _fsync(partial / part)
            files[part] = {"bytes": (partial / part).stat().st_size, "sha256": _digest(partial / part)}
        manifest = {"format": 1, "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "home": str(home.root), "files": files, "counts": copied}
        if external is not None:
            manifest["external_counts"] = external
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        _fsync(partial / MANIFEST)
        _fsync(partial)
        final = dest / name
        partial.rename(final)   # the one step that makes the backup exist
        _fsync(dest)
    except (OSError, sqlite3.Error) as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"backup into {dest} failed: {_why(error)}; earlier backups are as they were") from None
    removed = _rotate(dest, keep)
    return Made(final, copied, time.monotonic() - started, removed, external)


def _why(error: OSError | sqlite3.Error) -> str:
    """What went wrong writing: a full disk shows as either, a file's OSError or SQLite's copy."""
    return str(getattr(error, "strerror", None) or error)


def _new_name(dest: Path) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name, number = PREFIX + stamp, 1
    while (dest / name).exists():   # two backups within one second
        number += 1
        name = f"{PREFIX}{stamp}-{number}"
    return name


def _copy_store(source: Path, target: Path, pause: float, log: Log) -> dict:
    """Copy the store with the backup API inside one read transaction; the copy's counts."""
    shown = [time.monotonic()]

    def step(total: int, remaining: int, pages: int) -> None:
        if time.monotonic() - shown[0] > 5:
            log(f"backup: {100 * (pages - remaining) / max(pages, 1):.0f}% of {total} pages copied")
            shown[0] = time.monotonic()
        if pause:
            time.sleep(pause)

    return snapshots.copy(source, target, step)


def _remove_stale_partials(dest: Path, log: Log) -> None:
    """Partial directories of backups whose process is gone (killed half-way)."""
    for path in dest.iterdir():
        match = _PARTIAL.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            log(f"removing {path.name}, left by a backup that did not finish")
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _complete(dest: Path) -> list[Path]:
    """The finished backups in `dest`, oldest first."""
    if not dest.is_dir():
        return []
    return sorted(p for p in dest.iterdir() if p.name.startswith(PREFIX) and (p / MANIFEST).is_file())


def _rotate(dest: Path, keep: int) -> list[Path]:
    old = _complete(dest)[:-keep]
    for path in old:
        shutil.rmtree(path)
    return old


# -- checking and restoring ---------------------------------------------------------------------

def resolve(path: Path) -> Path:
    """`path` if it is a backup, else the newest backup in the directory `path`."""
    if (path / MANIFEST).is_file():
        return path
    found = _complete(path)
    if not found:
        raise BackupError(f"{path} is no backup and holds none (no {MANIFEST})")
    return found[-1]


def check(source: Path) -> dict:
    """The manifest of backup `source` once every checksum, the store's integrity and its counts
    are right; BackupError naming the first thing that is not."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{source}: no readable {MANIFEST} ({error}); nothing restored") from None
    for name in (STORE, CONFIG):
        if name not in files:
            raise BackupError(f"{source}: the manifest lists no {name}; nothing restored")
    for name, expected in files.items():
        path = source / name
        if not path.is_file():
            raise BackupError(f"{source}: {name} is missing; nothing restored")
        if path.stat().st_size != expected["bytes"] or _digest(path) != expected["sha256"]:
            raise BackupError(f"{source}: {name} does not match its checksum in the manifest (damaged or changed);"
                              " nothing restored")
    _check_store(source, STORE, "the store", manifest.get("counts"))
    if EXTERNAL in files:
        _check_store(source, EXTERNAL, "the external catalog's store", manifest.get("external_counts"))
    return manifest


def _check_store(source: Path, name: str, what: str, expected: dict | None) -> None:
    """BackupError unless the store file `name` of backup `source` passes its integrity check
    and holds the `expected` counts."""
    try:
        found = snapshots.checked_counts(source / name)
    except snapshots.Damaged as damaged:
        raise BackupError(f"{source}: {what} fails PRAGMA integrity_check ({damaged}); nothing restored") from None
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source}: {name} is not a readable catalog store ({error}); nothing restored") from None
    if found != expected:
        raise BackupError(f"{source}: {name}'s counts differ from the manifest's; nothing restored")


def restore(home: Home, source: Path, *, procs: int = 1, log: Log = _quiet, wait: bool = True,
            progress=None, merging=None) -> str:
    """Check backup `source`, then make `home` (new or existing) hold it and rebuild the search-key
    files and the index; returns a one-line summary. HomeBusy (index.loading.lock) with
    `wait=False` while a load runs."""
    from index.config import ConfigError, parse_config
    from index.loading.lock import exclusive

    started = time.monotonic()
    manifest = check(source)
    config_text = (source / CONFIG).read_text(encoding="utf-8")
    try:
        parse_config(config_text, str(source / CONFIG))
    except ConfigError as error:
        raise BackupError(f"{error}; nothing restored") from None
    try:
        home.root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot make {home.root}: {error.strerror}; nothing restored") from None
    with exclusive(home, wait=wait, notify=log):
        if home.config_path.exists() and home.config_path.read_text(encoding="utf-8") != config_text:
            kept = home.root / (CONFIG + ".before-restore")
            shutil.copyfile(home.config_path, kept)
            log(f"the home's own configuration is kept as {kept.name}")
        partial = home.root / (CONFIG + ".restoring")
        try:
            partial.write_text(config_text, encoding="utf-8")
            partial.replace(home.config_path)
            snapshots.restore(source / STORE, home.store_path)
        except (OSError, sqlite3.Error) as error:
            raise BackupError(f"cannot restore into {home.root}: {_why(error)} (restore again once it can be"
                              " written)") from None
        titles = _rebuild(home, procs, progress, merging)
        external = _restore_external(home, source, manifest, procs, log)
    return (f"restored {source.name} ({manifest['created']}) into {home.root}: {manifest['counts']['titles']}"
            f" titles, {manifest['counts']['records']} records, {manifest['counts']['holdings']} holdings{external};"
            f" search-key files and index rebuilt ({titles} titles) in {time.monotonic() - started:.1f}s")


def _restore_external(home: Home, source: Path, manifest: dict, procs: int, log: Log) -> str:
    """Bring the backup's external catalog into `home` and rebuild its index (under its own
    lock, as a harvest takes); the summary's words about it."""
    from index.loading.lock import exclusive

    external = ExternalHome(home)
    if EXTERNAL not in manifest["files"]:
        if external.exists():
            log(f"the backup has no external catalog: {external.root} is kept as it was")
        return ""
    external.root.mkdir(exist_ok=True)
    with exclusive(external, notify=log):
        snapshots.restore(source / EXTERNAL, external.store_path)
        _rebuild(external, procs)
    return f", {manifest['external_counts']['records']} external records (index rebuilt)"


def _rebuild(home: Home, procs: int, progress=None, merging=None) -> int:
    """Rebuild the search-key files and the index of `home`'s just restored store; the titles."""
    from index.loading import indexing
    from index.store.catalog import CatalogStore

    store = CatalogStore.of(home)   # WAL again, and tables of newer versions
    try:
        with store.transaction():
            store.clear_all_pending()   # the rebuild takes every title anyway
        return indexing.rebuild(home, store, procs=procs, progress=progress, merging=merging)
    finally:
        store.close()


# -- verifying ----------------------------------------------------------------------------------

SAMPLE = 20
_PUNCTUATION = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum())


def verify(home: Home, source: Path, *, log: Log = _quiet) -> Verified:
    """Restore `source` into a scratch home, then compare its counts with the manifest, find each
    of a sample of titles by its own title words, and, when `home` still holds what the backup
    holds (same counts), compare the sample's hit counts with `home`'s."""
    scratch = Path(tempfile.mkdtemp(prefix="unikat-verify-"))
    lines: list[str] = []
    try:
        restore(Home(scratch), source, log=log)
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        ok, hits = _verify_restored(Home(scratch), manifest["counts"], "", lines)
        ok &= _compare_with_home(home, manifest, hits, lines)
        if "external_counts" in manifest:
            ok &= _verify_restored(ExternalHome(Home(scratch)), manifest["external_counts"], "external ", lines)[0]
    except BackupError as error:
        ok = False
        lines.append(str(error))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Verified(source, ok, lines)


def _verify_restored(restored: Home, expected: dict, label: str, lines: list[str]) -> tuple[bool, dict]:
    """The counts of the catalog restored into `restored` against `expected`, and a sample of its
    titles found by their title words in its rebuilt index; (all well, hit count per query)."""
    from index.search import Catalog

    catalog = Catalog(restored)
    try:
        counts = snapshots.counts(catalog.store)
        ok = counts == expected
        lines.append(f"{label + 'catalog ' if label else ''}counts {'equal' if ok else 'DIFFER'}: {counts['titles']}"
                     f" titles, {counts['records']} records, {counts['holdings']} holdings")
        queries = _sample_queries(catalog)
        hits, found = {}, True
        for isn, query in queries:
            result = catalog.search(query, catalog.databases()[0])
            hits[query] = result.size
            if isn not in result.isns():
                found = False
                lines.append(f"{label}title {isn} NOT FOUND by its own title words {query.text!r}")
    finally:
        catalog.close()
    lines.append(f"{len(queries)} sample {label}titles searched by their title words:"
                 f" {'all found' if found else 'some not found'}")
    return ok and found, hits


def _sample_queries(catalog) -> list:
    """(ISN, title-words Term) of up to SAMPLE titles spread over the catalog."""
    from index.query import Term
    from index.records.formats import parse
    from index.store import title_scans

    isns = title_scans.catalog_isns(catalog.store)
    step = max(1, len(isns) // SAMPLE)
    queries = []
    for isn in isns[::step][:SAMPLE]:
        title = parse(catalog.store.display(isn)).get("245")
        # words as written (split at spaces): \w would cut "Madanī" (combining macron) in two
        text = " ".join(title.get_subfields("a")) if title else ""
        words = [word for word in (part.strip(_PUNCTUATION) for part in text.split()) if len(word) >= 3][:3]
        if words:
            queries.append((isn, Term("title", " ".join(words))))
    return queries


def _compare_with_home(home: Home, manifest: dict, hits: dict, lines: list[str]) -> bool:
    from index import errors
    from index.search import Catalog
    from index.store.catalog import CatalogStore

    if not home.store_path.exists():
        lines.append(f"{home.root} holds no catalog: hit counts not compared with it")
        return True
    store = CatalogStore.of(home)
    try:
        now = snapshots.counts(store)
    finally:
        store.close()
    if now != manifest["counts"]:
        lines.append(f"{home.root} has changed since the backup ({now['titles']} titles now): hit counts not compared"
                     " with it")
        return True
    try:
        catalog = Catalog(home)
    except errors.CatalogError as error:
        lines.append(f"{home.root} cannot be searched ({error}): hit counts not compared with it")
        return True
    try:
        differ = [(query, count, catalog.search(query, catalog.databases()[0]).size) for query, count in hits.items()]
    finally:
        catalog.close()
    differ = [(query, restored, live) for query, restored, live in differ if restored != live]
    for query, restored, live in differ:
        lines.append(f"title {query.text!r}: {restored} hits restored, {live} in {home.root}")
    lines.append(f"hit counts of {len(hits)} searches compared with {home.root}: {'equal' if not differ else 'DIFFER'}")
    return not differ
