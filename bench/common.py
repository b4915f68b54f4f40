"""Shared pieces of the benchmarks: LC record subsets, the query mix, Zebra and unikat set-up,
servers under measurement, memory of process trees, and the latency summary.

Benchmarks compare unikat with Index Data's Zebra on the same records and queries in the same
run. They are never part of the test suite's timing; a smoke run on 1,000 records keeps them
working (tests/bench/test_bench_smoke.py). Every output lands in bench/out (gitignored) unless
the caller sets BENCH_OUT; nothing here knows how results are reported.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = Path(os.environ.get("BENCH_OUT") or BENCH / "out").resolve()
LC_SCRIPT = REPO.parent / "shared" / "scripts" / "get-lc-books"
LC_DEFAULT = Path.home() / ".cache" / "lc-books" / "BooksAll.2016.part01.utf8"
ZEBRA_MODULES = "/usr/lib/x86_64-linux-gnu/idzebra-2.0/modules"
ZEBRA_TABLES = Path("/usr/share/idzebra-2.0/tab")
ZEBRA_SETUP = "marc21.abs encoding utf-8"   # in the stamps of Zebra homes: one built before is rebuilt
PQF_PROPERTIES = "/usr/share/yaz/etc/pqf.properties"
UNIKAT = REPO / ".venv" / "bin" / "unikat"


# --- records -------------------------------------------------------------------------------------

def lc_books() -> Path:
    """The 250,000 LC records, fetched with ../shared/scripts/get-lc-books when missing."""
    if LC_DEFAULT.exists():
        return LC_DEFAULT
    if not LC_SCRIPT.exists():
        raise SystemExit(f"LC records missing and {LC_SCRIPT} not found")
    path = subprocess.run([str(LC_SCRIPT)], check=True, capture_output=True, text=True).stdout.strip()
    return Path(path.splitlines()[-1]) if path else LC_DEFAULT


def lc_subset(count: int) -> Path:
    """A file with the first `count` LC records (cached in bench/out; smaller sets are prefixes
    of larger ones, so a query drawn from the first records hits in every set)."""
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"lc-{count}.mrc"
    if target.exists():
        return target
    partial = target.with_suffix(".part")
    # Streamed: holding the 240 MB file in this process would inflate every forked child's peak memory.
    with open(lc_books(), "rb") as source, open(partial, "wb") as out:
        for _ in range(count):
            head = source.read(5)
            if len(head) < 5:
                break
            out.write(head + source.read(int(head) - 5))
    partial.rename(target)
    return target


def file_digest(path: Path) -> str:
    """SHA-256 of a file (hex), read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --- the query mix -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    """One query of the mix in both query languages. `cql` is None where Zebra's stock
    pqf.properties has no CQL form (its dc.date is Bib-1 Use 30, which marc21.abs does not
    index; the year is Use 31), so SRU leaves that kind out."""

    kind: str
    pqf: str
    cql: str | None


QUERY_KINDS = ("title", "author", "subject", "phrase", "truncation", "and", "or", "year")
SCAN_KINDS = ("scan title", "scan author", "scan subject")


@dataclass
class _Pools:
    titles: list[list[str]]
    authors: list[str]
    subjects: list[str]
    years: list[int]


def _words(text: str) -> list[str]:
    from index.searchkeys.normalize import normalize

    return [w for w in normalize(text).split() if w.isascii() and w.isalnum()]


@functools.cache
def _pools(records: Path, limit: int = 5000) -> _Pools:
    import pymarc

    pools = _Pools([], [], [], [])
    with open(records, "rb") as handle:
        for position, record in enumerate(pymarc.MARCReader(handle, to_unicode=True, force_utf8=True)):
            if position >= limit:
                break
            if record is None:
                continue
            if record.get("245") is not None:
                words = _words(record["245"].get("a") or "")
                if len([w for w in words if len(w) > 3]) >= 2:
                    pools.titles.append(words)
            if record.get("100") is not None:
                name = _words(record["100"].get("a") or "")
                if name and len(name[0]) > 2:
                    pools.authors.append(name[0])
            for field in record.get_fields("650"):
                word = _words(field.get("a") or "")
                if word and len(word[0]) > 3:
                    pools.subjects.append(word[0])
            f008 = record.get("008")
            if f008 is not None and (f008.data or "")[7:11].isdigit():
                pools.years.append(int(f008.data[7:11]))
    return pools


