"""unikat on several hosts of one machine (the network namespaces of `make hosts`): load + index of
the same LC records with one and with two loading hosts into one PostgreSQL store, the time a
search host (`unikat serve --replica-of`) needs to catch up after the load, and zebraidx on the
same records in the same run.

    .venv/bin/python bench/hosts.py [--records 250000] [--hosts 1 2 dask]

Every "host" is a namespace of this 2-core machine: two loading hosts share the cores with each
other, with the PostgreSQL host and with the search host, so the figure shows the overhead of
splitting a delivery over hosts, not the speed-up separate machines would give. With two hosts the
delivery is cut in two halves of consecutive records, one per host, started at once; each host
runs its own index phase (they take turns, `index/loading/indexing.py`). Catch-up is the time from
the last load's end until the search host's index is the newest generation published in the store
(it polls every second), checked by an SRU search there giving the loading host's hit count.
With `dask`, one host loads the whole delivery with `--cluster`: a Dask scheduler on it and one
single-threaded Dask worker on each loading host do the per-record work.
Needs root (namespaces). Writes bench/out/hosts.json.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from common import OUT, REPO, Monitor, file_digest, lc_subset, load_average, write_json
from load import load_zebra

sys.path[:0] = [str(REPO)]                # the project's `index` before tests/index
sys.path.append(str(REPO / "tests"))
from netns import Network  # noqa: E402  (the tests' namespaces)
from pgserver import PostgresServer  # noqa: E402  (the tests' throwaway server)

PYTHON = str(REPO / ".venv" / "bin" / "python")
WORD = "history"   # the word the replica's answer is checked with


def _parts(records: Path, count: int) -> list[Path]:
    """`records` cut into `count` files of consecutive records (ISO 2709: the length leads each)."""
    if count == 1:
        return [records]
    data = records.read_bytes()
    offsets, position = [], 0
    while position < len(data):
        offsets.append(position)
        position += int(data[position:position + 5])
    size = -(-len(offsets) // count)
    paths = []
    for number in range(count):
        start = offsets[number * size]
        end = offsets[(number + 1) * size] if (number + 1) * size < len(offsets) else len(data)
        path = records.with_name(f"{records.stem}-part{number + 1}of{count}.mrc")
        path.write_bytes(data[start:end])
        paths.append(path)
    return paths


def _home(directory: Path, dsn: str) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    (directory / "unikat.toml").write_text('[catalog]\nname = "benchmark"\n[libraries.LC]\nsource_system = "LC"\n'
                                           'holdings = "record"\n[index]\nengine = "postings"\n'
                                           f'[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n')
    return directory


def _sru_hits(network: Network, host: str, word: str) -> int | None:
    url = (f"http://{network.hosts[host].address}:2100/unikat?version=1.2&operation=searchRetrieve"
           f"&maximumRecords=0&query=dc.title%3D{word}")
    done = network.hosts["client"].run(PYTHON, "-c", "import sys, urllib.request; print(urllib.request.urlopen("
                                       "sys.argv[1], timeout=30).read().decode())", url, timeout=60)
    found = re.search(r"<(?:\w+:)?numberOfRecords>(\d+)<", done.stdout)
    return int(found.group(1)) if found else None


def _local_hits(network: Network, home: Path, word: str) -> int:
    """What a loading host's own catalog finds (`unikat search` there)."""
    done = network.hosts["load1"].run(PYTHON, "-m", "zserver", "--home", home, "search", f"@attr 1=4 {word}",
                                      cwd=REPO, timeout=300)
    return int(re.match(r"(\d+) hits", done.stdout).group(1))


DASK_PORT = 8786


@contextmanager
def _dask_cluster(network: Network, work: Path) -> Iterator[str]:
    """A Dask scheduler on the first loading host, a single-threaded worker on each loading host;
    its address once both workers are there."""
    address = f"tcp://{network.hosts['load1'].address}:{DASK_PORT}"
    dask = str(Path(PYTHON).with_name("dask"))
    log = (work / "dask.log").open("wb")
    processes = [network.hosts["load1"].start(dask, "scheduler", "--host", network.hosts["load1"].address,
                                              "--port", DASK_PORT, "--no-dashboard", stdout=log, stderr=log, cwd=work)]
    processes += [network.hosts[host].start(dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                            "--no-dashboard", stdout=log, stderr=log, cwd=work)
                  for host in ("load1", "load2")]
    try:
        ready = network.hosts["load1"].run(PYTHON, "-c", "import sys; from distributed import Client;"
                                           " Client(sys.argv[1], timeout=60).wait_for_workers(2, timeout=60)",
                                           address, timeout=120)
        if ready.returncode:
            raise SystemExit(f"the Dask cluster did not come up: {ready.stderr[-500:]} (see {work}/dask.log)")
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=60)
        log.close()


