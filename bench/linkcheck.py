"""Link checks per second against a local web server: 10,000 URLs on 50 hosts (127.0.0.1 ..
127.0.0.50, one port), with the per-host limit counted by the server.

The server (aiohttp.web, a process of its own so it does not share the checker's core)
answers every path with 200 after `--latency` seconds; it counts requests in progress per
host (the local address a request came in on) and keeps the peak. The checker is
`index.links.check.check_urls` with the results kept in a scratch link table in batches of
200, as `unikat linkcheck` keeps them. Each configuration prints one line and a JSON record.

    .venv/bin/python bench/linkcheck.py                      # 10,000 URLs, 50 hosts
    .venv/bin/python bench/linkcheck.py --urls 2000 --hosts 10 --latency 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.links.check import CheckSettings, LinkCheck, LinkState, check_urls  # noqa: E402
from index.store.links import LinkResults  # noqa: E402


def _serve(port: int, hosts: int, latency: float, ready) -> None:
    from aiohttp import web

    active: dict[str, int] = {}
    peak: dict[str, int] = {}
    served = [0]

    async def answer(request: web.Request) -> web.Response:
        host = request.transport.get_extra_info("sockname")[0]
        active[host] = active.get(host, 0) + 1
        peak[host] = max(peak.get(host, 0), active[host])
        try:
            if latency:
                await asyncio.sleep(latency)
            served[0] += 1
            return web.Response(text="ok")
        finally:
            active[host] -= 1

    async def stats(request: web.Request) -> web.Response:
        body = {"peak": dict(peak), "served": served[0]}
        if request.query.get("reset"):
            peak.clear()
            served[0] = 0
        return web.json_response(body)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/_stats", stats)
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for n in range(1, hosts + 1):
            await web.TCPSite(runner, f"127.0.0.{n}", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stats(port: int, reset: bool = False) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats{'?reset=1' if reset else ''}") as answer:
        return json.load(answer)


def measure(urls: list[str], settings: CheckSettings, port: int, db: Path) -> dict:
    _stats(port, reset=True)
    results = LinkResults(db)
    batch: list[LinkCheck] = []
    states: dict[str, int] = {}

    def keep(check: LinkCheck) -> None:
        batch.append(check)
        states[check.state.value] = states.get(check.state.value, 0) + 1
        if len(batch) >= 200:
            results.record(batch)
            batch.clear()

    started = time.perf_counter()
    check_urls(urls, settings, keep)
    results.record(batch)
    seconds = time.perf_counter() - started
    results.close()
    server = _stats(port)
    peaks = server["peak"]
    return {"urls": len(urls), "hosts": len(peaks), "seconds": round(seconds, 2),
            "checks_per_s": round(len(urls) / seconds, 1), "ok": states.get(LinkState.OK.value, 0),
            "max_per_host_seen_by_server": max(peaks.values()), "per_host_limit": settings.per_host,
            "concurrency": settings.concurrency, "delay": settings.delay, "served": server["served"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the server takes per request")
    args = parser.parse_args()
    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, args.hosts, args.latency, ready), daemon=True)
    server.start()
    if not ready.wait(30):
        print("bench: the web server did not start", file=sys.stderr)
        return 1
    urls = [f"http://127.0.0.{1 + n % args.hosts}:{port}/journal/{n}" for n in range(args.urls)]
    # in all more slots than hosts x per host, so the per-host limit is what binds
    configurations = [CheckSettings(concurrency=400, per_host=4, delay=0, timeout=10),
                      CheckSettings(concurrency=200, per_host=2, delay=0, timeout=10),
                      CheckSettings(concurrency=200, per_host=2, delay=0.05, timeout=10)]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for settings in configurations:
                record = measure(urls, settings, port, Path(scratch) / "links.sqlite")
                record["server_latency"] = args.latency
                print(f"{record['urls']} URLs on {record['hosts']} hosts, concurrency {settings.concurrency},"
                      f" per host {settings.per_host}, delay {settings.delay:g}s, server latency {args.latency:g}s:"
                      f" {record['seconds']}s, {record['checks_per_s']:,.0f} checks/s;"
                      f" most at once on one host (server's count): {record['max_per_host_seen_by_server']}")
                print(json.dumps(record))
                if record["max_per_host_seen_by_server"] > settings.per_host or record["ok"] != len(urls):
                    print("bench: per-host limit exceeded or URLs not ok", file=sys.stderr)
                    return 1
    finally:
        server.terminate()
        server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