def query_mix(records: Path, count: int = 200, seed: int = 7) -> list[Query]:
    """Queries drawn from the first 5,000 records: title words, author names, subject words,
    two-word title phrases (adjacent words), right truncation on four letters, AND/OR of two
    indexes, and a title word limited to a publication year range (Z39.50 only). Drawn the same
    way for every record count, so the mix is the same at 10k, 100k and 250k records."""
    rng = random.Random(seed)
    pools = _pools(records)
    queries = []
    for number in range(count):
        kind = QUERY_KINDS[number % len(QUERY_KINDS)]
        title = rng.choice(pools.titles)
        word = rng.choice([w for w in title if len(w) > 3])
        author, subject = rng.choice(pools.authors), rng.choice(pools.subjects)
        if kind == "title":
            queries.append(Query(kind, f"@attr 1=4 {word}", f'dc.title="{word}"'))
        elif kind == "author":
            queries.append(Query(kind, f"@attr 1=1003 {author}", f'dc.creator="{author}"'))
        elif kind == "subject":
            queries.append(Query(kind, f"@attr 1=21 {subject}", f'dc.subject="{subject}"'))
        elif kind == "phrase":
            start = rng.randrange(len(title) - 1)
            phrase = f"{title[start]} {title[start + 1]}"
            queries.append(Query(kind, f'@attr 1=4 @attr 4=1 "{phrase}"', f'dc.title="{phrase}"'))
        elif kind == "truncation":
            queries.append(Query(kind, f"@attr 1=4 @attr 5=1 {word[:4]}", f'dc.title="{word[:4]}*"'))
        elif kind == "and":
            queries.append(Query(kind, f"@and @attr 1=4 {word} @attr 1=1003 {author}",
                                 f'dc.title="{word}" and dc.creator="{author}"'))
        elif kind == "or":
            queries.append(Query(kind, f"@or @attr 1=4 {word} @attr 1=21 {subject}",
                                 f'dc.title="{word}" or dc.subject="{subject}"'))
        else:
            year = rng.choice(pools.years)
            queries.append(Query(kind, f"@and @attr 1=4 {word} @and @attr 1=31 @attr 2=4 {year - 5}"
                                       f" @attr 1=31 @attr 2=2 {year + 5}", None))
    rng.shuffle(queries)
    return queries


def scan_mix(records: Path, count: int = 60, seed: int = 11) -> list[Query]:
    """Scan start terms (PQF, ten terms each) on title, author and subject, from the same records."""
    rng = random.Random(seed)
    pools = _pools(records)
    terms = []
    for number in range(count):
        kind = SCAN_KINDS[number % len(SCAN_KINDS)]
        if kind == "scan title":
            terms.append(Query(kind, f"@attr 1=4 {rng.choice(rng.choice(pools.titles))}", None))
        elif kind == "scan author":
            terms.append(Query(kind, f"@attr 1=1003 {rng.choice(pools.authors)}", None))
        else:
            terms.append(Query(kind, f"@attr 1=21 {rng.choice(pools.subjects)}", None))
    return terms


# --- measured child processes and memory ---------------------------------------------------------

def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (from /proc; processes that end meanwhile are left out)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        one = todo.pop()
        tree.append(one)
        todo.extend(children.get(one, ()))
    return tree


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process tree in MB. PSS divides shared pages among the processes that map
    them, so forked servers (Zebra forks per connection, unikat per worker) are not counted
    twice; RSS is the plain sum and overstates them."""
    rss = pss = 0
    for one in process_tree(pid):
        try:
            lines = Path(f"/proc/{one}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss / 1024, pss / 1024


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds (user + system, own and reaped children's) of each process in the tree."""
    ticks = os.sysconf("SC_CLK_TCK")
    times = {}
    for one in process_tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[one] = sum(int(x) for x in fields[11:15]) / ticks     # utime stime cutime cstime
    return times


