"""Prometheus metrics at /metrics (`[metrics]` in unikat.toml; off by default).

    recorder.py   the counters, histograms and gauges of requests and connections, the hooks
                  zserver.net calls, multiprocess mode across the worker processes, the scrape
    catalog.py    load and index counters, read from the store at scrape time
"""

from zserver.metrics.recorder import Metrics

__all__ = ["Metrics"]
