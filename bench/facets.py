"""Facet time for a large result against the same search without facets (issue 15).

    .venv/bin/python bench/facets.py --home HOME [--hits 100000] [--repeat 9]

HOME is a catalog home with an index (e.g. the 250,000 LC records of `bench/run.py`,
bench/out/unikat-load-250000-postings, after `unikat index`). The result is a year range
chosen so that it has about `--hits` titles (found by bisection on the range's first year);
it is searched `--repeat` times without facets and then counted with all eight facets (10
values each, as an SRU `facetLimit=10` asks), in the process, as `Catalog` and
`index.resultfacets` run in a server worker. The first facet call of an opened index also
builds the facet columns (once per index version, per worker); that cost is reported apart.
Reported: median seconds (CPU time of this process unless `--clock wall`) of the search, of
the facets (all eight, and each one), the column build, the columns' memory, and the same
through the SRU handler (a searchRetrieve of maximumRecords=0 with and without facetLimit).
Output: a table on stdout, JSON in bench/out/facets.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from index import resultfacets
from index.engines.facets import FACETS, FacetRequest
from index.home import Home
from index.query import AllRecords, Structure, Term
from index.search import Catalog, ResultSet
from zserver.sru.handler import SruState, handle
from zserver.sru.request import parse_request

OUT = Path(__file__).resolve().parent / "out"


CLOCK = time.process_time
"""This process's CPU time (`--clock cpu`, the default): on the shared 2-core machine others'
work stretches wall time far more than the CPU a request needs; `--clock wall` for wall time."""


def _median_seconds(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = CLOCK()
        action()
        times.append(CLOCK() - started)
    return statistics.median(times)


def _year_range(catalog: Catalog, wanted: int, last: int = 2016) -> tuple[str, int]:
    """A range `FIRST-last` whose result is closest to `wanted` titles."""
    union = catalog.databases()[0]
    low, high, best = 1000, last, ("", 0)
    while low <= high:
        first = (low + high) // 2
        size = catalog.search(Term("year", f"{first}-{last}", structure=Structure.YEAR), union).size
        if abs(size - wanted) < abs(best[1] - wanted):
            best = (f"{first}-{last}", size)
        if size > wanted:
            low = first + 1
        else:
            high = first - 1
    return best


def _sru_seconds(catalog: Catalog, query: str, repeat: int, **extra: str) -> float:
    params = {"query": query, "maximumRecords": "0", "resultSetTTL": "0", **extra}

    def request() -> None:
        response = handle(parse_request(params, catalog.config.database), catalog, SruState())
        assert response.status == 200 and b"<diag:diagnostic" not in response.body, response.body[:500]

    return _median_seconds(request, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--hits", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    options = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if options.clock == "cpu" else time.perf_counter

    catalog = Catalog(Home(options.home))
    union = catalog.databases()[0]
    titles = catalog.search(AllRecords(), union).size
    years, size = _year_range(catalog, options.hits)
    node = Term("year", years, structure=Structure.YEAR)
    result: ResultSet = catalog.search(node, union)
    requests = [FacetRequest(name, limit=10) for name in FACETS]

    started, wall = CLOCK(), time.perf_counter()
    resultfacets.facets(catalog, result, requests)        # builds every column once
    build, build_wall = CLOCK() - started, time.perf_counter() - wall
    columns = {request.name: catalog.engine._facets.get(request.name) for request in requests}   # built: cached
    memory = sum(column.docs.nbytes + column.values.nbytes for column in catalog.engine._facets.built())
    pairs = {name: len(column.docs) for name, column in columns.items()}
    distinct = {name: len(column.terms) for name, column in columns.items()}

    search = _median_seconds(lambda: catalog.search(node, union), options.repeat)
    facets = _median_seconds(lambda: resultfacets.facets(catalog, result, requests), options.repeat)
    each = {request.name: _median_seconds(lambda r=request: resultfacets.facets(catalog, result, [r]), options.repeat)
            for request in requests}
    query = f'unikat.year within "{years.replace("-", " ")}"'
    sru_plain = _sru_seconds(catalog, query, options.repeat)
    limit = ",".join(f"10:{name}" for name in FACETS)
    sru_facets = _sru_seconds(catalog, query, options.repeat, facetLimit=limit)

    figures = {"home": str(options.home), "engine": catalog.config.index.engine, "titles": titles,
               "query": f"year={years}", "hits": size, "search_s": search, "facets_s": facets,
               "facets_per_facet_s": each, "first_call_build_s": build,
               "first_call_build_wall_s": build_wall, "columns_mb": memory / 1e6,
               "pairs": pairs, "distinct_values": distinct, "sru_without_facets_s": sru_plain,
               "sru_with_facets_s": sru_facets, "repeat": options.repeat, "clock": options.clock,
               "load_average": os.getloadavg()}
    OUT.mkdir(exist_ok=True)
    (OUT / "facets.json").write_text(json.dumps(figures, indent=1))
    print(f"{catalog.config.index.engine} engine, {titles:,} titles; result year={years}: {size:,} hits "
          f"(median of {options.repeat}, {options.clock} time; load average {os.getloadavg()[0]:.1f})")
    print(f"search without facets        {search * 1000:8.1f} ms")
    print(f"all 8 facets over the result {facets * 1000:8.1f} ms  ({facets / search:.1f}x the search)")
    for name, seconds in each.items():
        print(f"  {name:<14} {seconds * 1000:8.1f} ms  {pairs[name]:>9,} pairs  {distinct[name]:>9,} values")
    print(f"first call (builds columns)  {build:8.2f} s   ({build_wall:.2f} s wall)   columns {memory / 1e6:.0f} MB")
    print(f"SRU searchRetrieve, maximumRecords=0: {sru_plain * 1000:.1f} ms; with facetLimit={limit}: "
          f"{sru_facets * 1000:.1f} ms")
    catalog.close()


if __name__ == "__main__":
    main()
