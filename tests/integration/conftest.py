"""A running `unikat serve` over a copy of the sample catalog, and helpers to drive real
yaz-client and zoomsh against it. Skips with a printed reason when YAZ is not installed."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from index.home import Home
from index.search import Catalog

REPO = Path(__file__).resolve().parents[2]
IDLE_TIMEOUT = 3   # seconds, short so the idle close can be watched


def require(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        pytest.skip(f"{program} not installed (Debian package yaz; `make yaz` installs it)")
    return found


@dataclass
class Server:
    host: str
    port: int
    home: Home
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)
    idle_timeout: float = IDLE_TIMEOUT

    @property
    def target(self) -> str:
        return f"tcp:{self.host}:{self.port}"


@pytest.fixture(scope="session")
def server_home(sample_home, tmp_path_factory) -> Home:
    """The sample catalog with database B restricted and a short idle timeout."""
    root = tmp_path_factory.mktemp("z3950") / "home"
    shutil.copytree(sample_home.root, root)
    config = root / "unikat.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^restricted = .*$", 'restricted = ["B"]', text)
    text = re.sub(r"(?m)^idle_timeout = .*$", f"idle_timeout = {IDLE_TIMEOUT}", text)
    config.write_text(text, encoding="utf-8")
    return Home(root)


@pytest.fixture(scope="session")
def catalog(server_home):
    """The same catalog opened in-process, to compute what the server should answer."""
    opened = Catalog(server_home)
    yield opened
    opened.close()


def _drain(stream, lines: list[str], ready: threading.Event, found: dict) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        match = re.search(r"listening on ([\d.]+):(\d+)", line)
        if match:
            found["address"] = (match.group(1), int(match.group(2)))
        found["serving"] = found.get("serving", 0) + line.count(" serving")
        if found.get("address") and found.get("serving", 0) >= 2:
            ready.set()
    ready.set()


@pytest.fixture(scope="session")
def server(server_home) -> Server:
    """`unikat serve` with two workers on a free loopback port; stopped with SIGTERM."""
    require("yaz-client")
    process = subprocess.Popen(
        [sys.executable, "-m", "zserver.cli", "--home", str(server_home.root), "serve",
         "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()
    found: dict = {}
    threading.Thread(target=_drain, args=(process.stderr, lines, ready, found), daemon=True).start()
    if not ready.wait(60) or "address" not in found:
        process.kill()
        pytest.fail("unikat serve did not start:\n" + "\n".join(lines))
    host, port = found["address"]
    _wait_for_port(host, port)
    running = Server(host, port, server_home, process, lines)
    yield running
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("unikat serve did not stop on SIGTERM")
    assert code == 0, "\n".join(lines)
    assert not [line for line in lines if "Traceback" in line or "internal error" in line], "\n".join(lines)


def _wait_for_port(host: str, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listens on {host}:{port}")


@pytest.fixture()
def yaz(server, tmp_path):
    """Run yaz-client with a command file (`before_open`, open, the commands); returns stdout."""
    program = require("yaz-client")

    def run(*commands: str, database: str = "unikat", before_open: tuple[str, ...] = (),
            marc_file: Path | None = None, timeout: float = 60) -> str:
        script = tmp_path / f"yaz-{time.monotonic_ns()}.cmd"
        script.write_text("\n".join([*before_open, f"open {server.target}/{database}", *commands]) + "\n",
                          encoding="utf-8")
        arguments = [program, "-f", str(script)]
        if marc_file is not None:
            arguments[1:1] = ["-m", str(marc_file)]
        done = subprocess.run(arguments, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return done.stdout.decode("utf-8", "replace")

    return run


@pytest.fixture()
def zoom(server):
    """Run zoomsh connected to the server with the given commands; returns stdout."""
    program = require("zoomsh")

    def run(*commands: str, database: str = "unikat", timeout: float = 60) -> str:
        done = subprocess.run([program, f"connect {server.target}/{database}", *commands, "quit"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return done.stdout.decode("utf-8", "replace")

    return run


@pytest.fixture()
def marcdump():
    """Read an ISO 2709 file back with yaz-marcdump: one dict tag -> field lines per record."""
    program = require("yaz-marcdump")

    def run(path: Path) -> list[dict[str, list[str]]]:
        output = subprocess.run([program, str(path)], capture_output=True, check=True).stdout
        records = []
        for block in output.decode("utf-8").split("\n\n"):
            fields: dict[str, list[str]] = {}
            for line in block.splitlines()[1:]:
                fields.setdefault(line[:3], []).append(line[4:])
            if fields:
                records.append(fields)
        return records

    return run