def busy_cpu_seconds() -> float:
    """CPU seconds all cores together spent busy (not idle, not waiting for I/O) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class Monitor:
    """Watches a process tree while it works: its memory every `interval` seconds in a thread
    (`peak_rss_mb`, `peak_pss_mb`, `last_pss_mb`), and on exit the CPU it used (`cpu_seconds`),
    the CPU the whole machine used (`busy_seconds`) and the wall time (`seconds`).
    Use as a context manager."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid, self.interval = pid, interval
        self.peak_rss_mb = self.peak_pss_mb = self.last_pss_mb = 0.0
        self.cpu_seconds = self.busy_seconds = self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        rss, pss = tree_memory_mb(self.pid)
        if rss:
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            self.peak_pss_mb = max(self.peak_pss_mb, pss)
            self.last_pss_mb = pss

    def __enter__(self) -> Monitor:
        self._cpu, self._busy, self._started = tree_cpu_seconds(self.pid), busy_cpu_seconds(), time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        cpu = tree_cpu_seconds(self.pid)
        self.cpu_seconds = sum(cpu.values()) - sum(self._cpu.get(pid, 0.0) for pid in cpu)
        self.busy_seconds = busy_cpu_seconds() - self._busy
        self.seconds = time.monotonic() - self._started


@dataclass(frozen=True)
class Measured:
    """Wall time, memory and CPU of one command: `peak_mb` is the largest single process (the
    kernel's ru_maxrss), `tree_peak_mb` the sampled peak PSS of the whole process tree,
    `cpu_seconds` user + system time of the command and the children it waited for."""

    seconds: float
    peak_mb: float
    tree_peak_mb: float
    cpu_seconds: float = 0.0


def _last_line(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - 400))
        tail = handle.read().decode("utf-8", "replace")
    lines = [line.strip() for line in tail.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_measured(command: list[str], *, cwd: Path | None = None, log: Path | None = None,
                 progress: Callable[[str], None] | None = None, every: float = 30.0) -> Measured:
    """Run a command to its end, its output appended to `log`; SystemExit when it fails.
    With `progress`, the log's last line is passed to it every `every` seconds."""
    started = time.monotonic()
    with open(log or os.devnull, "ab") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        with Monitor(process.pid) as sampler:
            report_at = started + every
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)   # wait4: keeps the rusage
                if pid:
                    break
                time.sleep(0.05)
                if progress and log and time.monotonic() >= report_at:
                    progress(f"{time.monotonic() - started:6.0f}s  {_last_line(log)}")
                    report_at += every
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed (see {log})")
    return Measured(seconds, usage.ru_maxrss / 1024, sampler.peak_pss_mb or usage.ru_maxrss / 1024,
                    usage.ru_utime + usage.ru_stime)


# --- homes and configurations --------------------------------------------------------------------

def zebra_available() -> bool:
    return shutil.which("zebraidx") is not None and shutil.which("zebrasrv") is not None


def zebra_version() -> str:
    if not zebra_available():
        return "-"
    output = subprocess.run(["zebraidx", "-V"], capture_output=True, text=True).stdout
    return output.splitlines()[0].strip() if output else "?"


def zebra_config(directory: Path, abs_rules: str = "") -> Path:
    """A zebra.cfg for MARC21 in a fresh `directory` (as ../shared/anchors/zebra.md verified),
    with the stock marc21.abs (and `abs_rules`, e.g. more `melm` indexes) copied beside it
    saying `encoding utf-8`: grs.marc takes ISO 2709 as ISO-8859-1 unless told, so every
    non-ASCII byte was indexed as a Latin-1 character and a MARCXML record over SRU (YAZ asks
    Zebra for UTF-8) came out converted twice (its UTF-8 bytes read as Latin-1). The records given to
    Zebra here are UTF-8: the LC records and the sample files all have leader/09 `a`."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "reg").mkdir(parents=True)
    stock = (ZEBRA_TABLES / "marc21.abs").read_text(encoding="utf-8")
    (directory / "marc21.abs").write_text(stock + "\nencoding utf-8\n" + abs_rules, encoding="utf-8")
    config = directory / "zebra.cfg"
    config.write_text(
        f"profilePath: {directory}:{ZEBRA_TABLES}\n"
        "attset: bib1.att\nattset: explain.att\n"
        "recordType: grs.marcxml.marc21\n"
        f"modulePath: {ZEBRA_MODULES}\n"
        f"register: {directory}/reg:4G\nshadow: {directory}/reg:1G\n"
    )
    return config


def yazgfs_config(target: Path, zebra_dir: Path, port: int) -> Path:
    """A YAZ frontend config serving `zebra_dir`'s zebra.cfg with Z39.50 and SRU on one port;
    CQL goes through the stock pqf.properties. MARCXML (SRU schema marcxml, Z39.50 syntax XML
    with element set F) is made from the stored MARC21 by YAZ, as zebra.md verified."""
    target.write_text(f"""<yazgfs>
  <listen id="l1">tcp:127.0.0.1:{port}</listen>
  <server id="s1" listenref="l1">
    <directory>{zebra_dir}</directory>
    <config>zebra.cfg</config>
    <cql2rpn>{PQF_PROPERTIES}</cql2rpn>
    <retrievalinfo>
      <retrieval syntax="usmarc" name="F"/>
      <retrieval syntax="xml" name="marcxml" identifier="info:srw/schema/1/marcxml-v1.1">
        <backend syntax="usmarc" name="F">
          <marc inputformat="marc" outputformat="marcxml" inputcharset="utf-8"/>
        </backend>
      </retrieval>
      <retrieval syntax="xml" name="F">
        <backend syntax="usmarc" name="F">
          <marc inputformat="marc" outputformat="marcxml" inputcharset="utf-8"/>
        </backend>
      </retrieval>
    </retrievalinfo>
  </server>
