"""Index snapshots published in the catalog store, and homes that follow them (search hosts).

A catalog on PostgreSQL may be loaded and searched on several machines, each with the search
index in its own home. After a loading host changes its index it `publish`es it: each file's
contents go into the store once (content-addressed: `index_blobs`, by SHA-256, in parts of at
most 8 MiB) and a manifest names the files of that generation (`index_manifests`: relative
path -> [digest, size], the engine, and the publishing home's unikat.toml). Any home `sync`s to
the newest generation: it builds `DIR.new` from the files it already has with the same digest
(hard links) and the ones it downloads, then swaps the directory in as `index.engines.build`
does, so running engines take it up at their next refresh. Only the newest `KEEP` manifests
are kept, and only the blobs they name.

A SQLite store is one machine: there is nothing to replicate, and both functions do nothing.
This module knows the index only as a directory of files; what they mean is the engines'.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from index import engines
from index.home import Home
from index.store import index_files
from index.store.catalog import CatalogStore
from index.store.connection import Connection, connection, is_postgresql

__all__ = ["KEEP", "MARKER", "PART_SIZE", "ReplicaError", "Taken", "home_generation", "publish",
           "replica_config", "sync"]

PART_SIZE = 8 * 1024 * 1024   # bytes per stored part: a row PostgreSQL and psycopg handle without fuss
KEEP = 3   # newest manifests kept: a host still fetching an older one finds its blobs
MARKER = "replica.json"   # in the index directory: the generation it holds
_CACHE = ".replica-digests.json"   # in the home: digests of index files, by relative path and stat

class ReplicaError(Exception):
    """A published index cannot be taken: its files are gone from the store, or differ from
    their manifest, or it is of another engine than the home's."""


@dataclass(frozen=True)
class Taken:
    """What a `sync` did: the generation now in the home, and how its files came."""

    generation: int
    fetched: int    # files downloaded from the store
    kept: int       # files hard-linked from the index the home had
    seconds: float

    def __str__(self) -> str:
        return (f"generation {self.generation} taken in {self.seconds:.2f} s"
                f" ({self.fetched} files fetched, {self.kept} kept)")


def home_generation(home: Home) -> int:
    """The generation of the index in `home` (0: none published or taken yet)."""
    marker = engines.index_dir(home, home.config()) / MARKER
    try:
        return int(json.loads(marker.read_text(encoding="utf-8"))["generation"])
    except (OSError, ValueError, KeyError):
        return 0


def publish(home: Home, store: CatalogStore) -> int | None:
    """Publish the index of `home` as the store's next generation; returns it (None on SQLite).

    Uploads only the contents the store does not hold yet, in one store transaction (writers
    take turns), then drops manifests older than the newest `KEEP` and blobs none of them names.
    """
    if store.backend == "sqlite":
        return None
    config = home.config()
    directory = engines.index_dir(home, config)
    files = _Digests(home).of_directory(directory)
    index_files.create_tables(store)
    with store.transaction():
        held = index_files.held_digests(store)
        for relative, (digest, _size) in sorted(files.items()):
            if digest not in held:
                _upload(store, digest, directory / relative)
                held.add(digest)
        generation = index_files.add_manifest(store, engines.engine_name(config), files,
                                              home.config_path.read_text(encoding="utf-8"))
        index_files.prune(store, KEEP)
    _write_marker(directory, generation)
    return generation


