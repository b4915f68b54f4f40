"""The link checker against HTTP servers this test starts on loopback addresses: every answer
kind (200, redirect chains, 404, 410, 500, timeouts, TLS errors, dropped and refused
connections) and the per-host limit and delay, counted by the servers themselves."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from webhosts import DroppingHost, WebHost, free_port

from index.links.check import CheckSettings, Hop, LinkState, check_urls, host_key

FAST = CheckSettings(concurrency=20, per_host=4, delay=0, timeout=1.0)


def run(urls: list[str], settings: CheckSettings = FAST) -> dict:
    results = {}
    check_urls(urls, settings, lambda check: results.setdefault(check.url, check))
    return results


@pytest.fixture(scope="module")
def host():
    server = WebHost()
    yield server
    server.close()


@pytest.fixture(scope="module")
def other_host():
    server = WebHost("127.0.0.2")
    yield server
    server.close()


@pytest.fixture(scope="module")
def tls_host(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command missing: cannot make the self-signed certificate (apt-get install openssl)")
    where = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(where / "key.pem"),
                    "-out", str(where / "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(where / "cert.pem", where / "key.pem")
    server = WebHost(tls=context)
    yield server
    server.close()


def test_ok_and_error_statuses(host) -> None:
    results = run([host.url("/ok"), host.url("/status/404"), host.url("/status/410"), host.url("/status/500")])
    ok = results[host.url("/ok")]
    assert (ok.state, ok.status, ok.method, ok.redirects) == (LinkState.OK, 200, "HEAD", ())
    for code in (404, 410, 500):
        check = results[host.url(f"/status/{code}")]
        assert (check.state, check.status, check.error) == (LinkState.BROKEN, code, "")
        assert check.method == "GET"   # HEAD's error answer is asked again with GET


def test_head_refused_falls_back_to_get(host) -> None:
    check = run([host.url("/nohead")])[host.url("/nohead")]
    assert (check.state, check.status, check.method) == (LinkState.OK, 200, "GET")
    methods = [method for _, method, path in host.log if path == "/nohead"]
    assert methods == ["HEAD", "GET"]


@pytest.mark.parametrize("code", [301, 302])
def test_redirect_chain_recorded(host, code: int) -> None:
    url = host.url(f"/redirect/3/{code}")
    check = run([url])[url]
    assert check.state is LinkState.MOVED and check.status == 200
    assert check.redirects == (Hop(code, url), Hop(code, host.url(f"/redirect/2/{code}")),
                               Hop(code, host.url(f"/redirect/1/{code}")))
    assert check.final_url == host.url("/ok")
    assert check.permanent is (code == 301)


def test_redirect_to_another_host_and_to_a_broken_page(host, other_host) -> None:
    moved, dead = host.url("/to?url=" + other_host.url("/ok")), host.url("/to?url=" + other_host.url("/status/404"))
    results = run([moved, dead])
    assert (results[moved].state, results[moved].final_url) == (LinkState.MOVED, other_host.url("/ok"))
    assert (results[dead].state, results[dead].status, results[dead].final_url) == \
        (LinkState.BROKEN, 404, other_host.url("/status/404"))


def test_redirect_loop_and_too_many_redirects(host) -> None:
    results = run([host.url("/loop"), host.url("/redirect/5/302")],
                  CheckSettings(delay=0, timeout=1.0, max_redirects=3))
    assert (results[host.url("/loop")].state, results[host.url("/loop")].error) == (LinkState.BROKEN, "redirect loop")
    long = results[host.url("/redirect/5/302")]
    assert (long.state, long.error, len(long.redirects)) == (LinkState.BROKEN, "more than 3 redirects", 3)


def test_timeout(host) -> None:
    check = run([host.url("/slow")], CheckSettings(delay=0, timeout=0.3))[host.url("/slow")]
    assert (check.state, check.status, check.error) == (LinkState.BROKEN, None, "timeout: no answer within 0.3 s")


def test_tls_errors(tls_host, host) -> None:
    self_signed, plain = tls_host.url("/ok"), f"https://127.0.0.1:{host.port}/ok"
    results = run([self_signed, plain])
    assert results[self_signed].state is LinkState.BROKEN
    assert results[self_signed].error == "TLS certificate not accepted: self-signed certificate"
    assert results[plain].state is LinkState.BROKEN and results[plain].error.startswith("TLS error: ")
    unverified = run([self_signed], CheckSettings(delay=0, timeout=1.0, verify_tls=False))[self_signed]
    assert (unverified.state, unverified.status) == (LinkState.OK, 200)   # the server itself answers


def test_dropped_and_refused_connections() -> None:
    dropping = DroppingHost()
    try:
        refused = f"http://127.0.0.1:{free_port()}/"
        results = run([dropping.url("/x"), refused])
    finally:
        dropping.close()
    assert results[dropping.url("/x")].error == "connection dropped: the server closed it without an answer"
    assert results[refused].state is LinkState.BROKEN
    assert results[refused].error.startswith("connection refused by 127.0.0.1:")


@pytest.mark.parametrize(("url", "state", "error"), [
    ("ftp://ftp.example.org/file", LinkState.SKIPPED, "not checked: ftp: is not HTTP"),
    ("mailto:someone@example.org", LinkState.SKIPPED, "not checked: mailto: is not HTTP"),
    ("www.example.org/journal", LinkState.BROKEN, "not an absolute http(s) URL"),
    ("http:///nohost", LinkState.BROKEN, "invalid URL: no host"),
    ("http://127.0.0.1:99999/", LinkState.BROKEN, "invalid URL: bad port"),
])
def test_no_request_for_what_is_no_http_url(url: str, state: LinkState, error: str) -> None:
    check = run([url])[url]
    assert (check.state, check.error) == (state, error)


def test_per_host_limit_counted_by_the_servers() -> None:
    # each request takes the server 0.2 s, long enough for a second one to arrive meanwhile
    hosts = [WebHost(f"127.0.0.{n}", work_seconds=0.2) for n in (3, 4, 5)]
    try:
        urls = [host.url(f"/work?n={n}") for host in hosts for n in range(12)]
        results = run(urls, CheckSettings(concurrency=50, per_host=2, delay=0, timeout=5))
    finally:
        for host in hosts:
            host.close()
    assert len(results) == 36 and all(check.state is LinkState.OK for check in results.values())
    # never more than two at once on any host; two at once somewhere (a busy machine may let a
    # host's requests pass one by one, so not on every host)
    assert all(host.peak <= 2 for host in hosts) and max(host.peak for host in hosts) == 2
    assert all(len(host.log) == 12 for host in hosts)


def test_delay_between_requests_to_one_host() -> None:
    host = WebHost("127.0.0.6", work_seconds=0)
    try:
        run([host.url(f"/work?n={n}") for n in range(5)], CheckSettings(per_host=3, delay=0.3, timeout=5))
    finally:
        host.close()
    starts = sorted(start for start, _, _ in host.log)
    assert len(starts) == 5
    # the delay spaces request starts 0.3 s apart, 1.2 s from the first to the fifth (without
    # it: ~0 s); the server sees them so, give or take the moments a busy machine holds one back
    assert starts[-1] - starts[0] > 0.6


def test_duplicates_checked_once(host) -> None:
    before = len(host.log)
    results = run([host.url("/ok?dup")] * 5)
    assert len(results) == 1 and len(host.log) == before + 1


def test_host_key() -> None:
    assert host_key("http://Example.ORG/x") == "example.org"
    assert host_key("https://example.org:443/x") == "example.org"
    assert host_key("http://127.0.0.7:8080/x") == "127.0.0.7:8080"