</yazgfs>
""")
    return target


def directory_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def engine() -> str:
    """The unikat search engine under measurement (`--engine`, default the fastest: postings)."""
    return os.environ.get("UNIKAT_BENCH_ENGINE", "postings")


def unikat_dir(size: int) -> Path:
    """The benchmark home of `size` records for the engine under measurement."""
    return OUT / (f"unikat-load-{size}" + ("" if engine() == "whoosh" else f"-{engine()}"))


def unikat_home(directory: Path, library: str = "LC") -> Path:
    """A fresh unikat home with one library whose holdings are the records themselves."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / "unikat.toml").write_text(
        f'[catalog]\nname = "benchmark"\n[libraries.{library}]\nsource_system = "LC"\nholdings = "record"\n'
        f'[index]\nengine = "{engine()}"\n'
    )
    return directory


def code_version() -> str:
    """A digest of what builds a unikat home: every file under index/ (the working tree, so
    uncommitted changes count) and the Whoosh version."""
    from whoosh import versionstring

    digest = hashlib.sha256(versionstring().encode())
    for path in sorted((REPO / "index").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# --- servers under measurement -------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 120, process: subprocess.Popen | None = None) -> None:
    """Wait until something listens on `port`; SystemExit at once when `process` (the server) has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"server for port {port} ended with status {process.returncode} (see its log in {OUT})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


@dataclass
class Server:
    """A running server: Z39.50 at port/database, SRU at `sru_url` on the same port."""

    name: str
    port: int
    database: str
    process: subprocess.Popen

    @property
    def sru_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.database}"


def unikat_command(unikat_src: Path | None = None) -> tuple[list[str], dict | None, Path | None]:
    """How to start unikat: this checkout's entry point, or with `unikat_src` the code of another
    checkout (a git worktree of an older commit, for "before" figures) run by this venv's Python
    from that directory. Returns (command prefix, environment, working directory)."""
    if unikat_src is None:
        return [str(UNIKAT)], None, None
    if not (unikat_src / "zserver" / "__init__.py").exists():
        # Without it the venv's editable finder would quietly serve this checkout's code instead.
        raise SystemExit(f"{unikat_src} has no zserver package")
    # PYTHONPATH comes before the venv's editable finder (which maps zserver/index to this checkout).
    environment = {**os.environ, "PYTHONPATH": str(unikat_src)}
    return [str(REPO / ".venv" / "bin" / "python"), "-m", "zserver"], environment, unikat_src


@contextmanager
def unikat_settings(home: Path, settings: Sequence[str]) -> Iterator[None]:
    """The home's unikat.toml with `settings` (each `section.key=value`, value in TOML) added
    while serving, then as it was."""
    path = home / "unikat.toml"
    original = path.read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        section, _, key = name.partition(".")
        if not (section and key and value):
            raise SystemExit(f"--unikat-setting {setting!r}: give section.key=value")
        sections.setdefault(section, []).append(f"{key} = {value}")
    text = original
    for section, lines in sections.items():
        header = re.search(rf"(?m)^\[{re.escape(section)}\][ \t]*\n", text)
        if header:   # TOML allows each table once: the settings go at the top of it
            text = text[:header.end()] + "\n".join(lines) + "\n" + text[header.end():]
        else:
            text += f"\n[{section}]\n" + "\n".join(lines) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
        yield
    finally:
        path.write_text(original, encoding="utf-8")


@contextmanager
def serving(size: int, workers: int = 2, unikat_src: Path | None = None,
            settings: Sequence[str] = ()) -> Iterator[dict[str, Server]]:
    """unikat (`serve --workers N`; the code of `unikat_src` when given, see unikat_command;
    `settings` added to its unikat.toml, see unikat_settings) and, when installed, zebrasrv
    (forking, the default) on the homes bench/load.py built for `size` records; both stopped
    with SIGTERM afterwards."""
    servers: dict[str, Server] = {}
    with unikat_settings(unikat_dir(size), settings):
        try:
            port = free_port()
            log = open(OUT / f"unikat-serve-{size}.log", "ab")
            command, environment, cwd = unikat_command(unikat_src)
            servers["unikat"] = Server("unikat", port, "unikat", subprocess.Popen(
                [*command, "--home", str(unikat_dir(size)), "serve", "--port", str(port),
                 "--workers", str(workers)], stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=cwd))
            if zebra_available():
                port = free_port()
                config = yazgfs_config(OUT / f"yazgfs-{size}.xml", OUT / f"zebra-load-{size}", port)
                servers["zebra"] = Server("zebra", port, "Default", subprocess.Popen(
                    ["zebrasrv", "-f", str(config), "-l", str(OUT / f"zebrasrv-{size}.log")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for server in servers.values():
                wait_for_port(server.port, process=server.process)
            yield servers
        finally:
            for server in servers.values():
                server.process.terminate()
            for server in servers.values():
                try:
                    server.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.process.kill()
                    server.process.wait()


# --- measuring concurrent clients ----------------------------------------------------------------

def quantiles_ms(latencies: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds of latencies in seconds."""
    if not latencies:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    if len(latencies) == 1:
        cuts = latencies * 99
    else:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000}


