"""unikat.toml: its default text, and the one parser that turns it into typed, checked sections.

This module owns the file's shape: which sections and keys exist, what each value may be,
and the defaults. `parse_config` reads the whole file once, when a command starts; an unknown
section or key, a value of the wrong type or out of range raises `ConfigError` naming the
file, the section and key, and what is allowed, so a mistake stops `unikat` at start instead
of surfacing in some later request.

    [catalog]          Config.name, Config.database
    [server]           ServerConfig
    [index]            IndexConfig
    [sru]              SruConfig (`zserver.sru` knows it as `SruSettings`)
    [libraries.CODE]   LibraryConfig, one per library
    [users.NAME]       Config.users: name -> PasswordHash (`index.passwords`); its `library`:
                       Config.user_libraries (what the user may change by Z39.50 Update)
    [databases]        Config.restricted
    [consolidation]    ConsolidationConfig (the match rules checked by `MatchRules.from_table`)
    [ccl]              Config.ccl: qualifier name -> Bib-1 attribute line
    [virtual.CODE]     Config.virtual: code -> VirtualLibraryConfig (`index.rules.config`)
    [consortia.CODE]   Config.consortia: code -> ConsortiumConfig (`index.consortia`)
    [ill]              IllConfig (interlibrary loan; library profiles: ill_* in [libraries.CODE])
    [linkcheck]        LinkcheckConfig (`unikat linkcheck`)
    [backup]           BackupConfig
    [sources.NAME]     Config.sources: name -> SourceProfile (`index.sources`, checked there)
    [oai]              OaiConfig (the OAI-PMH provider, `zserver.oai`)
    [metrics]          MetricsConfig (Prometheus /metrics, `zserver.metrics`)
    [external]         ExternalConfig (harvested external-data catalog, `index.external`)

It knows no protocol and does not import `zserver`: a CCL line is checked here as a string
and parsed by `zserver.querylang.ccl`; a recordSchema name is looked up by the SRU handler.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from index.consolidation.match import MatchRules
from index.consortia import ConsortiumConfig, parse_consortia
from index.passwords import PasswordHash
from index.rules.config import VirtualLibraryConfig, parse_virtual
from index.sources import SourceProfile, parse_sources

__all__ = ["DEFAULT_CONFIG", "ENGINES", "HOLDINGS", "Config", "ConfigError", "ConsolidationConfig",
           "ExternalConfig", "IllConfig", "IndexConfig", "LibraryConfig", "LinkcheckConfig", "MetricsConfig", "OaiConfig",
           "ServerConfig", "SruConfig", "StoreConfig", "parse_config"]

ENGINES = ("whoosh", "postings")
"""Search engine names for `[index] engine`; `index.engines` has one implementation of each."""

STORE_BACKENDS = ("sqlite", "postgresql")
"""Where the catalog store lives (`[store] backend`): `index.store.catalog.CatalogStore`."""

HOLDINGS = ("852", "record", "pica", "852-all")
"""Where a library's holdings are (`[libraries.CODE] holdings`), as `index.loading.load` reads them."""

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
# Connections, counted per worker process. Over a limit, a new connection gets a refusal after its
# first byte (Z39.50: Close "resources"; HTTP: 503 with Retry-After) and is closed. Behind a
# reverse proxy every HTTP client has the proxy's address: raise max_connections_per_address.
max_connections = 400        # in all; the file limit (ulimit -n) must leave 100 descriptors beside them
max_connections_per_address = 100
first_byte_timeout = 20      # seconds from connecting to the first byte
init_timeout = 30            # seconds from the first byte to a whole Z39.50 InitRequest
max_message_size = 4194304   # largest PDU accepted and largest response sent, bytes
max_pdu_elements = 100000    # most BER values in one incoming PDU (bounds the work of reading it)
max_record_size = 1048576    # exceptionalRecordSize offered in Init
max_result_sets = 20         # result sets per Z39.50 session; beyond, the least recently used goes
http_request_timeout = 30    # seconds for an HTTP request (headers and body) to arrive whole; else 408, close
http_idle_timeout = 120      # seconds without a byte between HTTP keep-alive requests before the close
# Failed logins: after max_login_failures within login_failure_window seconds for one user name
# or one client address, logins from it (even right ones) are refused for login_lockout seconds.
# Counted per worker process.
max_login_failures = 5
login_failure_window = 60
login_lockout = 60
# Seconds of search work (as [index] max_query_seconds counts it) one Z39.50 connection, or one
# client address over HTTP, may use within query_time_window seconds; beyond, its searches get
# Bib-1 31 / SRU 47 (HTTP 429) until older ones leave the window.
max_query_time = 30
query_time_window = 60
decoded_requests = 1024      # Z39.50 requests clients repeat byte for byte, kept decoded per worker; 0: none

