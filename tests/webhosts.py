"""Small HTTP servers on loopback addresses for the link-check tests (never the internet).

`WebHost` is one host: a threaded HTTP server on (address, port), optionally with TLS, that
counts requests in progress (its `peak` is the most at once) and logs each request. Paths:

    /ok                     200 (HEAD and GET)
    /status/N               status N
    /redirect/N/CODE        CODE redirect to /redirect/N-1/CODE ... and /ok at N = 0
    /to?url=U               302 to U (another host)
    /loop                   302 to itself
    /nohead                 HEAD 405, GET 200
    /slow                   answers after 5 s (longer than the tests' timeouts)
    /work                   200 after `work_seconds` (to overlap requests for the counters)

`DroppingHost` accepts connections and closes them without a word.
`localized_ejournals` points the URLs of sample_data/ejournals.pica at such hosts.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class WebHost:
    def __init__(self, address: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None,
                 work_seconds: float = 0.05) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.log: list[tuple[float, str, str]] = []   # (monotonic start, method, path)
        self.work_seconds = work_seconds
        self.server = ThreadingHTTPServer((address, 0), self._handler())
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.address = address
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.address}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

            def _answer(self, head: bool) -> None:
                with host.lock:
                    host.active += 1
                    host.peak = max(host.peak, host.active)
                    host.log.append((time.monotonic(), self.command, self.path))
                self._counted = True
                try:
                    self._route(head)
                finally:
                    self._done()

            def _done(self) -> None:
                """The request no longer counts as active: before its answer goes out, so a
                client that has the answer and sends its next request is never counted twice."""
                if self._counted:
                    self._counted = False
                    with host.lock:
                        host.active -= 1

            def _send(self, status: int, location: str = "") -> None:
                self._done()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(b"ok")

            def _route(self, head: bool) -> None:
                parts = urlsplit(self.path)
                path = parts.path.split("/")[1:]
                if path == ["ok"]:
                    self._send(200)
                elif path[0] == "status":
                    self._send(int(path[1]))
                elif path[0] == "redirect":
                    left, code = int(path[1]), int(path[2])
                    self._send(code, f"/redirect/{left - 1}/{code}" if left > 1 else "/ok")
                elif path == ["to"]:
                    self._send(302, parse_qs(parts.query)["url"][0])
                elif path == ["loop"]:
                    self._send(302, "/loop")
                elif path == ["nohead"]:
                    self._send(405 if head else 200)
                elif path == ["slow"]:
                    time.sleep(5)
                    self._send(200)
                elif path == ["work"]:
                    time.sleep(host.work_seconds)
                    self._send(200)
                else:
                    self._send(404)

        return Handler


class DroppingHost:
    """Accepts each connection, reads a little, and closes it without an answer."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.listener = socket.create_server((address, 0))
        self.address, self.port = address, self.listener.getsockname()[1]
        self.closed = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.address}:{self.port}{path}"

    def _serve(self) -> None:
        while not self.closed:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            connection.recv(1024)
            connection.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _routes(other: WebHost) -> list[str]:
    return ["/ok", "/status/404", "/redirect/2/301", "/ok", "/status/410", f"/to?url={other.url('/ok')}",
            "/status/500", "/redirect/1/302", "/nohead"]


def localized_ejournals(tmp_path: Path, host: WebHost, other: WebHost) -> tuple[Path, dict[str, str]]:
    """sample_data/ejournals.pica with each distinct URL (009Q and 209R $u) replaced by a URL of
    `host` whose route gives a known answer; returns the file and original -> local URL."""
    text = (Path(__file__).resolve().parents[1] / "sample_data" / "ejournals.pica").read_text(encoding="utf-8")
    routes = _routes(other)
    local: dict[str, str] = {}

    def swap(match: re.Match) -> str:
        url = match.group(2)
        if url not in local:
            route = routes[len(local) % len(routes)]
            local[url] = host.url(route) + ("&" if "?" in route else "?") + f"n={len(local)}"
        return match.group(1) + local[url]

    text = re.sub(r"^((?:009Q|209R/\d\d) \$u)([^$\n]+)", swap, text, flags=re.M)
    path = tmp_path / "ejournals-local.pica"
    path.write_text(text, encoding="utf-8")
    return path, local
