"""Checking URLs over HTTP: HEAD with a GET fallback, redirects followed hop by hop, a limit of
requests at once per host and a delay between them, timeouts; one `LinkCheck` per URL.

It knows no catalog and no store: URLs in, results out (`check_urls`). Each hop of a redirect
chain waits for its own host's turn, so a redirect to another host respects that host's limit
too, and no request holds one host's slot while it waits for another's (no deadlock).

The HTTP client is aiohttp (aio-libs): maintained, asyncio-native with a C-accelerated
parser, and it gives each error its own exception class (certificate, TLS, DNS, refused,
dropped), which `_describe` turns into one line a librarian can read. Redirects are not left
to the library: we follow them ourselves to record every hop and to send each through its
host's gate.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urljoin, urlsplit

import aiohttp

from index.config import LinkcheckConfig

__all__ = ["CheckSettings", "Hop", "LinkCheck", "LinkState", "check_urls", "host_key"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class LinkState(StrEnum):
    OK = "ok"              # 2xx (or 3xx without Location) at the first address
    MOVED = "moved"        # redirected, and the last address answers 2xx
    BROKEN = "broken"      # 4xx/5xx at the end, or no answer (timeout, TLS, refused, dropped ...)
    SKIPPED = "skipped"    # not HTTP(S) (ftp:, mailto: ...): nothing we can check


@dataclass(frozen=True)
class CheckSettings(LinkcheckConfig):
    """How hard to knock: the `[linkcheck]` settings (`index.config.LinkcheckConfig`, one set of
    defaults), and whether to verify TLS certificates, which only tests turn off."""

    verify_tls: bool = True


@dataclass(frozen=True)
class Hop:
    """One redirect: `status` (301, 302 ...) answered at `url`."""

    status: int
    url: str


@dataclass(frozen=True)
class LinkCheck:
    """What one URL gave: the state, the last HTTP status (None: no answer), the error in
    words (empty when an answer came), the redirects on the way and the address reached."""

    url: str
    state: LinkState
    status: int | None = None
    error: str = ""
    redirects: tuple[Hop, ...] = ()
    final_url: str = ""
    method: str = "HEAD"   # the method of the last request: GET when HEAD was refused

    @property
    def permanent(self) -> bool:
        """The first redirect says the resource moved for good (301, 308)."""
        return bool(self.redirects) and self.redirects[0].status in (301, 308)


def host_key(url: str) -> str:
    """The host a URL's request goes to, with its port: the unit of the per-host limit."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return host if port in (None, default) else f"{host}:{port}"