# Where the catalog store lives: "sqlite" (catalog.sqlite here, the default), or "postgresql"
# for more than one machine, with dsn = "postgresql://user@host/database" (libpq form).
[store]
backend = "sqlite"

# The search engine behind the catalog, built from the search-key files: "whoosh" (default) or
# "postings" (posting arrays searched with numpy: by far the fastest to build and to search,
# and the smallest while serving; see bench/RESULTS.md).
# After a change, `unikat index --full` builds the new engine's index.
# What one search may cost: the index terms one truncated or masked word may stand for (Zebra's
# truncmax), those of all truncated words of a query together, and the seconds of work of one
# search; beyond, the search is refused (Bib-1 7 or 31, SRU 29 or 47) and the worker goes on.
[index]
engine = "whoosh"
max_truncation_terms = 20000
max_query_terms = 30000
max_query_seconds = 3
max_term_words = 100         # words one search term may have (a pasted page costs memory per word)
max_term_characters = 1000   # ... and characters
kept_searches = 1000         # search results kept per worker process until the catalog changes; 0: none
kept_hits = 1000000          # ... holding at most this many hits and query characters together (a hit 10-100 bytes)

# SRU (same port as Z39.50). All optional; the values shown are the defaults.
[sru]
default_records = 10         # maximumRecords when a request gives none
maximum_records = 50
default_schema = "marcxml"   # recordSchema when a request gives none
result_set_ttl = 300         # seconds a result set id stays usable
maximum_result_set_ttl = 3600
result_sets = 100            # result sets kept per worker process
default_terms = 20           # scan
maximum_terms = 100
maximum_query_length = 2000
hit_count_answers = 1000     # hit-count-only answers kept per worker process until the catalog changes; 0: none

# One table per library delivering records. source_system names the system the records come
# from (part of the maintenance key); holdings says where holdings are:
#   "852"    - MARC 852 fields ($a library, $b location, $h call number, $z note)
#   "record" - each record stands for one copy of the library
#   "pica"   - PICA+ local and copy levels
#   "852-all" - 852 fields of every library named in $a (a union source, e.g. `unikat export`)
# require_holdings rejects records without holdings (MELVYL: a severe error): with "852", every
# record without an 852 of the library is rejected; a library whose records carry no 852 (one
# record = one copy) needs holdings = "record".
# id_from_035: for records without 001, the 035 $a starting with this prefix is the control
# number, e.g. "(OCoLC)" (unset: such records are rejected).
[libraries.A]
name = "Library A"
source_system = "A-ILS"
holdings = "852"
require_holdings = true
priority = 0
# id_from_035 = "(OCoLC)"

# Users for Init idPass authentication; restricted databases need a successful login.
# Passwords are stored only as salted scrypt hashes: `unikat user set-password NAME` adds a user
# or changes a password and writes the table below (plaintext `password = ...` is refused):
# [users.librarian]
# password_hash = "scrypt$16384$8$1$..."
# library = "A"      # may insert, replace and delete library A's records by Z39.50 Update

[databases]
restricted = []