def run(network: Network, server: PostgresServer, records: Path, size: int, hosts: str, log) -> dict:
    """One run: `hosts` "1" or "2" loading hosts each loading its part with local worker processes,
    or "dask": one loading host whose per-record work runs on Dask workers on both loading hosts."""
    from index.home import Home
    from index.replicas import home_generation
    from index.store import index_files
    from index.store.postgresql import PostgresConnection

    dsn = server.new_database()
    local = server.dsn(dsn.rsplit("/", 1)[1])   # the Unix socket: from this namespace
    work = OUT / f"hosts-{size}-{hosts}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    search_home = work / "search1"
    search_log = (work / "search1.log").open("w")
    replica = network.hosts["search1"].start(
        PYTHON, "-m", "zserver", "--home", search_home, "serve", "--replica-of", dsn, "--replica-poll", "1",
        "--host", network.hosts["search1"].address, "--port", "2100", "--workers", "1",
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=search_log, stderr=subprocess.STDOUT)
    stack = ExitStack()
    try:
        cluster = ["--cluster", stack.enter_context(_dask_cluster(network, work))] if hosts == "dask" else []
        parts = _parts(records, 1 if hosts == "dask" else int(hosts))
        homes = [_home(work / f"load{number}", dsn) for number in range(1, len(parts) + 1)]
        log(f"{hosts} loading host(s): {size:,} records (logs: {work}/load*.log)")
        started = time.monotonic()
        loads, monitors = [], []
        for number, (home, part) in enumerate(zip(homes, parts, strict=True), 1):
            with open(work / f"load{number}.log", "wb") as output:
                loads.append(network.hosts[f"load{number}"].start(
                    PYTHON, "-m", "zserver", "--home", home, "load", "--library", "LC", *cluster, part,
                    cwd=REPO, stdout=output, stderr=subprocess.STDOUT))
            monitors.append(Monitor(loads[-1].pid).__enter__())
        ended, cpu = [], 0.0
        for load, monitor in zip(loads, monitors, strict=True):
            _, status, usage = os.wait4(load.pid, 0)   # wait4: the CPU of the load and its workers
            load.returncode = os.waitstatus_to_exitcode(status)
            monitor.__exit__(None, None, None)
            if load.returncode != 0:
                raise SystemExit(f"a load failed: see {work}")
            ended.append(time.monotonic())
            cpu += usage.ru_utime + usage.ru_stime
        seconds = max(ended) - started

        db = PostgresConnection(local)
        newest = index_files.newest(db)[0]
        db.close()
        while not (search_home / "unikat.toml").exists() or home_generation(Home(search_home)) < newest:
            if replica.poll() is not None:
                raise SystemExit(f"the search host ended: see {work}/search1.log")
            time.sleep(0.05)
        expected = _local_hits(network, homes[-1], WORD)
        while (found := _sru_hits(network, "search1", WORD)) != expected:   # its workers switch at their next request
            if time.monotonic() - max(ended) > 600:
                raise SystemExit(f"the search host answers {found} hits for {WORD}, the loading host {expected}")
            time.sleep(0.2)
        catch_up = time.monotonic() - max(ended)
    finally:
        stack.close()
        replica.terminate()
        replica.wait(timeout=60)
        search_log.close()
    result = {"hosts": hosts, "records": size, "seconds": seconds, "records_per_second": size / seconds,
              "per_host_seconds": [end - started for end in ended],
              "cpu_seconds": cpu,
              "peak_mb_per_host": [m.peak_pss_mb for m in monitors],
              "replica_catch_up_seconds": catch_up, "generation": newest, "hits": expected,
              "load_average": load_average()}
    log(f"{hosts} host(s): load + index {seconds:.1f} s ({size / seconds:,.0f} records/s),"
        f" CPU {result['cpu_seconds']:.0f} s, peak {max(result['peak_mb_per_host']):.0f} MB a host,"
        f" replica caught up {catch_up:.1f} s after the last load ended")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--hosts", nargs="+", default=["1", "2"], choices=["1", "2", "dask"],
                        help="loading hosts of each run: 1, 2, or dask (one, its work on Dask workers on both)")
    args = parser.parse_args()
    why = Network.available()
    if why:
        raise SystemExit(f"bench/hosts.py: {why}")
    records = lc_subset(args.records)
    network = Network.make(["db", "load1", "load2", "search1", "client"])
    try:
        server = PostgresServer.start(inside=network.hosts["db"].command(), listen=network.hosts["db"].address)
        if server is None:
            raise SystemExit(f"PostgreSQL: {PostgresServer.unavailable}")
        try:
            results = [run(network, server, records, args.records, hosts, print) for hosts in args.hosts]
        finally:
            server.stop()
    finally:
        network.remove()
    zebra = load_zebra(records, args.records, file_digest(records), force=True, log=print)   # this run's
    for result in results:
        result["zebra_seconds"] = zebra["seconds"]
        result["ratio_to_zebra"] = result["seconds"] / zebra["seconds"]
        print(f"{result['hosts']} host(s) / zebraidx: {result['ratio_to_zebra']:.2f}x")
    write_json(OUT / "hosts.json", {"records": args.records, "runs": results, "zebra": zebra})


if __name__ == "__main__":
    main()
