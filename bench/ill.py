"""Interlibrary loan benchmark: orders placed per second with 20 concurrent clients, and the
routing decision time with 1,000 holding libraries on one title.

    .venv/bin/python bench/ill.py [--clients 20] [--orders 25] [--holders 1000] [--out bench/out/ill.json]

Orders: a catalog store with 200 titles, each held by 12 libraries in 3 regions; one account
per client with units for every order; each client is its own process with its own store
connection (as the server's worker processes are) and places `--orders` orders through
`IllService.place_order`, password check (scrypt) included, all starting together. Reported:
orders/s over the wall time, and the latency of one order (median, p95). The same run without
the password check (the account already authenticated: what the write transaction and the
routing cost) shows where the time goes.

Routing: one title with `--holders` lendable holdings in 10 regions, library profiles with
preferences and maximums, and open orders spread over them; timed are the pure decision
(`routing.eligible` + `routing.rank`) and the decision with the open-order counts read from
the store (what `IllService` does for each supplier it picks), 200 times each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from index.config import parse_config  # noqa: E402
from index.home import Home  # noqa: E402
from index.ill import Article, Holder, IllService, Kind, OrderRequest, Profile, Status, eligible, rank  # noqa: E402
from index.records.model import Holding  # noqa: E402
from index.store.catalog import CatalogStore  # noqa: E402
from index.store.ill import IllStore  # noqa: E402

REGIONS = ("north", "south", "east")


def _marc(title: str) -> bytes:
    import pymarc
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader("00000nam a2200000 a 4500")
    record.add_field(pymarc.Field("245", ["1", "0"], [pymarc.Subfield("a", title)]))
    return record.as_marc()


def _config(libraries: int) -> str:
    lines = ['[catalog]\nname = "ILL bench"\n[ill]\nunits_per_order = 2\n']
    for number in range(libraries):
        code = f"L{number:03d}"
        lines.append(f'[libraries.{code}]\nsource_system = "{code}"\nill_region = "{REGIONS[number % 3]}"\n'
                     f'ill_region_order = ["south", "east"]\nill_max_loans = 40\n')
    lines.append('[libraries.HOME]\nsource_system = "HOME"\nill_region = "north"\nill_prefer = ["L004", "L007"]\n')
    return "".join(lines)


def _orders_home(root: Path, clients: int, orders: int) -> tuple[Home, list[int]]:
    home = Home(root)
    home.init(_config(12))
    store = CatalogStore(home.store_path)
    isns = []
    with store.transaction():
        for number in range(200):
            isn = store.add_title(_marc(f"Title {number}"), "am")
            for library in range(12):
                code = f"L{library:03d}"
                store.add_record(isn, code, code, f"{number}-{code}", _marc(f"Title {number}"), "1", 1, None,
                                 [Holding(code, call_number=f"{code}/{number}")])
            isns.append(isn)
    service = IllService(store, parse_config(home.config_path.read_text()))
    for client in range(clients):
        service.create_account(f"C{client:03d}", f"pw-{client}", "HOME", balance=2 * orders)
    store.close()
    return home, isns


def _client(root: str, client: int, isns: list[int], orders: int, check_password: bool, start, queue) -> None:
    home = Home(Path(root))
    store = CatalogStore(home.store_path)
    service = IllService(store, home.config())
    access, password = f"C{client:03d}", f"pw-{client}"
    if not check_password:   # what an order costs once the reader is authenticated
        account = service.authenticate(access, password)
        service.authenticate = lambda number, secret: account
    rng = random.Random(client)
    latencies = []
    start.wait()
    for _ in range(orders):
        began = time.perf_counter()
        service.place_order(OrderRequest(access, password, rng.choice(isns), via="bench"))
        latencies.append(time.perf_counter() - began)
    store.close()
    queue.put(latencies)


def orders_per_second(clients: int, orders: int, check_password: bool) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        home, isns = _orders_home(Path(directory) / "home", clients, orders)
        context = multiprocessing.get_context("fork")
        start, queue = context.Barrier(clients + 1), context.Queue()
        processes = [context.Process(target=_client, args=(str(home.root), client, isns, orders, check_password,
                                                           start, queue)) for client in range(clients)]
        for process in processes:
            process.start()
        start.wait()
        began = time.perf_counter()
        latencies = [value for _ in processes for value in queue.get(timeout=600)]
        wall = time.perf_counter() - began
        for process in processes:
            process.join()
        store = CatalogStore(home.store_path)
        placed = store.db.execute("SELECT count(*) FROM ill_orders").fetchone()[0]
        left = store.db.execute("SELECT sum(balance) FROM ill_accounts").fetchone()[0]
        store.close()
    assert placed == clients * orders and left == 0, (placed, left)
    latencies.sort()
    return {"clients": clients, "orders": placed, "password_check": check_password, "seconds": round(wall, 3),
            "orders_per_second": round(placed / wall, 1),
            "latency_ms_median": round(statistics.median(latencies) * 1000, 2),
            "latency_ms_p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 2)}


def routing(holders: int, repetitions: int = 200) -> dict:
    rng = random.Random(7)
    regions = [f"r{n}" for n in range(10)]
    profiles = {f"H{n:04d}": Profile(f"H{n:04d}", region=regions[n % 10], max_loans=rng.choice((0, 5, 20)),
                                     serves=() if n % 7 else (regions[n % 10], regions[(n + 1) % 10]))
                for n in range(holders)}
    requester = Profile("HOME", region="r0", region_order=("r3", "r1", "r7"),
                        prefer=tuple(f"H{n:04d}" for n in range(0, holders, 97)))
    default = Profile("", region="r9")
    candidates = [Holder(code, f"{code}/1", lendable=rng.random() > 0.1) for code in profiles]
    with tempfile.TemporaryDirectory() as directory:
        store = CatalogStore(Path(directory) / "catalog.sqlite")
        tables = IllStore(store)
        now = dt.datetime(2026, 12, 2, tzinfo=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with store.transaction():
            tables.add_account("X", "scrypt$2$1$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "HOME", "", 0, None, now)
            for _ in range(5000):   # open orders spread over the holders
                order_id, _ = tables.add_order("B", access_number="X", home_library="HOME", isn=1, isbd="t",
                                               kind=Kind.LOAN, article=Article(),
                                               free=False, status=Status.REQUEST_RECEIVED,
                                               units=2, now=now, via="bench", external_id="", note="")
                store.db.execute("UPDATE ill_orders SET supplier = ? WHERE id = ?",
                                 (f"H{rng.randrange(holders):04d}", order_id))
        pure, with_store = [], []
        for _ in range(repetitions):
            began = time.perf_counter()
            found = eligible(candidates, requester, profiles, default, Kind.LOAN)
            ranked = rank(found, requester, profiles, default, Kind.LOAN, {})
            pure.append(time.perf_counter() - began)
            began = time.perf_counter()
            found = eligible(candidates, requester, profiles, default, Kind.LOAN)
            load = tables.open_orders([h.library for h in found], Kind.LOAN)
            ranked = rank(found, requester, profiles, default, Kind.LOAN, load)
            with_store.append(time.perf_counter() - began)
        store.close()

    def summary(values: list[float]) -> dict:
        values = sorted(values)
        return {"median_ms": round(statistics.median(values) * 1000, 3),
                "p95_ms": round(values[int(len(values) * 0.95)] * 1000, 3)}

    return {"holders": holders, "candidates": len(found), "first": ranked[0].library,
            "decision": summary(pure), "decision_with_open_order_counts": summary(with_store)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--orders", type=int, default=25, help="orders per client")
    parser.add_argument("--holders", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "ill.json")
    args = parser.parse_args()
    results = {"orders": orders_per_second(args.clients, args.orders, True),
               "orders_authenticated": orders_per_second(args.clients, args.orders, False),
               "routing": routing(args.holders)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