# Interlibrary loan (`unikat ill`, Z39.50 ItemOrder, ISO 18626 at /iso18626, the web order form).
# Each library's profile is in its [libraries.CODE] table: ill_region, ill_region_order,
# ill_serves, ill_prefer, ill_lends, ill_max_loans, ill_max_copies, address (index/ill/routing.py).
# [ill]
# units_per_order = 2        # units an order costs (accounts with a quota pay with the quota)
# circulation_days = 10      # days a supplier has to answer before the order passes on
# central_desk = "ZFL"       # gets free orders (titles without holdings)
# order_prefix = "UNI"       # order numbers: prefix + 9 digits
# default_region = ""        # region of holding libraries without a [libraries.CODE] table

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

# `unikat linkcheck`: requests at once in all and per host, seconds between two requests to one
# host, seconds a request may take, redirects followed. Defaults shown.
# [linkcheck]
# concurrency = 50
# per_host = 2
# delay = 0.5
# timeout = 15
# max_redirects = 10

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

# Source profiles: how one vendor's or system's files are read (`unikat load --source NAME FILE`);
# see index/sources.py for every key. Example: ekz records for library A, without holdings.
# [sources.ekz]
# library = "A"
# encoding = "utf-8"              # overrides a leader/09 that says MARC-8
# id_prefix = "ekz"
# drop = ["9XX"]
# add = ["852 __ $aA$bNeuerwerbung"]

# Virtual libraries: holdings built by a rule, not delivered (`unikat lfer`; loads run it for the
# titles they touch). Rule "lfer": SWB's licence-free remote electronic resources.
# [virtual.LFER]
# name = "LFER: licence-free electronic resources"
# rule = "lfer"
# Consortia: a holding under the consortium's sigel counts for every member library.
# [consortia."WWW 1"]
# name = "Consortium WWW 1"
# members = ["A", "B"]

# Backups (`unikat backup [DEST]`): the directory used when DEST is not given (relative to this
# file's directory) and how many backups are kept there.
[backup]
directory = "backups"
keep = 7

# OAI-PMH 2.0 at /oai (same port). Items are identified as oai:<repository_identifier>:<ISN>;
# lists come page_size items at a time; a resumption token is good for token_lifetime seconds.
[oai]
enabled = true
repository_identifier = "unikat.example.org"   # a domain name of yours
admin_email = "catalog@unikat.example.org"
base_url = ""                # the address harvesters use, e.g. "https://catalog.example.org/oai"; "": from Host
page_size = 100
token_lifetime = 86400

# Prometheus metrics at /metrics (same port): off unless enabled, and then only for the client
# addresses in `allow` (others get 404).
[metrics]
enabled = false
allow = ["127.0.0.1", "::1"]