def run_clients(server: Server, worker: Callable[[tuple], dict], mix: list, clients: int, seconds: float,
                setting: object) -> tuple[list[dict], Monitor, float]:
    """`clients` processes of `worker` against `server` for `seconds`, each on its own share of
    `mix`, all starting together; returns their runs, the server's memory monitor and the start.
    Each worker gets (port, database, share, setting, start_at, deadline)."""
    shares = [mix[i::clients] or mix for i in range(clients)]
    start_at = time.time() + 0.3 + 0.02 * clients    # every client connected before the clock starts
    with Monitor(server.process.pid) as monitor, multiprocessing.Pool(clients) as pool:
        runs = pool.map(worker, [(server.port, server.database, share, setting, start_at, start_at + seconds)
                                 for share in shares])
    return runs, monitor, start_at


def measure_rows(servers: dict[str, Server], clients: list[int], settings: Iterable, key: str,
                 measure: Callable[[Server, int, object], dict], label: Callable[[int, object], str],
                 log: Callable[[str], None]) -> dict:
    """Every client count × setting measured on every server: the rows, and each server's peak
    PSS over all of them."""
    rows = []
    for count in clients:
        for setting in settings:
            row: dict = {"clients": count, key: setting}
            for name, server in servers.items():
                row[name] = measure(server, count, setting)
            row["load_average"] = load_average()
            rows.append(row)
            log(describe(label(count, setting), row, servers))
    peak = {name: max(row[name]["server_pss_mb"] for row in rows) for name in servers}
    return {"runs": rows, "server_peak_pss_mb": peak}


def summarize(runs: list[dict], started_at: float, server: Monitor | None = None) -> dict:
    """Throughput and latency of concurrent client runs. Each run is {"samples": [(kind,
    seconds)], "records": n, "ended_at": wall clock, "errors": n, "cpu_seconds": s}; all started
    at `started_at` (wall clock). Requests/s count every request of every client over the common
    window; `client_cpu_cores` is the CPU the load generator itself used (it shares the machine).
    With the `server`'s Monitor: its peak memory, its CPU per request, and the CPU the rest of the
    machine used meanwhile (`other_cpu_cores`: busy CPU minus server and clients; other people's
    work, and this process's sampling)."""
    window = max(run["ended_at"] for run in runs) - started_at
    samples = [sample for run in runs for sample in run["samples"]]
    client_cpu = sum(run.get("cpu_seconds", 0.0) for run in runs)
    server_figures = {} if server is None else {
        "server_pss_mb": server.peak_pss_mb, "server_rss_mb": server.peak_rss_mb,
        "server_cpu_cores": server.cpu_seconds / server.seconds,
        "server_cpu_ms_per_request": server.cpu_seconds * 1000 / len(samples) if samples else 0.0,
        "other_cpu_cores": max(0.0, server.busy_seconds - server.cpu_seconds - client_cpu) / server.seconds,
    }
    by_kind: dict[str, list[float]] = {}
    for kind, seconds in samples:
        by_kind.setdefault(kind, []).append(seconds)
    return {
        "requests": len(samples),
        "errors": sum(run.get("errors", 0) for run in runs),
        "seconds": window,
        "requests_per_second": len(samples) / window if window > 0 else 0.0,
        "records_per_second": sum(run["records"] for run in runs) / window if window > 0 else 0.0,
        "client_cpu_cores": client_cpu / window if window > 0 else 0.0,
        **server_figures,
        **quantiles_ms([seconds for _, seconds in samples]),
        "by_kind": {kind: {"requests": len(values), **quantiles_ms(values)}
                    for kind, values in sorted(by_kind.items())},
    }


