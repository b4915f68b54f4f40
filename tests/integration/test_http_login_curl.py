"""HTTP Basic logins on a real `unikat serve` whose union database and library B are
restricted, driven with curl: a logged-out request sees nothing restricted, `-u` opens it."""

from __future__ import annotations

import pytest
from conftest import restricted_copy
from test_http_curl import HITS, curl
from test_yaz_client import Server, start_serving, stop_serving

from index.home import Home
from index.query import Structure, Term
from index.search import Catalog

pytestmark = pytest.mark.integration

SEARCH = "/unikat?version=1.2&operation=searchRetrieve&query=water&maximumRecords=0"


@pytest.fixture(scope="module")
def home(sample_home, tmp_path_factory) -> Home:
    return restricted_copy(sample_home, tmp_path_factory.mktemp("http-login") / "home", "unikat", "B")


@pytest.fixture(scope="module")
def server(home) -> Server:
    running = start_serving(home, workers=1)
    yield running
    stop_serving(running)


def get(server: Server, path: str, *options: str) -> tuple[int, bytes, bytes]:
    """Status, head and body of GET `path`."""
    done = curl("--include", *options, f"http://{server.host}:{server.port}{path}")
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    return int(head.split()[1]), head, body


def test_logged_out_requests_see_nothing_restricted(server: Server, home: Home) -> None:
    catalog = Catalog(home)
    try:
        isn = catalog.search(Term("library", "B", structure=Structure.KEY), catalog.database("unikat")).isns(0, 1)[0]
    finally:
        catalog.close()
    for path in ("/", "/?q=water", f"/record/{isn}", SEARCH, "/B?query=water"):
        status, head, body = get(server, path)
        assert status == 401, path
        assert b'WWW-Authenticate: Basic realm="unikat sample union catalog"' in head
        assert not HITS.search(body) or HITS.search(body).group(1) == b"0"
        assert b"<option" not in body and b"holdings" not in body
        status, _, _ = get(server, path, "--user", "librarian:secret")
        assert status == 200, path
    assert get(server, "/unikat")[0] == 200        # explain is open
    status, _, body = get(server, SEARCH, "--user", "librarian:secret")
    assert int(HITS.search(body).group(1)) > 0
    _, _, page = get(server, f"/record/{isn}", "--user", "librarian:secret")
    assert b'class="code"> (B)' in page


def test_a_wrong_password_is_401(server: Server) -> None:
    status, head, body = get(server, SEARCH, "--user", "librarian:wrong")
    assert status == 401 and b"WWW-Authenticate: Basic" in head and b"Login refused" in body


def test_two_workers_allow_a_guesser_no_more_than_one(home: Home, tmp_path) -> None:
    """`unikat serve --workers 2` counts failed logins in all its workers together: after
    max_login_failures wrong passwords, however the connections were spread over the workers,
    the right password is refused too (each curl is a new connection)."""
    locked = restricted_copy(home, tmp_path / "home", "unikat", "B")
    config = locked.config_path
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[server]\n", "[server]\nmax_login_failures = 3\nlogin_failure_window = 600\nlogin_lockout = 600\n", 1),
        encoding="utf-8")
    running = start_serving(locked, workers=2)
    try:
        for _ in range(3):
            assert get(running, SEARCH, "--user", "librarian:wrong")[0] == 401
        for _ in range(6):
            status, _, body = get(running, SEARCH, "--user", "librarian:secret")
            assert status == 401 and b"locked after 3 failed logins" in body, body
    finally:
        stop_serving(running)
