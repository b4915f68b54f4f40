"""One harvest from start (or from where an interrupted one stopped) to its end, into the
external-data catalog (`index.external`).

The request (`HarvestRequest`) names the protocol, the server, and what to take: a query, a
list of ISBNs/ISSNs, or everything (a set, for OAI-PMH). Each page of records is stored in one
transaction together with the harvest's state (`index.external.HarvestState`: position or
resumption token), so a harvest killed at any moment resumes at the first page not stored:
the next `unikat harvest` of the same source with the same request goes on from there.

Incremental (`--incremental`):
- OAI-PMH: ListRecords `from` the responseDate at which the last complete harvest of the
  source began; deleted items delete their records.
- SRU and Z39.50 have no standard "changed since": the whole result is read again, and only
  what changed is written (each record's digest is compared with the stored one; unchanged
  records are counted, not written); records of the same query that the complete re-harvest no
  longer met are deleted.
Without `--incremental` a harvest adds and replaces, and deletes only what OAI-PMH says is deleted.

Between two requests the harvest waits `delay` seconds (politeness); a request that fails for
a temporary reason is tried again `retries` times with back-off (1, 2, 4 ... s).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from index.external import ExternalRecord, ExternalStore, HarvestState
from index.external.store import preparer
from index.home import Home
from index.loading import indexing
from index.loading.lock import exclusive
from zserver.harvest.base import Harvester, HarvestError, Page, retrying

__all__ = ["PROTOCOLS", "HarvestReport", "HarvestRequest", "check", "harvest", "read_numbers"]

PROTOCOLS = ("sru", "z3950", "oai")
Progress = Callable[[int, int | None], None]   # (records so far, total when known)


@dataclass(frozen=True)
class HarvestRequest:
    protocol: str                  # one of PROTOCOLS
    url: str
    mode: str = "query"            # query, isbns, all
    query: str = ""
    numbers: tuple[str, ...] = ()  # ISBNs/ISSNs (mode isbns)
    set_spec: str = ""             # OAI-PMH set
    incremental: bool = False
    until: str = ""                # OAI-PMH until
    prefix: str = "marc21"         # OAI-PMH metadataPrefix
    source: str = ""               # name of the source ("": from protocol and URL)
    delay: float = 1.0
    retries: int = 3
    page_size: int = 50
    timeout: float = 60.0

    @property
    def source_name(self) -> str:
        return self.source or f"{self.protocol}:{self.url}"

    @property
    def label(self) -> str:
        """The query as stored with each record."""
        if self.mode == "isbns":
            return "isbns:" + ",".join(self.numbers[:3]) + ("..." if len(self.numbers) > 3 else "")
        return self.query if self.mode == "query" else "all"


@dataclass
class HarvestReport:
    source: str
    counts: Counter = field(default_factory=Counter)   # new changed unchanged deleted gone rejected
    resumed_at: int = 0        # the position an interrupted harvest went on from (0: from the start)
    since: str = ""            # an incremental OAI-PMH harvest: from
    requests: int = 0
    retried: int = 0
    seconds: float = 0.0
    rejects: list[str] = field(default_factory=list)   # first few reasons
    index: tuple[int, int] = (0, 0)

    @property
    def records(self) -> int:
        return sum(self.counts[k] for k in ("new", "changed", "unchanged", "deleted", "gone", "rejected"))

    def summary(self) -> str:
        c = self.counts
        rate = self.records / self.seconds if self.seconds else 0.0
        text = (f"harvested {self.source}: {self.records} records ({c['new']} new, {c['changed']} changed,"
                f" {c['unchanged']} unchanged, {c['deleted']} deleted, {c['rejected']} rejected"
                + (f", {c['gone']} deletions of records not here" if c["gone"] else "") + ")"
                f" in {self.requests} requests, {self.seconds:.1f}s ({rate:,.0f} records/s)")
        if self.resumed_at:
            text += f"; resumed at record {self.resumed_at}"
        if self.since:
            text += f"; changes since {self.since}"
        if self.retried:
            text += f"; {self.retried} requests tried again"
        return text + f"; index: {self.index[0]} written, {self.index[1]} removed"


_NUMBER = re.compile(r"^[0-9Xx-]{8,17}$")


def read_numbers(text: str) -> tuple[str, ...]:
    """ISBNs/ISSNs, one a line (blank lines and # comments skipped; hyphens dropped); a line
    that is none raises ValueError naming it."""
    numbers = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if not _NUMBER.match(value) or len(value.replace("-", "")) not in (8, 10, 13):
            raise ValueError(f"line {number}: {value!r} is not an ISBN or ISSN")
        numbers.append(value.replace("-", "").upper())
    return tuple(dict.fromkeys(numbers))


def _digits(value: str) -> str:
    return re.sub(r"[^0-9Xx]", "", value).upper()


def _has_number(record: ExternalRecord, number: str) -> bool:
    """Whether an ISBN/ISSN search's record carries `number` (in 020/022 $a/$z or anywhere
    in its text, hyphens ignored): a fallback search on all words may find others."""
    if record.deleted:
        return False
    text = record.data.decode("utf-8", "replace")
    return number in _digits(text) if record.fmt == "marc21" else number in re.sub(r"-", "", text).upper()


class _Numbers:
    """Harvester of a list of ISBNs/ISSNs: one search per number; position = numbers done.
    A server without an ISBN/ISSN index (Zebra's stock MARC21 setup: Bib-1 114, SRU 16) is asked
    for the number as a word instead, and only records carrying it are kept."""

    def __init__(self, make: Callable[[str], Harvester], protocol: str, numbers: tuple[str, ...]) -> None:
        self._make, self._protocol, self._numbers = make, protocol, numbers
        self._fallback = False

    def _query(self, number: str) -> str:
        issn = len(number) == 8
        if self._protocol == "sru":
            return f'"{number}"' if self._fallback else f"bath.{'issn' if issn else 'isbn'}=\"{number}\""
        return f'@attr 1=1016 "{number}"' if self._fallback else f"@attr 1={8 if issn else 7} \"{number}\""

    def page(self, position: int, token: str = "") -> Page:
        if position >= len(self._numbers):
            return Page([], position, total=len(self._numbers), done=True)
        number = self._numbers[position]
        try:
            page = self._one(number)
        except HarvestError as error:
            if self._fallback or not re.search(r"diagnostic (114|info:srw/diagnostic/1/16)\b", str(error)):
                raise
            self._fallback = True
            page = self._one(number)
        kept = [replace(record, query=f"{'issn' if len(number) == 8 else 'isbn'} {number}")
                for record in page.records if _has_number(record, number)]
        return Page(kept, position + 1, total=len(self._numbers), done=position + 1 >= len(self._numbers))

    def _one(self, number: str) -> Page:
        harvester = self._make(self._query(number))
        try:
            return harvester.page(1, "")
        finally:
            harvester.close()

    def close(self) -> None:
        pass


def _harvester(request: HarvestRequest, state: HarvestState) -> Harvester:
    from zserver.harvest.oai import OaiHarvester
    from zserver.harvest.sru import SruHarvester
    from zserver.harvest.z3950 import ALL_RECORDS, Z3950Harvester

    def make(query: str) -> Harvester:
        if request.protocol == "sru":
            return SruHarvester(request.url, query, page_size=request.page_size, timeout=request.timeout)
        return Z3950Harvester(request.url, query, page_size=request.page_size, timeout=request.timeout)

    if request.protocol == "oai":
        return OaiHarvester(request.url, prefix=request.prefix, set_spec=request.set_spec,
                            since=state.since if request.incremental else "", until=request.until,
                            timeout=request.timeout)
    if request.mode == "isbns":
        return _Numbers(make, request.protocol, request.numbers)
    if request.mode == "all":
        return make("cql.allRecords=1" if request.protocol == "sru" else ALL_RECORDS)
    return make(request.query)


def check(request: HarvestRequest) -> None:
    """Refuse a request that asks for nothing, or for what its protocol cannot give."""
    if request.protocol not in PROTOCOLS:
        raise HarvestError(f"unknown protocol {request.protocol!r} (one of {', '.join(PROTOCOLS)})")
    if request.mode == "query" and not request.query.strip():
        raise HarvestError("nothing to harvest: give --query, --isbns FILE or --all")
    if request.protocol == "oai" and request.mode != "all":
        raise HarvestError("OAI-PMH harvests a whole repository or a set: use --all (with --set S), not a query"
                           " or ISBNs")
    if (request.set_spec or request.until) and request.protocol != "oai":
        raise HarvestError("--set and --until are for OAI-PMH; SRU and Z39.50 take --query")
    if request.mode == "isbns" and not request.numbers:
        raise HarvestError("the ISBN/ISSN list is empty")


def harvest(home: Home, request: HarvestRequest, *, progress: Progress | None = None,
            notify: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> HarvestReport:
    """Harvest into the external catalog of `home`, then bring its index up to date. Raises
    `HarvestError` (the server refused, or stayed unreachable after the retries): what was
    stored before stays, with the state to resume from."""
    check(request)
    store = ExternalStore(home)
    try:
        with exclusive(store.home, notify=notify):   # one harvest (or index build) of the external catalog at a time
            return _run(store, request, progress, notify, sleep)
    finally:
        store.close()


def _new_state(request: HarvestRequest) -> HarvestState:
    return HarvestState(source=request.source_name, protocol=request.protocol, url=request.url,
                        query=request.label, set_spec=request.set_spec, mode=request.mode)


def _run(store: ExternalStore, request: HarvestRequest, progress: Progress | None,
         notify: Callable[[str], None] | None, sleep: Callable[[float], None]) -> HarvestReport:
    report = HarvestReport(request.source_name)
    started = time.monotonic()
    wanted = _new_state(request)
    previous = store.state(request.source_name)
    if previous is not None and not previous.complete and previous.same_request(wanted):
        state = previous   # an interrupted harvest of the same request: go on where it stopped
        # SRU and Z39.50 keep the next record's position (1-based); OAI-PMH the items read, the
        # ISBN list the numbers done
        if state.position or state.token:
            report.resumed_at = state.position + (1 if request.protocol == "oai" or request.mode == "isbns" else 0)
        if notify and report.resumed_at:
            notify(f"resuming the interrupted harvest of {state.source} (run {state.run}) at"
                   f" {'number' if request.mode == 'isbns' else 'record'} {report.resumed_at}")
    else:
        # an incremental harvest goes on from the last complete harvest of the same request only
        # (another set or query of the same source starts afresh)
        same = previous is not None and previous.same_request(wanted)
        state = replace(wanted, run=(previous.run if previous else 0) + 1, since=previous.since if same else "",
                        started=time.strftime("%Y-%m-%d %H:%M:%S"))
        if request.incremental and not state.since and notify:
            notify(f"no earlier complete harvest of {state.source} with this request: this incremental harvest"
                   " takes everything")
    if request.incremental and request.protocol == "oai":
        report.since = state.since
    with store.catalog.transaction():
        store.save_state(state)
    prepared = {fmt: preparer(state.source, fmt) for fmt in ("marcxml", "marc21")}
    harvester = _harvester(request, state)
    retried = Counter()

    def counting(message: str) -> None:
        retried["n"] += 1
        if notify:
            notify(message)

    from zserver.harvest.oai import BadResumptionToken

    try:
        while True:
            if report.requests:
                sleep(request.delay)   # politeness: never two requests back to back
            try:
                page = retrying(lambda: harvester.page(state.position, state.token), request.retries,
                                sleep=sleep, notify=counting)
            except BadResumptionToken:
                if not state.token:
                    raise
                if notify:
                    notify("the provider no longer knows the resumption token: starting the list again")
                state.token, state.position = "", 0
                continue
            report.requests += 1
            with store.catalog.transaction():
                for record in page.records:
                    outcome = store.put(state, record, prepared[record.fmt])
                    report.counts[outcome.kind] += 1
                    if outcome.reason and len(report.rejects) < 10:
                        report.rejects.append(f"{record.remote_id}: {outcome.reason}")
                if page.responded and not state.began:
                    state.began = page.responded
                state.position, state.token = page.position, page.token
                if page.done:
                    state.complete, state.finished = True, time.strftime("%Y-%m-%d %H:%M:%S")
                    state.since = state.began or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    if request.incremental and request.protocol != "oai" and request.mode != "isbns":
                        report.counts["deleted"] += store.delete_unseen(state)
                store.save_state(state)
            if progress:
                progress(report.records, page.total)
            if page.done:
                break
    finally:
        harvester.close()
        report.retried = retried["n"]
        report.seconds = time.monotonic() - started
    report.index = indexing.update(store.home, store.catalog)
    return report
