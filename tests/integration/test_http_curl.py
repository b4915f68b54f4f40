"""HTTP on the shared port of a real `unikat serve`, driven with curl and raw sockets: keep-alive
across URLs, HTTP/1.0, HEAD, Expect: 100-continue, chunked uploads, pipelining, limits."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time

import pytest
from test_yaz_client import Server, start_serving, stop_serving

pytestmark = pytest.mark.integration

SRU = "/unikat?version=1.2&operation=searchRetrieve&query=water&maximumRecords=0"
HITS = re.compile(rb"<(?:\w+:)?numberOfRecords>(\d+)<")


@pytest.fixture(scope="module")
def server(sample_home) -> Server:
    running = start_serving(sample_home, workers=1)
    yield running
    stop_serving(running)


def curl(*arguments: str, check: bool = False) -> subprocess.CompletedProcess:
    """curl with `arguments` (`check`: its exit status must be 0); skips the test when curl is missing."""
    program = shutil.which("curl")
    if program is None:
        pytest.skip("curl not installed (Debian package curl)")
    return subprocess.run([program, "--silent", "--show-error", "--max-time", "30", *arguments],
                          capture_output=True, timeout=60, check=check)


def base(server: Server) -> str:
    return f"http://{server.host}:{server.port}"


def test_two_urls_share_one_connection(server: Server) -> None:
    done = curl("--verbose", "--write-out", r"%{http_code} %{num_connects}\n",
                "--output", "/dev/null", "--output", "/dev/null",
                base(server) + SRU, base(server) + "/static/unikat.css")
    assert done.stdout.decode().split("\n") == ["200 1", "200 0", ""], done.stderr.decode()
    assert b"Re-using existing connection" in done.stderr or b"Reusing existing connection" in done.stderr
    assert done.stderr.count(b"Connected to") == 1


def test_http_1_0_with_and_without_keep_alive(server: Server) -> None:
    done = curl("--http1.0", "--include", base(server) + SRU)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"\r\nConnection: close" in head
    assert int(HITS.search(body).group(1)) > 0
    done = curl("--http1.0", "--verbose", "--header", "Connection: keep-alive", "--write-out", r"%{num_connects}\n",
                "--output", "/dev/null", "--output", "/dev/null", base(server) + SRU, base(server) + "/")
    assert done.stdout.decode().split("\n") == ["1", "0", ""], done.stderr.decode()


def test_head(server: Server) -> None:
    done = curl("--head", base(server) + "/")
    assert done.stdout.startswith(b"HTTP/1.1 200") and done.stdout.endswith(b"\r\n\r\n")
    length = int(re.search(rb"(?i)\r\ncontent-length: (\d+)", done.stdout).group(1))
    assert length == len(curl(base(server) + "/").stdout) > 0
    assert re.search(rb"(?i)\r\ndate: \w{3}, ", done.stdout) and b"X-Content-Type-Options: nosniff" in done.stdout


def test_post_with_expect_continue_and_chunked(server: Server) -> None:
    form = "version=1.2&operation=searchRetrieve&query=water&maximumRecords=0&x-pad=" + "p" * 3000
    expected = HITS.search(curl(base(server) + SRU).stdout).group(1)
    for extra in ([], ["--header", "Transfer-Encoding: chunked"]):
        done = curl("--verbose", "--header", "Expect: 100-continue", *extra, "--data-binary", form,
                    "--header", "Content-Type: application/x-www-form-urlencoded", base(server) + "/unikat")
        assert b"HTTP/1.1 100 Continue" in done.stderr, done.stderr.decode()
        assert HITS.search(done.stdout).group(1) == expected


def test_a_large_body_is_refused(server: Server, tmp_path) -> None:
    big = tmp_path / "big.form"
    big.write_bytes(b"query=" + b"a" * (200 * 1024))
    for extra in ([], ["--header", "Expect:"]):    # with curl's own Expect: 100-continue, and without
        done = curl("--write-out", r"%{http_code}", "--output", "/dev/null", *extra, "--data-binary", f"@{big}",
                    "--header", "Content-Type: application/x-www-form-urlencoded", base(server) + "/unikat")
        assert done.stdout == b"413", done.stderr.decode()


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    requests = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode()
                        for path in (SRU, "/static/unikat.css", "/nosuch?query=a"))
    requests += b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=20) as connection:
        connection.sendall(requests)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", received)
    assert statuses == [b"200", b"200", b"404", b"200"]
    assert received.index(b"numberOfRecords") < received.index(b"text/css") < received.index(b"</html>")


def test_deep_pipelining_while_reading_slowly(server: Server) -> None:
    """More answers than the socket buffers hold: the server stops reading while they wait
    (flow control) and still answers every request, in order."""
    count = 2000
    requests = b"".join(b"GET /static/unikat.css?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in range(count))
    requests += b"GET /static/unikat.css?n=last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)   # a small window
        connection.settimeout(30)
        connection.connect((server.host, server.port))
        sender = threading.Thread(target=connection.sendall, args=(requests,))
        sender.start()
        time.sleep(1.0)   # the answers pile up: the server's buffers fill
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        sender.join(30)
    assert received.count(b"HTTP/1.1 200 OK\r\n") == count + 1
    lengths = {int(n) for n in re.findall(rb"\r\nContent-Length: (\d+)\r\n", received)}
    assert len(lengths) == 1 and len(received) > (count + 1) * lengths.pop()
    time.sleep(0.5)   # the log is read from the server's stderr by a thread
    served = [line.split("?n=")[1].split()[0] for line in server.log if "/static/unikat.css?n=" in line]
    assert served == [str(n) for n in range(count)] + ["last"]


def test_hostile_requests_over_curl_and_sockets(server: Server) -> None:
    assert curl("--write-out", r"%{http_code}", "--output", "/dev/null",
                base(server) + "/unikat?query=" + "x" * 20000).stdout == b"414"
    assert curl("--write-out", r"%{http_code}", "--output", "/dev/null",
                "--header", "X-Long: " + "b" * 20000, base(server) + "/").stdout == b"431"
    with socket.create_connection((server.host, server.port), timeout=20) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b"Malformed HTTP request" in answer
    assert curl("--write-out", r"%{http_code}", "--output", "/dev/null", base(server) + SRU).stdout == b"200"
    assert any(re.search(r" GET /unikat\?version=1\.2\S* 200 \d+B \d+\.\dms$", line) for line in server.log)
