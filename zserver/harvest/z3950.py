"""Harvesting a remote Z39.50 server: one Init and Search, then Present in batches (USMARC).

A blocking socket and our own BER codec (`zserver.z3950.codec`), as `bench/zclient.py` uses
them; the query is PQF (`zserver.querylang.pqf`). The result set `default` lives as long as the
association: a resumed harvest, or one after a lost connection, connects and searches again
and goes on presenting from where it stood (the same query on the same data gives the same
order). Diagnostics are a `HarvestError` with their Bib-1 code and addinfo; a refused, reset or
timed-out connection is `RemoteUnavailable`.

`--all` over Z39.50 searches `@attr 1=_ALLRECORDS @attr 2=103 ""`, Zebra's every-record
search (Z39.50 has no standard one); a server without it answers a diagnostic, and the
harvest then needs `--query`.
"""

from __future__ import annotations

import socket
from typing import Any

from index.external import ExternalRecord
from index.external.store import iso2709_control_number
from zserver.harvest.base import HarvestError, Page, RemoteUnavailable, fallback_id
from zserver.querylang.errors import QueryError
from zserver.querylang.pqf import parse_pqf
from zserver.querylang.rpn import rpn_to_asn1
from zserver.z3950.codec import CodecError, bit_string, decode_pdu, encode_pdu, find_pdu_end
from zserver.z3950.records import Oid

__all__ = ["ALL_RECORDS", "Z3950Harvester", "parse_target"]

ALL_RECORDS = '@attr 1=_ALLRECORDS @attr 2=103 ""'
_MESSAGE_SIZE = 16 * 1024 * 1024


def parse_target(url: str) -> tuple[str, int, str]:
    """(host, port, database) of `tcp:host:port/db`, `z3950://host:port/db` or `host:port/db`
    (database `Default` when none is given)."""
    rest = url
    for prefix in ("z3950://", "tcp:", "tcp://"):
        if rest.startswith(prefix):
            rest = rest[len(prefix):]
            break
    address, _, database = rest.partition("/")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise HarvestError(f"not a Z39.50 target: {url!r} (host:port/database, e.g. tcp:localhost:210/Default)")
    return host, int(port), database or "Default"


class Z3950Harvester:
    """Batches of the records `query` (PQF) finds on the target `url`."""

    def __init__(self, url: str, query: str, *, page_size: int = 50, timeout: float = 60.0) -> None:
        self.host, self.port, self.database = parse_target(url)
        self.url = url
        try:
            self._query = rpn_to_asn1(parse_pqf(query))
        except QueryError as error:
            raise HarvestError(f"not a PQF query: {query!r}: {error}") from None
        self.query, self.page_size, self.timeout = query, page_size, timeout
        self._socket: socket.socket | None = None
        self._buffer = b""
        self._total: int | None = None

    def close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.sendall(encode_pdu("close", {"closeReason": 0}))
            except OSError:
                pass
            self._socket.close()
        self._socket, self._buffer, self._total = None, b"", None

    def page(self, position: int, token: str = "") -> Page:
        start = max(position, 1)
        try:
            if self._total is None:
                self._connect_and_search()
            total = self._total or 0
            if start > total:
                return Page([], start, total=total, done=True)
            count = min(self.page_size, total - start + 1)
            _, response = self._request("presentRequest", {
                "resultSetId": "default", "resultSetStartPoint": start, "numberOfRecordsRequested": count,
                "recordComposition": ("simple", ("genericElementSetName", "F")),
                "preferredRecordSyntax": Oid.MARC21})
        except (OSError, ConnectionError) as error:
            self.close()   # the next attempt connects and searches again
            raise RemoteUnavailable(f"Z39.50 {self.host}:{self.port}: {error}") from None
        records = self._records(response.get("records"), start)
        returned = response.get("numberOfRecordsReturned", 0)
        if not returned:
            raise HarvestError(f"Z39.50 {self.url}: no records returned at position {start} of {total}")
        following = start + returned
        return Page(records, following, total=total, done=following > total)

    def _connect_and_search(self) -> None:
        self._socket = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name, init = self._request("initRequest", {
            "protocolVersion": bit_string([0, 1, 2]), "options": bit_string([0, 1, 2]),
            "preferredMessageSize": _MESSAGE_SIZE, "exceptionalRecordSize": _MESSAGE_SIZE,
            "implementationName": "unikat harvest"})
        if name != "initResponse" or not init.get("result"):
            raise HarvestError(f"Z39.50 {self.url}: Init refused")
        _, response = self._request("searchRequest", {
            "smallSetUpperBound": 0, "largeSetLowerBound": 1, "mediumSetPresentNumber": 0,
            "replaceIndicator": True, "resultSetName": "default", "databaseNames": [self.database],
            "query": ("type-1", self._query)})
        if not response.get("searchStatus"):
            hint = " (this server has no every-record search: give --query)" if self.query == ALL_RECORDS else ""
            raise HarvestError(f"Z39.50 {self.url}: search {self.query!r} failed: "
                               + _diagnostic_text(response.get("records")) + hint)
        self._total = response.get("resultCount", 0)

    def _request(self, name: str, value: dict) -> tuple[str, dict]:
        assert self._socket is not None
        self._socket.sendall(encode_pdu(name, value))
        while True:
            end = find_pdu_end(self._buffer, _MESSAGE_SIZE)
            if end is not None:
                pdu, self._buffer = self._buffer[:end], self._buffer[end:]
                try:
                    answer, fields = decode_pdu(pdu)
                except CodecError as error:
                    raise HarvestError(f"Z39.50 {self.url}: unreadable answer: {error}") from None
                if answer == "close":
                    raise ConnectionError(f"the server closed the association ({fields.get('closeReason')})")
                return answer, fields
            chunk = self._socket.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buffer += chunk

    def _records(self, records: Any, start: int) -> list:
        if records is None:
            return []
        kind, value = records
        if kind != "responseRecords":
            raise HarvestError(f"Z39.50 {self.url}: present at {start} failed: {_diagnostic_text(records)}")
        found = []
        for entry in value:
            form, payload = entry["record"]
            if form != "retrievalRecord":   # a surrogate diagnostic: this record cannot be had
                continue
            encoding, data = payload["encoding"]
            if payload.get("direct-reference") != Oid.MARC21 or encoding != "octet-aligned":
                raise HarvestError(f"Z39.50 {self.url}: the server sent a record in syntax"
                                   f" {payload.get('direct-reference')} instead of USMARC")
            found.append(ExternalRecord(iso2709_control_number(data) or fallback_id(data), bytes(data), "marc21"))
        return found


def _diagnostic_text(records: Any) -> str:
    """Bib-1 code and addinfo of the diagnostic(s) in a Records value."""
    if not records:
        return "no diagnostic given"
    kind, value = records
    diagnostics = [value] if kind == "nonSurrogateDiagnostic" else [
        item[1] for item in value if item[0] == "defaultFormat"] if kind == "multipleNonSurDiagnostics" else []
    texts = []
    for diagnostic in diagnostics:
        addinfo = diagnostic.get("addinfo")
        texts.append(f"Bib-1 diagnostic {diagnostic.get('condition')}" + (f" ({addinfo[1]})" if addinfo and addinfo[1] else ""))
    return "; ".join(texts) or "no diagnostic given"