def sync(home: Home, store: CatalogStore | Connection) -> Taken | None:
    """Bring the index of `home` to the store's newest generation, when that is newer than the
    home's; returns what was taken, None when the home is current (or the store is SQLite).
    `store` may be a bare connection: a search host opens no `CatalogStore` to follow, whose
    schema statements would contend with a loading host's. Raises `ReplicaError` when the
    generation cannot be taken (the home's index is unchanged)."""
    if not is_postgresql(store):
        return None
    db = connection(store)
    started = time.monotonic()
    newest = index_files.newest(db)
    if newest is None or newest[0] <= home_generation(home):
        return None
    generation, engine, files = newest
    config = home.config()
    if engine != engines.engine_name(config):
        raise ReplicaError(f"generation {generation} is a {engine} index; this home's engine is"
                           f" {engines.engine_name(config)}")
    directory = engines.index_dir(home, config)
    staging = directory.with_name(directory.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    digests = _Digests(home)
    fetched = kept = 0
    for relative, (digest, size) in sorted(files.items()):
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        current = directory / relative
        if current.is_file() and digests.of_file(directory, relative) == digest:
            os.link(current, target)   # same contents: share the file, do not fetch it again
            kept += 1
        else:
            _download(db, digest, size, target)
            fetched += 1
        digests.remember(staging, relative, digest)   # the key survives the rename below
    digests.save()
    _write_marker(staging, generation)
    if directory.exists():
        shutil.rmtree(directory)
    staging.rename(directory)
    return Taken(generation, fetched, kept, time.monotonic() - started)


def replica_config(published: str, dsn: str) -> str:
    """The unikat.toml of a search host: the publishing home's `published`, its `[store]` table
    replaced by one at `dsn` (the host may reach the store by another address)."""
    text = re.sub(r"(?ms)^\[store\][ \t]*(#[^\n]*)?$.*?(?=^\[|\Z)", "", published)
    return text.rstrip("\n") + f'\n\n[store]\nbackend = "postgresql"\ndsn = {json.dumps(dsn)}\n'


def _write_marker(directory: Path, generation: int) -> None:
    (directory / MARKER).write_text(json.dumps({"generation": generation}) + "\n", encoding="utf-8")


def _upload(store: CatalogStore, digest: str, path: Path) -> None:
    with path.open("rb") as source:
        part = 0
        while True:
            data = source.read(PART_SIZE)
            if not data and part:
                break
            index_files.put_part(store, digest, part, data)
            part += 1
            if len(data) < PART_SIZE:
                break


def _download(db: Connection, digest: str, size: int, target: Path) -> None:
    """Write the stored contents of `digest` to `target`, checking its size and digest."""
    hasher = hashlib.sha256()
    written = 0
    with target.open("wb") as out:
        for data in index_files.blob_parts(db, digest):
            hasher.update(data)
            out.write(data)
            written += len(data)
    if written != size or hasher.hexdigest() != digest:
        raise ReplicaError(f"{target.name}: the store's copy is missing or damaged (digest {digest[:12]},"
                           f" {written} of {size} bytes)")


class _Digests:
    """SHA-256 of index files, cached in the home by (relative path, size, mtime_ns, inode), so
    unchanged files (most segments of a big index) are not read again at each publish or sync."""

    def __init__(self, home: Home) -> None:
        self._path = home.root / _CACHE
        try:
            self._known: dict[str, list] = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._known = {}

    def of_directory(self, directory: Path) -> dict[str, list]:
        """relative path -> [digest, size] of every file under `directory` but the marker."""
        found = {}
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if path.is_file() and relative != MARKER:
                found[relative] = [self.of_file(directory, relative), path.stat().st_size]
        self._known = {relative: self._known[relative] for relative in found if relative in self._known}
        self.save()
        return found

    def of_file(self, directory: Path, relative: str) -> str:
        path = directory / relative
        key = _stat_key(path)
        known = self._known.get(relative)
        if known is not None and known[:3] == key:
            return known[3]
        hasher = hashlib.sha256()
        with path.open("rb") as source:
            while chunk := source.read(1 << 20):
                hasher.update(chunk)
        self._known[relative] = [*key, hasher.hexdigest()]
        return hasher.hexdigest()

    def remember(self, directory: Path, relative: str, digest: str) -> None:
        self._known[relative] = [*_stat_key(directory / relative), digest]

    def save(self) -> None:
        temporary = self._path.with_name(self._path.name + ".tmp")
        temporary.write_text(json.dumps(self._known), encoding="utf-8")
        temporary.replace(self._path)


def _stat_key(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, status.st_ino]