# The external-data catalog (`unikat harvest`, `unikat adopt`): records harvested from other
# servers, kept apart from the union catalog and searchable as their own database. Between two
# requests to a remote server harvest waits `delay` seconds; a failed request is tried again
# `retries` times, waiting 1, 2, 4 ... seconds; `page_size` records are asked for at a time.
[external]
database = "external"
delay = 1.0
retries = 3
page_size = 50
timeout = 60
'''


# --- the sections --------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerConfig:
    """`[server]`: where `unikat serve` listens, with how many processes, and the Z39.50
    limits: sizes in bytes, the idle timeout in seconds, result sets per session."""

    host: str = "127.0.0.1"
    port: int = 2100                      # 0 picks a free port
    workers: int = 2
    idle_timeout: float = 900.0
    max_connections: int = 400            # per worker process
    max_connections_per_address: int = 100
    first_byte_timeout: float = 20.0      # from connecting
    init_timeout: float = 30.0            # from the first byte to a whole InitRequest
    max_message_size: int = 4 * 1024 * 1024
    max_pdu_elements: int = 100_000
    max_record_size: int = 1024 * 1024
    max_result_sets: int = 20
    http_request_timeout: float = 30.0    # a request's head and body must arrive within (slowloris)
    http_idle_timeout: float = 120.0      # between HTTP keep-alive requests
    max_login_failures: int = 5           # per user name and per client address ...
    login_failure_window: float = 60.0    # ... within these seconds, then
    login_lockout: float = 60.0           # seconds every login of that name or address is refused
    max_query_time: float = 30.0          # seconds of search work per connection (HTTP: address) ...
    query_time_window: float = 60.0       # ... within these seconds (zserver.querytime)
    decoded_requests: int = 1024          # Z39.50 requests kept decoded per worker (zserver.z3950.session)


@dataclass(frozen=True)
class StoreConfig:
    """`[store]`: where the catalog store lives: `sqlite` (catalog.sqlite in the home, the
    default) or `postgresql` (`dsn`: a libpq connection string, e.g.
    "postgresql://unikat@db.example.org/catalog"), for more than one machine."""

    backend: str = "sqlite"
    dsn: str = ""

    @property
    def postgresql(self) -> str:
        """The DSN to connect to, "" for the SQLite file of the home."""
        return self.dsn if self.backend == "postgresql" else ""


@dataclass(frozen=True)
class IndexConfig:
    """`[index]`: the search engine behind the catalog, one of `ENGINES`, and what one search
    may cost (`index.engines.base.QueryLimits`)."""

    engine: str = "whoosh"
    max_truncation_terms: int = 20_000   # index terms one truncated or masked word may stand for
    max_query_terms: int = 30_000        # ... all truncated words of one query together
    max_query_seconds: float = 3.0       # work of one search
    max_term_words: int = 100            # words of one search term (Bib-1 11, SRU 23 beyond)
    max_term_characters: int = 1000      # ... and its characters
    kept_searches: int = 1000            # results kept per worker until the catalog changes (index.kept)
    kept_hits: int = 1_000_000           # ... with at most this many hits and query characters together


@dataclass(frozen=True)
class SruConfig:
    """`[sru]`: defaults and limits of the SRU service, published in explain's configInfo.
    Record counts, seconds for the result-set lifetimes; `result_sets` bounds each worker
    process's cache of result sets, `hit_count_answers` its cache of answers that carry a hit
    count only (index.kept)."""

    default_records: int = 10
    maximum_records: int = 50
    default_schema: str = "marcxml"
    result_set_ttl: int = 300
    maximum_result_set_ttl: int = 3600
    result_sets: int = 100
    default_terms: int = 20
    maximum_terms: int = 100
    maximum_query_length: int = 2000
    hit_count_answers: int = 1000


@dataclass(frozen=True)
class LibraryConfig:
    """`[libraries.CODE]`: one library delivering records."""

    code: str
    name: str
    source_system: str
    holdings: str = "852"
    require_holdings: bool = True
    priority: int = 0
    id_from_035: str = ""   # records without 001: the 035 $a with this prefix, e.g. "(OCoLC)"
    isil: str = ""          # the library's ISIL (ISO 15511), e.g. "DE-7": ISO 20775 holdings name it
    # Interlibrary loan profile (`index.ill.routing` says how routing uses it)
    address: str = ""                       # postal address, for order slips
    ill_region: str = ""                    # its lending region ("": [ill] default_region)
    ill_region_order: tuple[str, ...] = ()  # its own orders: regions tried after its own, in order
    ill_serves: tuple[str, ...] = ()        # regions whose orders it takes; empty: every region
    ill_prefer: tuple[str, ...] = ()        # preferred suppliers (transport routes), in order
    ill_lends: bool = True                  # False: lends nothing by interlibrary loan
    ill_max_loans: int = 0                  # open loan orders at most (0: no maximum)
    ill_max_copies: int = 0                 # open copy orders at most (0: no maximum)


@dataclass(frozen=True)
class BackupConfig:
    """`[backup]`: where `unikat backup` writes when no DEST is given (relative to the home),
    and how many backups it keeps there (`index.backup`)."""

    directory: str = "backups"
    keep: int = 7


@dataclass(frozen=True)
class IllConfig:
    """`[ill]`: interlibrary loan (`index.ill`): units an order costs, the days a supplier has
    (its deadline), the central desk that gets free orders, the order number prefix, and the
    region of holding libraries without a `[libraries.CODE]` table."""

    units_per_order: int = 2
    circulation_days: float = 10.0
    central_desk: str = "ZFL"
    order_prefix: str = "UNI"
    default_region: str = ""


@dataclass(frozen=True)
class ConsolidationConfig:
    """`[consolidation]`: whether loading merges records into titles, and the match rules."""

    enabled: bool = True
    rules: MatchRules = field(default_factory=MatchRules)


@dataclass(frozen=True)
class LinkcheckConfig:
    """`[linkcheck]`: how `unikat linkcheck` asks hosts (`index.links.check.CheckSettings`):
    requests at once in all and per host, seconds between two request starts to one host,
    seconds one request may take, redirects followed at most."""

    concurrency: int = 50
    per_host: int = 2
    delay: float = 0.5
    timeout: float = 15.0
    max_redirects: int = 10
    user_agent: str = "unikat-linkcheck/0.1"


@dataclass(frozen=True)
class OaiConfig:
    """`[oai]`: the OAI-PMH provider (`zserver.oai`): whether /oai answers, the repository
    identifier in item identifiers, the admin e-mail and base URL Identify gives (base URL
    empty: from the request's Host), items per list response, seconds a resumption token lasts."""

    enabled: bool = True
    repository_identifier: str = "unikat.example.org"
    admin_email: str = "catalog@unikat.example.org"
    base_url: str = ""
    page_size: int = 100
    token_lifetime: int = 86400


@dataclass(frozen=True)
class MetricsConfig:
    """`[metrics]`: Prometheus metrics at /metrics (`zserver.metrics`), off by default; when on,
    only for the client addresses in `allow`."""

    enabled: bool = False
    allow: tuple[str, ...] = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class ExternalConfig:
    """`[external]`: the external-data catalog (`index.external`): its database name, and how
    `unikat harvest` treats a remote server (seconds between requests, retries of a failed
    request, records per request, seconds a request may take)."""

    database: str = "external"
    delay: float = 1.0
    retries: int = 3
    page_size: int = 50
    timeout: float = 60.0


@dataclass
class Config:
    """The whole of unikat.toml. `[catalog]` and `[databases]` are kept as the three plain
    fields every layer reads (`name`, `database`, `restricted`)."""

    name: str = "unikat union catalog"
    database: str = "unikat"
    server: ServerConfig = field(default_factory=ServerConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    sru: SruConfig = field(default_factory=SruConfig)
    libraries: dict[str, LibraryConfig] = field(default_factory=dict)
    users: dict[str, PasswordHash] = field(default_factory=dict)
    user_libraries: dict[str, str] = field(default_factory=dict)   # [users.NAME] library: Z39.50 Update
    restricted: tuple[str, ...] = ()
    ccl: dict[str, str] = field(default_factory=dict)
    consolidation: ConsolidationConfig = field(default_factory=ConsolidationConfig)
    sources: dict[str, SourceProfile] = field(default_factory=dict)   # [sources.NAME], index.sources
    backup: BackupConfig = field(default_factory=BackupConfig)
    virtual: dict[str, VirtualLibraryConfig] = field(default_factory=dict)   # [virtual.CODE], index.rules
    consortia: dict[str, ConsortiumConfig] = field(default_factory=dict)     # [consortia.CODE], index.consortia
    linkcheck: LinkcheckConfig = field(default_factory=LinkcheckConfig)
    ill: IllConfig = field(default_factory=IllConfig)
    oai: OaiConfig = field(default_factory=OaiConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    external: ExternalConfig = field(default_factory=ExternalConfig)


class ConfigError(Exception):
    """unikat.toml is missing or wrong; the message names the file, the key and what is allowed."""


# --- what each key accepts -----------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    """What one key accepts: `allowed` completes "must be ...", `accepts` tests the TOML
    value, `convert` turns an accepted value into the field's type."""

    allowed: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda value: value


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)   # TOML true is no number


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(low: int, high: int | None = None, what: str = "an integer") -> _Rule:
    allowed = f"{what} >= {low}" if high is None else f"{what} from {low} to {high}"
    return _Rule(allowed, lambda value: _is_integer(value) and low <= value and (high is None or value <= high))


def _is_network(value: Any) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except (TypeError, ValueError):
        return False
    return True


def _is_password_hash(value: Any) -> bool:
    try:
        PasswordHash.parse(value if isinstance(value, str) else "")
    except ValueError:
        return False
    return True


def _one_of(names: tuple[str, ...]) -> _Rule:
    return _Rule("one of " + ", ".join(f'"{name}"' for name in names),
                 lambda value: isinstance(value, str) and value in names)


_TEXT = _Rule("a non-empty string", lambda value: isinstance(value, str) and bool(value.strip()))
_FLAG = _Rule("true or false", lambda value: isinstance(value, bool))
_NAMES = _Rule("a list of strings", lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
               tuple)
_POINTS = _Rule("a table of element = points", lambda value: isinstance(value, dict))
_SECONDS = _Rule("a number of seconds > 0", lambda value: _is_number(value) and value > 0, float)
_TTL = _integer(0, what="a whole number of seconds")
_BYTES = _integer(1, what="a number of bytes")

_CATALOG = {"name": _TEXT, "database": _TEXT}
_SERVER = {"host": _TEXT, "port": _integer(0, 65535), "workers": _integer(1), "idle_timeout": _SECONDS,
           "max_connections": _integer(1, what="a number of connections"),
           "max_connections_per_address": _integer(1, what="a number of connections"),
           "first_byte_timeout": _SECONDS, "init_timeout": _SECONDS,
           "max_pdu_elements": _integer(1, what="a number of BER values"),
           "max_message_size": _BYTES, "max_record_size": _BYTES, "max_result_sets": _integer(1),
           "http_request_timeout": _SECONDS, "http_idle_timeout": _SECONDS,
           "max_login_failures": _integer(1), "login_failure_window": _SECONDS, "login_lockout": _SECONDS,
           "max_query_time": _SECONDS, "query_time_window": _SECONDS,
           "decoded_requests": _integer(0, what="a number of requests")}
_STORE = {"backend": _one_of(STORE_BACKENDS),
          "dsn": _Rule('a libpq connection string such as "postgresql://unikat@db.example.org/catalog"',
                       lambda value: isinstance(value, str) and (value == "" or "=" in value
                                                                 or value.startswith(("postgresql://", "postgres://"))))}
_INDEX = {"engine": _one_of(ENGINES), "max_truncation_terms": _integer(1, what="a number of terms"),
          "max_query_terms": _integer(1, what="a number of terms"), "max_query_seconds": _SECONDS,
          "max_term_words": _integer(1, what="a number of words"),
          "max_term_characters": _integer(1, what="a number of characters"),
          "kept_searches": _integer(0, what="a number of searches"), "kept_hits": _integer(0, what="a number of hits")}
_SRU = {"default_records": _integer(0), "maximum_records": _integer(1), "default_schema": _TEXT,
        "result_set_ttl": _TTL, "maximum_result_set_ttl": _TTL, "result_sets": _integer(1),
        "default_terms": _integer(1), "maximum_terms": _integer(1),
        "maximum_query_length": _integer(1, what="a number of characters"),
        "hit_count_answers": _integer(0, what="a number of answers")}
_LIBRARY = {"name": _TEXT, "source_system": _TEXT, "holdings": _one_of(HOLDINGS), "require_holdings": _FLAG,
            "priority": _Rule("an integer", _is_integer), "id_from_035": _TEXT,
            "isil": _Rule('an ISIL (ISO 15511) such as "DE-7"', lambda value: isinstance(value, str)
                          and re.fullmatch(r"[A-Z]{1,4}-[A-Za-z0-9:/-]{1,11}", value) is not None),
            "address": _TEXT, "ill_region": _TEXT, "ill_region_order": _NAMES, "ill_serves": _NAMES,
            "ill_prefer": _NAMES, "ill_lends": _FLAG, "ill_max_loans": _integer(0, what="a number of orders"),
            "ill_max_copies": _integer(0, what="a number of orders")}
_ILL = {"units_per_order": _integer(0, what="a number of units"),
        "circulation_days": _Rule("a number of days > 0", lambda value: _is_number(value) and value > 0, float),
        "central_desk": _TEXT, "default_region": _TEXT,
        "order_prefix": _Rule("capital letters A-Z", lambda value: isinstance(value, str) and value.isascii()
                              and value.isalpha() and value.isupper())}
_USER = {"password_hash": _Rule("a hash written by `unikat user set-password` (scrypt$N$r$p$salt$hash)",
                                _is_password_hash, PasswordHash.parse)}
_USER_LIBRARY = {"library": _TEXT}   # the library whose records the user maintains (Z39.50 Update)
_DATABASES = {"restricted": _NAMES}
_CONSOLIDATION = {"enabled": _FLAG, "threshold": _Rule("a number > 0", lambda value: _is_number(value) and value > 0),
                  "agree": _POINTS, "disagree": _POINTS}
_BACKUP = {"directory": _TEXT, "keep": _integer(1, what="a number of backups")}
_LINKCHECK = {"concurrency": _integer(1, what="a number of requests"), "per_host": _integer(1, what="a number of requests"),
              "delay": _Rule("a number of seconds >= 0", lambda value: _is_number(value) and value >= 0, float),
              "timeout": _SECONDS, "max_redirects": _integer(0), "user_agent": _TEXT}
_OAI = {"enabled": _FLAG, "admin_email": _Rule("an e-mail address", lambda value: isinstance(value, str)
                                               and re.fullmatch(r"\S+@(\S+\.)+\S+", value) is not None),
        "repository_identifier": _Rule('a domain name such as "catalog.example.org"', lambda value: isinstance(value, str)
                                       and re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+", value)
                                       is not None),
        "base_url": _Rule('"" or an http(s) URL', lambda value: isinstance(value, str)
                          and (value == "" or re.fullmatch(r"https?://\S+", value) is not None)),
        "page_size": _integer(1, 10000, "a number of items"), "token_lifetime": _integer(60, what="a number of seconds")}
_METRICS = {"enabled": _FLAG,
            "allow": _Rule('a list of IP addresses or networks, such as ["127.0.0.1", "::1", "10.0.0.0/8"]',
                           lambda value: isinstance(value, list) and all(_is_network(v) for v in value), tuple)}
_EXTERNAL = {"database": _Rule("a database name of letters, digits, '-' and '_'", lambda value: isinstance(value, str)
                               and re.fullmatch(r"[A-Za-z0-9_-]+", value) is not None),
             "delay": _Rule("a number of seconds >= 0", lambda value: _is_number(value) and value >= 0, float),
             "retries": _integer(0, what="a number of retries"), "page_size": _integer(1, 1000, "a number of records"),
             "timeout": _SECONDS}
_CCL_LINE = _Rule('Bib-1 attributes as YAZ writes them, such as "u=4 s=pw"',
                  lambda value: isinstance(value, str) and bool(value.strip()))

_SECTIONS = ("catalog", "server", "store", "index", "sru", "libraries", "users", "databases", "consolidation", "ccl",
             "sources", "backup", "virtual", "consortia", "linkcheck", "ill", "oai", "metrics", "external")


# --- parsing -------------------------------------------------------------------------------

def parse_config(text: str, source: str = "unikat.toml") -> Config:
    """Parse and check the text of unikat.toml; `source` names the file in messages.

    Raises ConfigError for TOML syntax, an unknown section or key, a value of the wrong type
    or out of range, e.g. `unikat.toml: [server] idle_timeout: must be a number of seconds
    > 0, not 'abc'`. Absent sections and keys take the defaults of DEFAULT_CONFIG.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: {error}") from None
    for name in data:
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}] (allowed: {', '.join(_SECTIONS)})")
    section = {name: _table(source, name, data.get(name, {})) for name in _SECTIONS}
    catalog = _values(source, "catalog", section["catalog"], _CATALOG)
    libraries = {}
    for code, table in section["libraries"].items():
        values = _values(source, f"libraries.{code}", table, _LIBRARY)
        libraries[code] = LibraryConfig(**{"code": code, "name": code, "source_system": code, **values})
    users, user_libraries = {}, {}
    for name, table in section["users"].items():
        if isinstance(table, dict) and "password" in table:   # never echo the value: it is a password
            raise ConfigError(f"{source}: [users.{name}] password: plaintext passwords are refused; `unikat user"
                              f" migrate` replaces them by salted hashes (or `unikat user set-password {name}`)")
        library = _values(source, f"users.{name}", {"library": table.pop("library")}, _USER_LIBRARY) \
            if isinstance(table, dict) and "library" in table else {}
        values = {**_values(source, f"users.{name}", table, _USER), **library}
        if "password_hash" not in values:
            raise ConfigError(f"{source}: [users.{name}] password_hash: missing (must be"
                              f" {_USER['password_hash'].allowed})")
        users[name] = values["password_hash"]
        if "library" in values:
            if values["library"] not in libraries:
                raise ConfigError(f"{source}: [users.{name}] library: {values['library']!r} is not a"
                                  f" [libraries.CODE] (known: {', '.join(libraries) or 'none'})")
            user_libraries[name] = values["library"]
    ccl = section["ccl"]
    try:
        sources = parse_sources(section["sources"])
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None
    for profile in sources.values():
        if profile.library and profile.library not in libraries:
            raise ConfigError(f"{source}: [sources.{profile.name}] library: {profile.library!r} is not a"
                              f" [libraries.CODE] (known: {', '.join(libraries) or 'none'})")
    try:
        virtual = parse_virtual(section["virtual"], libraries)
        consortia = parse_consortia(section["consortia"])
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None
    return Config(
        **catalog,
        server=ServerConfig(**_values(source, "server", section["server"], _SERVER)),
        store=_store(source, section["store"]),
        index=IndexConfig(**_values(source, "index", section["index"], _INDEX)),
        sru=SruConfig(**_values(source, "sru", section["sru"], _SRU)),
        libraries=libraries, users=users, user_libraries=user_libraries,
        restricted=_values(source, "databases", section["databases"], _DATABASES).get("restricted", ()),
        ccl=_values(source, "ccl", ccl, dict.fromkeys(ccl, _CCL_LINE)),
        consolidation=_consolidation(source, section["consolidation"]),
        sources=sources,
        backup=BackupConfig(**_values(source, "backup", section["backup"], _BACKUP)),
        virtual=virtual, consortia=consortia,
        linkcheck=LinkcheckConfig(**_values(source, "linkcheck", section["linkcheck"], _LINKCHECK)),
        ill=IllConfig(**_values(source, "ill", section["ill"], _ILL)),
        oai=OaiConfig(**_values(source, "oai", section["oai"], _OAI)),
        metrics=MetricsConfig(**_values(source, "metrics", section["metrics"], _METRICS)),
        external=ExternalConfig(**_values(source, "external", section["external"], _EXTERNAL)),
    )


def _store(source: str, table: dict[str, Any]) -> StoreConfig:
    store = StoreConfig(**_values(source, "store", table, _STORE))
    if store.backend == "postgresql" and not store.dsn:
        raise ConfigError(f'{source}: [store] dsn: missing (backend "postgresql" needs a libpq connection string'
                          f' such as "postgresql://unikat@db.example.org/catalog")')
    return store


def _table(source: str, title: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{title}] must be a table, not {value!r}")
    return value


def _values(source: str, title: str, table: Any, rules: Mapping[str, _Rule]) -> dict[str, Any]:
    """The checked and converted values of the keys `table` gives, by key."""
    values = {}
    for key, value in _table(source, title, table).items():
        rule = rules.get(key)
        if rule is None:
            raise ConfigError(f"{source}: [{title}] unknown key {key!r} (allowed: {', '.join(rules)})")
        if not rule.accepts(value):
            raise ConfigError(f"{source}: [{title}] {key}: must be {rule.allowed}, not {value!r}")
        values[key] = rule.convert(value)
    return values


def _consolidation(source: str, table: dict[str, Any]) -> ConsolidationConfig:
    values = _values(source, "consolidation", table, _CONSOLIDATION)
    try:
        rules = MatchRules.from_table(table)
    except ValueError as error:   # an unknown element or negative points in agree/disagree
        raise ConfigError(f"{source}: {error}") from None
    return ConsolidationConfig(values.get("enabled", True), rules)