def _refusal(url: str) -> LinkCheck | None:
    """A result without a request for what is no HTTP(S) URL, else None."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        try:
            _ = parts.port   # urlsplit checks the port only when asked
        except ValueError:
            return LinkCheck(url, LinkState.BROKEN, error="invalid URL: bad port")
        if not parts.hostname:
            return LinkCheck(url, LinkState.BROKEN, error="invalid URL: no host")
        return None
    if scheme and parts.netloc or scheme in ("mailto", "urn", "doi", "tel"):
        return LinkCheck(url, LinkState.SKIPPED, error=f"not checked: {scheme}: is not HTTP")
    return LinkCheck(url, LinkState.BROKEN, error="not an absolute http(s) URL")


def _interleaved(urls: Iterable[str]) -> Iterator[str]:
    """The URLs round-robin over their hosts, so a window of requests in flight spreads over
    all hosts instead of queueing behind the per-host limit of the first one."""
    queues: dict[str, deque[str]] = defaultdict(deque)
    for url in urls:
        queues[host_key(url)].append(url)
    ring = deque(queues.values())
    while ring:
        queue = ring.popleft()
        yield queue.popleft()
        if queue:
            ring.append(queue)


class _HostGate:
    """At most `limit` requests at once to one host, and request starts `delay` seconds apart."""

    def __init__(self, limit: int, delay: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._delay = delay
        self._next_start = 0.0

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        if self._delay > 0:
            loop = asyncio.get_running_loop()
            now = loop.time()
            start = max(now, self._next_start)
            self._next_start = start + self._delay
            if start > now:
                await asyncio.sleep(start - now)

    async def __aexit__(self, *exc_info) -> None:
        self._slots.release()


class _Checker:
    def __init__(self, session: aiohttp.ClientSession, settings: CheckSettings) -> None:
        self.session = session
        self.settings = settings
        self.everything = asyncio.Semaphore(settings.concurrency)
        self.gates: dict[str, _HostGate] = {}

    def gate(self, url: str) -> _HostGate:
        key = host_key(url)
        if key not in self.gates:
            self.gates[key] = _HostGate(self.settings.per_host, self.settings.delay)
        return self.gates[key]

    async def request(self, method: str, url: str) -> tuple[int, str]:
        """(status, Location header) of one request; the body is never read."""
        async with self.gate(url), self.everything:
            async with self.session.request(method, url, allow_redirects=False) as response:
                return response.status, response.headers.get("Location", "")

    async def hop(self, url: str) -> tuple[int, str, str]:
        """HEAD, and GET when HEAD is answered with an error or the connection drops: many
        servers refuse or mishandle HEAD (405, 501, 403, 404 from some frameworks)."""
        try:
            status, location = await self.request("HEAD", url)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError):
            status, location = 0, ""
        if status < 400 and status != 0:
            return status, location, "HEAD"
        status, location = await self.request("GET", url)
        return status, location, "GET"

    async def check(self, url: str) -> LinkCheck:
        refused = _refusal(url)
        if refused is not None:
            return refused
        hops: list[Hop] = []
        current, method = url.strip(), "HEAD"
        seen = {current}
        try:
            while True:
                status, location, method = await self.hop(current)
                if status not in REDIRECTS or not location:
                    break
                hops.append(Hop(status, current))
                following = urljoin(current, location)
                if _refusal(following) is not None:
                    return LinkCheck(url, LinkState.BROKEN, status, f"redirect to a non-HTTP address: {following}",
                                     tuple(hops), following, method)
                if following in seen:
                    return LinkCheck(url, LinkState.BROKEN, status, "redirect loop", tuple(hops), following, method)
                if len(hops) >= self.settings.max_redirects:
                    return LinkCheck(url, LinkState.BROKEN, status,
                                     f"more than {self.settings.max_redirects} redirects", tuple(hops), following,
                                     method)
                seen.add(following)
                current = following
        except (TimeoutError, aiohttp.ClientError, ssl.SSLError, OSError, ValueError) as error:
            return LinkCheck(url, LinkState.BROKEN, None, _describe(error, self.settings.timeout), tuple(hops),
                             current, method)
        if status >= 400:
            state = LinkState.BROKEN
        else:
            state = LinkState.MOVED if hops else LinkState.OK
        return LinkCheck(url, state, status, "", tuple(hops), current, method)


def _describe(error: BaseException, timeout: float) -> str:
    """An error of the client in one line, the kind first ("timeout", "TLS", "refused" ...)."""
    if isinstance(error, (TimeoutError, aiohttp.ServerTimeoutError)):
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        reason = getattr(error.certificate_error, "verify_message", "") or error.certificate_error
        return f"TLS certificate not accepted: {reason}"
    if isinstance(error, (aiohttp.ClientSSLError, ssl.SSLError)):
        reason = getattr(getattr(error, "os_error", None), "reason", None) or getattr(error, "reason", None)
        return f"TLS error: {reason or error}"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "connection dropped: the server closed it without an answer"
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return f"host not found: {error.host}"
    if isinstance(error, aiohttp.ClientConnectorError) and isinstance(error.os_error, ConnectionRefusedError):
        return f"connection refused by {error.host}:{error.port}"
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect to {error.host}:{error.port}: {error.os_error.strerror or error.os_error}"
    if isinstance(error, aiohttp.ClientOSError):
        return f"connection failed: {error.strerror or error}"
    if isinstance(error, aiohttp.InvalidURL):
        return f"invalid URL: {error}"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"bad HTTP answer: {error.message}"
    return f"{type(error).__name__}: {error}"


@dataclass
class _Window:
    """How many checks may be under way: enough to keep every host busy, bounded in memory."""

    size: int
    running: set[asyncio.Task] = field(default_factory=set)


async def _check_all(urls: list[str], settings: CheckSettings,
                     results: Callable[[LinkCheck], None], progress: Callable[[int, int], None] | None) -> None:
    timeout = aiohttp.ClientTimeout(total=settings.timeout, sock_connect=settings.timeout)
    connector = aiohttp.TCPConnector(limit=settings.concurrency, limit_per_host=0, ttl_dns_cache=300,
                                     ssl=None if settings.verify_tls else False)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector, headers={"User-Agent": settings.user_agent},
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        checker = _Checker(session, settings)
        window = _Window(max(4 * settings.concurrency, 1000))
        done = 0
        pending = _interleaved(urls)

        def collect(finished: set[asyncio.Task]) -> None:
            nonlocal done
            for task in finished:
                results(task.result())
                done += 1
            if progress is not None:
                progress(done, len(urls))

        for url in pending:
            window.running.add(asyncio.ensure_future(checker.check(url)))
            if len(window.running) >= window.size:
                finished, window.running = await asyncio.wait(window.running, return_when=asyncio.FIRST_COMPLETED)
                collect(finished)
        while window.running:
            finished, window.running = await asyncio.wait(window.running, return_when=asyncio.FIRST_COMPLETED)
            collect(finished)


def check_urls(urls: Iterable[str], settings: CheckSettings, results: Callable[[LinkCheck], None],
               progress: Callable[[int, int], None] | None = None) -> None:
    """Check each URL once (duplicates are checked once) and hand every `LinkCheck` to
    `results` as it comes, in no set order; `progress(done, total)` after each batch.
    Runs its own asyncio loop: call it from synchronous code, not from a running loop."""
    unique = list(dict.fromkeys(urls))
    asyncio.run(_check_all(unique, settings, results, progress))
