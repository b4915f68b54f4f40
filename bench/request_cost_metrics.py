"""What /metrics costs a request: the hooks of zserver.metrics as a worker calls them, in microseconds.

    .venv/bin/python bench/request_cost_metrics.py [--runs 20000]

In prometheus_client's multiprocess mode (as `unikat serve` runs them, files in a temporary
directory): a Z39.50 searchRequest (latency histogram, whose _count counts the requests), a
Z39.50 request with a Bib-1 diagnostic (and its counter), an SRU searchRetrieve with a 20 kB
answer (histogram, diagnostics looked for in the answer's tail, result-set gauge when it
changed), an OAI-PMH request, and a connection opened and closed. Each value written costs
one mmap write under a lock, about 1 us. Each figure is the best of five runs. With `[metrics] enabled =
false` a hook is one `is None` test in zserver.net.
"""

from __future__ import annotations

import argparse
import tempfile
import timeit
from pathlib import Path

from index.config import MetricsConfig
from zserver.metrics.recorder import Metrics

SRU = b"/unikat?version=1.2&operation=searchRetrieve&query=dc.title%3D%22history%22&maximumRecords=10"
SRU_BODY = b"<srw:searchRetrieveResponse>" + b"<record>x</record>" * 1100 + b"</srw:searchRetrieveResponse>"
OAI = b"/oai?verb=ListRecords&metadataPrefix=oai_dc"


def best_us(run, number: int) -> float:
    return min(timeit.repeat(run, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unikat-metrics-bench-") as directory:
        metrics = Metrics(MetricsConfig(enabled=True), Path(directory), lambda: 3)
        figures = {
            "z3950 searchRequest": lambda: metrics.z3950("searchRequest", 0.0012, "search db=unikat set=default hits=12",
                                                         1, 1),
            "z3950 with diagnostic": lambda: metrics.z3950("searchRequest", 0.0012, "search diag=114 (9999)", 1, 1),
            "sru searchRetrieve (20 kB)": lambda: metrics.http(SRU, 200, SRU_BODY, 0.004),
            "oai ListRecords": lambda: metrics.http(OAI, 200, b"<OAI-PMH/>" * 5000, 0.02),
            "connection open+close": lambda: (metrics.opened("http"), metrics.closed("http")),
        }
        for name, run in figures.items():
            print(f"{name:30} {best_us(run, args.runs):6.2f} us")
        off = None
        print(f"{'hook when off (is None)':30} {best_us(lambda: off is not None, args.runs):6.2f} us")


if __name__ == "__main__":
    main()
