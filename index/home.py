"""A unikat home directory: `unikat.toml` plus everything the catalog writes.

    unikat.toml        configuration (libraries, sources, users, server settings)
    catalog.sqlite     the catalog store
    searchkeys/        the search-key files (TI.keys, PA.keys, ..., IC.tsv)
    whoosh/            the Whoosh index built from the search-key files
    rejects/           one reject file per load that rejected records
    logs/              server logs
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from index.consolidation.match import MatchRules

DEFAULT_CONFIG = '''# unikat configuration. Paths are relative to this file's directory.

[catalog]
name = "unikat union catalog"
# The union catalog's database name over Z39.50 and SRU; "Default" is an alias.
database = "unikat"

[server]
host = "127.0.0.1"
port = 2100
workers = 2                  # processes sharing the listening socket
idle_timeout = 900           # seconds without a request before the server closes the connection
max_message_size = 4194304   # largest PDU accepted and largest response sent, bytes
max_record_size = 1048576    # exceptionalRecordSize offered in Init
max_result_sets = 20         # result sets per Z39.50 session; beyond, the least recently used goes

# The search engine behind the catalog, built from the search-key files: "whoosh" (default),
# "sqlite" (SQLite FTS5) or "postings" (posting arrays searched with numpy: by far the fastest
# to build and to search, and the smallest while serving; see bench/RESULTS.md).
# After a change, `unikat index --full` builds the new engine's index.
[index]
engine = "whoosh"

# SRU (same port as Z39.50). All optional; the values shown are the defaults.
[sru]
default_records = 10         # maximumRecords when a request gives none
maximum_records = 50
result_set_ttl = 300         # seconds a result set id stays usable
maximum_result_set_ttl = 3600
result_sets = 100            # result sets kept per worker process
default_terms = 20           # scan
maximum_terms = 100
maximum_query_length = 2000

# One table per library delivering records. source_system names the system the records come
# from (part of the maintenance key); holdings says where holdings are:
#   "852"    - MARC 852 fields ($a library, $b location, $h call number, $z note)
#   "record" - each record stands for one copy of the library
#   "pica"   - PICA+ local and copy levels
# require_holdings rejects records without holdings (MELVYL: a severe error).
[libraries.A]
name = "Library A"
source_system = "A-ILS"
holdings = "852"
require_holdings = true
priority = 0

# Users for Init idPass authentication; restricted databases need a successful login.
[users.librarian]
password = "secret"

[databases]
restricted = []

# Consolidation (MELVYL): records of all libraries describing the same edition become one title.
# First pass: a shared LCCN/ISBN/ISSN/OCLC/national bibliography number + same year + same first
# 15 title letters. Second pass: each element adds its "agree" points when both records agree and
# takes away its "disagree" points when they differ; records match at `threshold`. Different
# languages, editions, volumes or carriers (print/online/microform) never match. `unikat clusters
# --rebuild` applies changed rules to the whole catalog. Defaults shown; tuned with
# bench/consolidate.py on labelled sets.
[consolidation]
enabled = true
threshold = 0.8

[consolidation.agree]
lccn = 0.5
isbn = 0.45
issn = 0.4
oclc = 0.5
nbn = 0.5
pubnum = 0.45
title = 0.35
date = 0.15
edition = 0.1
country = 0.05
author = 0.15
pagination = 0.2
publisher = 0.1

[consolidation.disagree]
lccn = 0.5
isbn = 0.45
issn = 0.4
oclc = 0.1
nbn = 0.3
pubnum = 0.2
title = 0.6
date = 1.0
edition = 0.05
country = 0.1
author = 0.3
pagination = 0.3
publisher = 0.1

# CCL qualifiers: name = Bib-1 attributes as YAZ writes them (u=use, r=relation, s=structure, t=truncation).
[ccl]
ti = "u=4 s=pw"
au = "u=1003 s=pw"
su = "u=21 s=pw"
isbn = "u=7"
issn = "u=8"
year = "u=31 r=o s=pw"
any = "u=1016 s=al,pw"
term = "u=1016 s=al,pw"
'''


@dataclass(frozen=True)
class LibraryConfig:
    code: str
    name: str
    source_system: str
    holdings: str = "852"
    require_holdings: bool = True
    priority: int = 0


@dataclass(frozen=True)
class ConsolidationConfig:
    """`[consolidation]`: whether loading merges records into titles, and the match rules."""

    enabled: bool = True
    rules: MatchRules = field(default_factory=MatchRules)


@dataclass
class Config:
    name: str = "unikat union catalog"
    database: str = "unikat"
    server: dict = field(default_factory=dict)
    libraries: dict[str, LibraryConfig] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    restricted: tuple[str, ...] = ()
    ccl: dict[str, str] = field(default_factory=dict)
    consolidation: ConsolidationConfig = field(default_factory=ConsolidationConfig)
    raw: dict = field(default_factory=dict)


class ConfigError(Exception):
    """unikat.toml is missing or wrong."""


def parse_config(text: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"unikat.toml: {error}") from None
    catalog = data.get("catalog", {})
    libraries = {}
    for code, table in data.get("libraries", {}).items():
        libraries[code] = LibraryConfig(
            code=code, name=table.get("name", code), source_system=table.get("source_system", code),
            holdings=table.get("holdings", "852"), require_holdings=table.get("require_holdings", True),
            priority=int(table.get("priority", 0)),
        )
        if libraries[code].holdings not in ("852", "record", "pica"):
            raise ConfigError(f"unikat.toml: library {code}: holdings must be 852, record or pica")
    users = {name: str(table.get("password", "")) for name, table in data.get("users", {}).items()}
    return Config(
        name=catalog.get("name", "unikat union catalog"), database=catalog.get("database", "unikat"),
        server=data.get("server", {}), libraries=libraries, users=users,
        restricted=tuple(data.get("databases", {}).get("restricted", ())), ccl=data.get("ccl", {}),
        consolidation=_consolidation(data.get("consolidation", {})), raw=data,
    )


def _consolidation(table: dict) -> ConsolidationConfig:
    try:
        rules = MatchRules.from_table(table)
    except ValueError as error:
        raise ConfigError(f"unikat.toml: {error}") from None
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("unikat.toml: [consolidation] enabled must be true or false")
    return ConsolidationConfig(enabled, rules)


class Home:
    """Paths of one catalog home and its configuration."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def config_path(self) -> Path:
        return self.root / "unikat.toml"

    @property
    def store_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def searchkeys_dir(self) -> Path:
        return self.root / "searchkeys"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    def exists(self) -> bool:
        return self.config_path.exists()

    def init(self, config_text: str = DEFAULT_CONFIG) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            self.config_path.write_text(config_text, encoding="utf-8")

    def config(self) -> Config:
        if not self.config_path.exists():
            raise ConfigError(f"no unikat.toml in {self.root} (run 'unikat init')")
        return parse_config(self.config_path.read_text(encoding="utf-8"))