# --- progress -----------------------------------------------------------------------------------

class Log:
    """Progress lines of one step: printed at once and appended to OUT/<name>.log."""

    def __init__(self, name: str) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        self.path = OUT / f"{name}.log"
        self.name = name

    def __call__(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} [{self.name}] {message}"
        print(line, flush=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


# --- the machine ---------------------------------------------------------------------------------

def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_version(repo: Path = REPO) -> str:
    """The commit of a working tree (this one unless told), and whether its index/ or zserver/
    differ from it (other engineers commit while a long run goes on: the report gives it at the
    start and the end)."""
    git = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "index", "zserver"],
                           capture_output=True, text=True)
    return git.stdout.strip() + (" (index/zserver with uncommitted changes)" if dirty.stdout.strip() else "")


def machine() -> dict:
    """What the figures were measured on."""
    meminfo = Path("/proc/meminfo").read_text().split()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    from whoosh import versionstring

    yaz = subprocess.run(["yaz-client", "-V"], capture_output=True, text=True).stdout.split() \
        if shutil.which("yaz-client") else []
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "whoosh": versionstring(),
        "zebra": zebra_version(),
        "yaz": next((w for w in yaz if w[:1].isdigit()), "-"),
        "git": git_version(),
        "load_average": load_average(),
    }


def describe(label: str, row: dict, names: Iterable[str]) -> str:
    """One progress line for a measured row (both servers side by side)."""
    cells = [f"{name} {f['requests_per_second']:6.0f} req/s {f['records_per_second']:6.0f} rec/s"
             f" p50 {f['p50_ms']:6.2f} p95 {f['p95_ms']:6.2f} p99 {f['p99_ms']:6.2f} ms {f['server_pss_mb']:5.0f} MB"
             f" {f['server_cpu_ms_per_request']:5.2f} cpu-ms/req {f['errors']} errors"
             for name in names if (f := row[name])]
    speed = f" | req/s unikat/zebra {ratio(row['unikat']['requests_per_second'], row['zebra']['requests_per_second'])}" \
        if "zebra" in row and "unikat" in row else ""
    return f"{label}: " + " | ".join(cells) + speed


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "-"


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1))


def protocol_main(name: str, description: str, run: Callable[..., dict]) -> int:
    """The command line of a protocol benchmark (z3950.py, sru.py): build the homes when
    missing, serve both systems, run the measurements, write bench/out/<name>.json."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--clients", default="1,5,20")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="unikat serve --workers")
    parser.add_argument("--engine", default=engine(), help="unikat's search engine (default postings)")
    parser.add_argument("--unikat-src", type=Path, help="serve unikat from this checkout (before/after figures)")
    parser.add_argument("--reuse-homes", action="store_true", help="reuse unikat homes built by other code")
    parser.add_argument("--unikat-setting", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="serve unikat with this unikat.toml setting (TOML value), e.g. sru.hit_count_answers=0")
    args = parser.parse_args()
    os.environ["UNIKAT_BENCH_ENGINE"] = args.engine
    log = Log(name)
    import load  # load imports this module

    load.run([args.records], reuse_homes=args.reuse_homes, log=log)
    with serving(args.records, args.workers, args.unikat_src and args.unikat_src.resolve(),
                 args.unikat_setting) as servers:
        result = run(args.records, servers, clients=[int(c) for c in args.clients.split(",")],
                     seconds=args.seconds, log=log)
    write_json(OUT / f"{name}.json", result)
    return 0
