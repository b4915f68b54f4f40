"""zserver.metrics in process: what the hooks count, bounded labels, who may read /metrics,
and /metrics off by default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from index.config import MetricsConfig
from index.search import Catalog
from zserver.metrics.catalog import CatalogCollector
from zserver.metrics.recorder import Metrics
from zserver.net.http import HttpCore


def samples(metrics: Metrics, collectors=()) -> dict[tuple[str, tuple], float]:
    content_type, body = metrics.exposition(collectors)
    assert content_type.startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


@pytest.fixture()
def metrics(tmp_path: Path) -> Metrics:
    return Metrics(MetricsConfig(enabled=True), tmp_path, lambda: 2)


def test_requests_diagnostics_connections_and_result_sets(metrics: Metrics) -> None:
    metrics.opened("z3950")
    held = metrics.z3950("initRequest", 0.002, "init user=- charset=utf-8", 0, 0)
    held = metrics.z3950("searchRequest", 0.0004, "search db=unikat set=default hits=3", 1, held)
    held = metrics.z3950("searchRequest", 0.03, "search diag=114 (9999)", 1, held)
    metrics.opened("http")
    sru = b"<x><diagnostics><diag:uri>info:srw/diagnostic/1/10</diag:uri></diagnostics></x>"
    metrics.http(b"/unikat?version=1.2&operation=searchRetrieve&query=((", 200, sru, 0.001)
    metrics.http(b"/unikat?query=x&operation=%3Cscript%3E", 200, b"<x/>", 0.001)   # not an operation: "other"
    metrics.http(b"/unikat", 200, b"<explain/>", 0.001)
    metrics.http(b"/oai?verb=GetRecord", 200, b'<OAI-PMH><error code="badArgument">no</error></OAI-PMH>', 0.001)
    metrics.http(b"/record/12", 404, b"<html/>", 0.001)
    metrics.http(b"/unikat?operation=scan", 500, b"", 0.001)
    found = samples(metrics)
    count = "unikat_request_seconds_count"
    assert found[count, (("kind", "searchRequest"), ("protocol", "z3950"))] == 2
    assert found[count, (("kind", "initRequest"), ("protocol", "z3950"))] == 1
    assert found["unikat_request_seconds_bucket", (("kind", "searchRequest"), ("le", "0.0005"), ("protocol", "z3950"))] == 1
    assert found[count, (("kind", "searchRetrieve"), ("protocol", "sru"))] == 1
    assert found[count, (("kind", "other"), ("protocol", "sru"))] == 1
    assert found[count, (("kind", "explain"), ("protocol", "sru"))] == 1
    assert found[count, (("kind", "GetRecord"), ("protocol", "oai"))] == 1
    assert found[count, (("kind", "record"), ("protocol", "web"))] == 1
    assert found["unikat_diagnostics_total", (("code", "114"), ("protocol", "z3950"))] == 1
    assert found["unikat_diagnostics_total", (("code", "10"), ("protocol", "sru"))] == 1
    assert found["unikat_diagnostics_total", (("code", "badArgument"), ("protocol", "oai"))] == 1
    assert found["unikat_http_errors_total", (("protocol", "web"), ("status", "404"))] == 1
    assert found["unikat_internal_errors_total", (("protocol", "sru"),)] == 1
    assert found["unikat_open_connections", (("protocol", "z3950"),)] == 1
    assert found["unikat_result_sets", (("protocol", "z3950"),)] == 1
    assert found["unikat_result_sets", (("protocol", "sru"),)] == 2
    metrics.closed("z3950", held)
    metrics.closed("http")
    found = samples(metrics)
    assert found["unikat_open_connections", (("protocol", "z3950"),)] == 0
    assert found["unikat_result_sets", (("protocol", "z3950"),)] == 0


def test_who_may_read(tmp_path: Path) -> None:
    metrics = Metrics(MetricsConfig(enabled=True, allow=("127.0.0.1", "::1", "10.0.0.0/8")), tmp_path)
    assert metrics.allows("127.0.0.1") and metrics.allows("::1") and metrics.allows("10.20.30.40")
    assert metrics.allows("::ffff:127.0.0.1")   # IPv4 on an IPv6 socket
    assert not metrics.allows("192.168.1.1") and not metrics.allows(None) and not metrics.allows("garbage")


def test_off_by_default_and_refused_to_other_addresses(sample_home, tmp_path: Path) -> None:
    catalog = Catalog(sample_home)
    try:
        core = HttpCore(catalog)
        assert Metrics.open(catalog.config.metrics) is None   # [metrics] enabled = false unless configured
        assert core.respond("GET", b"/metrics", address="127.0.0.1").status == 404
        core.metrics = Metrics(dataclasses.replace(catalog.config.metrics, enabled=True), tmp_path)
        refused = core.respond("GET", b"/metrics", address="192.0.2.7")
        assert refused.status == 403 and b"[metrics] allow" in refused.body
        answer = core.respond("GET", b"/metrics", address="127.0.0.1")
        assert answer.status == 200
        found = {s.name: s.value for f in text_string_to_metric_families(answer.body.decode()) for s in f.samples
                 if not s.labels}
        assert found["unikat_titles"] == catalog.store.count_titles()
        assert found["unikat_titles_deleted_total"] == len(catalog.store.deleted_titles())
        loads = samples(core.metrics, [CatalogCollector(catalog)])
        assert loads["unikat_loads_total", (("state", "finished"),)] == len(catalog.store.loads())
        assert loads["unikat_load_records_total", (("outcome", "read"),)] == \
            sum(load["read"] for load in catalog.store.loads())
    finally:
        catalog.close()


def test_ill_unapi_and_opensearch_are_counted_as_what_they_are(metrics: Metrics) -> None:
    """Not as SRU explain (a bare path) or SRU "other", as they were."""
    for target in (b"/order/12", b"/order", b"/status/UNI000000001", b"/iso18626", b"/unapi?id=3&format=dc",
                   b"/opensearch.xml"):
        metrics.http(target, 200, b"<x/>", 0.001)
    found = samples(metrics)
    count = "unikat_request_seconds_count"
    assert found[count, (("kind", "order"), ("protocol", "ill"))] == 2
    assert found[count, (("kind", "status"), ("protocol", "ill"))] == 1
    assert found[count, (("kind", "iso18626"), ("protocol", "ill"))] == 1
    assert found[count, (("kind", "unapi"), ("protocol", "web"))] == 1
    assert found[count, (("kind", "opensearch"), ("protocol", "web"))] == 1
    assert not any(name == count and dict(labels).get("protocol") == "sru" for name, labels in found)
