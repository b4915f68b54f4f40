"""What the server counts, and the /metrics answer: prometheus_client in its multiprocess mode.

Why multiprocess mode: `unikat serve` runs several worker processes on one socket, and a scrape
lands on any one of them. prometheus_client's multiprocess mode has every process write its
values to its own memory-mapped file in one directory, and the worker that is scraped adds all
the files up (`MultiProcessCollector`): counters and histograms of every worker, living or
dead, gauges of the living ones (`livesum`; the supervisor drops a dead worker's gauge files).
The alternative, asking the other workers at scrape time, would need a channel between
processes that the server does not otherwise have. The price is one mmap write per value
changed, a few microseconds a request (measured in bench/request_cost_metrics.py).

`serve_directory` (the supervisor, before forking) makes the directory and names it in
PROMETHEUS_MULTIPROC_DIR, which the workers inherit; `Metrics.open` (each worker) makes its
metrics there, or in a private directory when it runs without a supervisor (tests).
`Metrics.open` returns None when `[metrics] enabled` is false: then nothing is counted and the
hooks in zserver.net cost one `is None` test.

The hooks: `opened`/`closed` (connections, by protocol), `z3950` (one request PDU: its kind,
seconds, Bib-1 diagnostic from the handler's summary, result sets the association holds),
`http` (one HTTP answer: protocol and kind from the request target, status, SRU diagnostics or
OAI-PMH error codes from the body, seconds). Label values come from fixed lists, never from
what a client sends, so a client cannot make the series grow.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from index.config import MetricsConfig
from zserver.iso18626 import ISO18626_PATH
from zserver.web.ill import ILL_ROOTS

__all__ = ["ENVIRONMENT", "Metrics", "remove_directory", "serve_directory", "worker_ended"]

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SRU_OPERATIONS = {b"searchRetrieve": "searchRetrieve", b"scan": "scan", b"explain": "explain"}
_OAI_VERBS = {verb.encode(): verb for verb in ("Identify", "ListMetadataFormats", "ListSets", "GetRecord",
                                                "ListIdentifiers", "ListRecords")}
_OAI_ERRORS = {code.encode(): code for code in ("badArgument", "badResumptionToken", "badVerb",
                                                 "cannotDisseminateFormat", "idDoesNotExist", "noMetadataFormats",
                                                 "noRecordsMatch", "noSetHierarchy", "serviceUnavailable")}
_WEB = {b"": "page", b"record": "record", b"static": "static", b"favicon.ico": "static", b"robots.txt": "static",
        b"unapi": "unapi", b"opensearch.xml": "opensearch"}
_ILL = {root.encode(): root for root in (*ILL_ROOTS, ISO18626_PATH)}   # order form, status page, ISO 18626
_SRU_DIAGNOSTIC = b"info:srw/diagnostic/1/"
_OAI_ERROR = b'<error code="'
_TAIL = 2048   # SRU puts its diagnostics last, after the records and the echoed request


def serve_directory(config: MetricsConfig) -> Path | None:
    """The supervisor's part: a fresh directory for the workers' metric files, named in the
    environment they inherit (None when metrics are off). The caller removes it at the end."""
    if not config.enabled:
        return None
    directory = Path(tempfile.mkdtemp(prefix="unikat-metrics-"))
    os.environ[ENVIRONMENT] = str(directory)
    return directory


def worker_ended(pid: int) -> None:
    """A worker died: its gauges (open connections, result sets) no longer count."""
    if os.environ.get(ENVIRONMENT):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remove_directory(directory: Path | None) -> None:
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
        os.environ.pop(ENVIRONMENT, None)


class Metrics:
    """The metrics of one worker process (see the module docstring)."""

    def __init__(self, config: MetricsConfig, directory: Path, sru_result_sets: Callable[[], int] = lambda: 0) -> None:
        from prometheus_client import Counter, Gauge, Histogram, values

        os.environ[ENVIRONMENT] = str(directory)
        # This process's files in `directory`. The pid is read once: a worker does not fork, and
        # asking the kernel on every write would cost a tenth of what a count costs.
        pid = os.getpid()
        values.ValueClass = values.MultiProcessValue(lambda: pid)
        self.directory = directory
        self.allow = tuple(ipaddress.ip_network(entry, strict=False) for entry in config.allow)
        self._sru_result_sets = sru_result_sets
        # requests by protocol and kind: this histogram's _count (a counter beside it would be a
        # third write per request for the same number)
        self._seconds = Histogram("unikat_request_seconds", "Seconds to answer a request, by protocol and kind",
                                  ("protocol", "kind"), buckets=_BUCKETS, registry=None)
        self._statuses = Counter("unikat_http_errors", "HTTP answers with a status of 400 or more, by status",
                                 ("protocol", "status"), registry=None)
        self._diagnostics = Counter("unikat_diagnostics", "Diagnostics and errors sent to clients, by code "
                                    "(Bib-1 for Z39.50, SRU diagnostics, OAI-PMH error codes)",
                                    ("protocol", "code"), registry=None)
        self._internal = Counter("unikat_internal_errors", "Requests that failed on our side", ("protocol",),
                                 registry=None)
        self._connections = Gauge("unikat_open_connections", "Connections open now", ("protocol",),
                                  multiprocess_mode="livesum", registry=None)
        self._result_sets = Gauge("unikat_result_sets", "Result sets held now (Z39.50 associations, SRU cache)",
                                  ("protocol",), multiprocess_mode="livesum", registry=None)
        self._children: dict[tuple, object] = {}   # labelled values already made, by (metric, labels)
        self._sru_sets_shown = 0

    @classmethod
    def open(cls, config: MetricsConfig, sru_result_sets: Callable[[], int] = lambda: 0) -> Metrics | None:
        """This worker's metrics, None when `[metrics] enabled` is false."""
        if not config.enabled:
            return None
        named = os.environ.get(ENVIRONMENT)
        directory = Path(named) if named else Path(tempfile.mkdtemp(prefix="unikat-metrics-"))
        return cls(config, directory, sru_result_sets)

    # -- hooks ---------------------------------------------------------------------------------

    def _count(self, protocol: str, kind: str, seconds: float) -> None:
        self._child(self._seconds, protocol, kind).observe(seconds)

    def _child(self, metric, *labels: str):
        """`metric.labels(*labels)`, made once (labels() costs as much as a count)."""
        key = (metric, *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def opened(self, protocol: str) -> None:
        self._child(self._connections, protocol).inc()

    def closed(self, protocol: str, result_sets: int = 0) -> None:
        self._child(self._connections, protocol).dec()
        if result_sets:
            self._child(self._result_sets, protocol).dec(result_sets)

    def z3950(self, kind: str, seconds: float, summary: str, result_sets: int, held: int) -> int:
        """One Z39.50 request answered; returns `result_sets`, what the association holds now
        (`held`: what it held before)."""
        self._count("z3950", kind, seconds)
        at = summary.find(" diag=")
        if at >= 0:
            code = summary[at + 6:].partition(" ")[0]
            self._child(self._diagnostics, "z3950", code if code.isdigit() and len(code) <= 5 else "other").inc()
        if result_sets != held:
            self._child(self._result_sets, "z3950").inc(result_sets - held)
        return result_sets

    def internal_error(self, protocol: str) -> None:
        self._child(self._internal, protocol).inc()

    def http(self, target: bytes, status: int, body: bytes, seconds: float) -> None:
        """One HTTP answer: `target` the request target as sent."""
        path, _, query = target.partition(b"?")
        first = path.strip(b"/").partition(b"/")[0]
        if first in _WEB:
            protocol, kind = "web", _WEB[first]
        elif first in _ILL:
            protocol, kind = "ill", _ILL[first]
        elif first == b"oai":
            protocol, kind = "oai", _parameter(query, b"verb", _OAI_VERBS)
        elif first == b"metrics":
            protocol, kind = "metrics", "scrape"
        else:
            protocol = "sru"
            kind = _parameter(query, b"operation", _SRU_OPERATIONS) if query else "explain"
        self._count(protocol, kind, seconds)
        if status >= 400:
            self._child(self._statuses, protocol, str(status)).inc()
            if status >= 500:
                self._child(self._internal, protocol).inc()
        if protocol == "sru":
            for code in _codes(body, _SRU_DIAGNOSTIC, b"<", max(0, len(body) - _TAIL)):
                self._child(self._diagnostics, "sru", code if code.isdigit() and len(code) <= 3 else "other").inc()
            held = self._sru_result_sets()
            if held != self._sru_sets_shown:
                self._sru_sets_shown = held
                self._child(self._result_sets, "sru").set(held)
        elif protocol == "oai" and len(body) < 4096:   # an OAI error answer is short
            for code in _codes(body, _OAI_ERROR, b'"', 0):
                self._child(self._diagnostics, "oai", _OAI_ERRORS.get(code.encode(), "other")).inc()

    # -- the scrape ----------------------------------------------------------------------------

    def allows(self, address: str | None) -> bool:
        """Whether the client at `address` may read the metrics (`[metrics] allow`)."""
        try:
            ip = ipaddress.ip_address((address or "").split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.allow)

    def exposition(self, collectors: Iterable[object] = ()) -> tuple[str, bytes]:
        """(Content-Type, body) of the Prometheus text format: every worker's metrics added up,
        and what `collectors` (e.g. `zserver.metrics.catalog.CatalogCollector`) give."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self.directory))
        for collector in collectors:
            registry.register(collector)
        return CONTENT_TYPE_LATEST, generate_latest(registry)


def _parameter(query: bytes, name: bytes, known: dict[bytes, str]) -> str:
    """The value of `name` in a query string if it is one of `known`, else "other"."""
    at = query.find(name + b"=")
    while at > 0 and query[at - 1:at] != b"&":
        at = query.find(name + b"=", at + 1)
    if at < 0:
        return "other"
    value = query[at + len(name) + 1:].partition(b"&")[0]
    return known.get(value, "other")


def _codes(body: bytes, marker: bytes, end: bytes, start: int) -> list[str]:
    """The text after each `marker` in `body[start:]`, up to `end`."""
    found = []
    at = body.find(marker, start)
    while at >= 0:
        at += len(marker)
        stop = body.find(end, at, at + 40)
        found.append(body[at:stop].decode("ascii", "replace") if stop >= 0 else "other")
        at = body.find(marker, at)
    return found
