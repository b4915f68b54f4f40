"""Harvesting a remote SRU server: searchRetrieve (SRU 1.2, GET) in pages of MARCXML records.

Records are asked for as `recordSchema=marcxml`, `recordPacking=xml` (Zebra's YAZ frontend and
unikat both name the schema so); each page starts at `startRecord` and the server's
`nextRecordPosition` (or the records counted) gives the next. Elements are found by local name,
so SRU 1.1/1.2 (`http://www.loc.gov/zing/srw/`) and 2.0 answers read alike. A diagnostic in the
answer is a `HarvestError` with its URI and message; an HTTP 5xx/429, a timeout or a refused
connection is `RemoteUnavailable` (tried again by the caller).
"""

from __future__ import annotations

import requests
from lxml import etree

from index.external import ExternalRecord
from zserver.harvest.base import USER_AGENT, HarvestError, Page, RemoteUnavailable, fallback_id

__all__ = ["SruHarvester", "control_number"]


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in element if _local(child) == name), None)


def control_number(record: etree._Element) -> str:
    """The 001 of a MARCXML record element ("" when it has none)."""
    for child in record:
        if _local(child) == "controlfield" and child.get("tag") == "001":
            return (child.text or "").strip()
    return ""


class SruHarvester:
    """Pages of `query` (CQL) from the SRU server at `url`."""

    def __init__(self, url: str, query: str, *, page_size: int = 50, timeout: float = 60.0,
                 schema: str = "marcxml") -> None:
        self.url, self.query, self.page_size, self.timeout, self.schema = url, query, page_size, timeout, schema
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self._session.close()

    def page(self, position: int, token: str = "") -> Page:
        start = max(position, 1)
        parameters = {"version": "1.2", "operation": "searchRetrieve", "query": self.query, "startRecord": start,
                      "maximumRecords": self.page_size, "recordSchema": self.schema, "recordPacking": "xml"}
        try:
            answer = self._session.get(self.url, params=parameters, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise RemoteUnavailable(f"SRU {self.url}: {type(error).__name__}: {error}") from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise RemoteUnavailable(f"SRU {self.url}: HTTP {answer.status_code}")
        try:
            root = etree.fromstring(answer.content, etree.XMLParser(huge_tree=True, resolve_entities=False))
        except etree.XMLSyntaxError as error:
            raise HarvestError(f"SRU {self.url}: HTTP {answer.status_code}, not XML: {error}") from None
        return self._read(root, start)

    def _read(self, root: etree._Element, start: int) -> Page:
        diagnostics = _child(root, "diagnostics")
        if diagnostics is not None and len(diagnostics):
            first = diagnostics[0]
            uri = (_child_text(first, "uri") or "").strip()
            detail = " ".join(filter(None, (_child_text(first, "message"), _child_text(first, "details"))))
            raise HarvestError(f"SRU {self.url} answered diagnostic {uri}: {detail}".rstrip(": "))
        count = _child_text(root, "numberOfRecords")
        if count is None or not count.strip().isdigit():
            raise HarvestError(f"SRU {self.url}: no numberOfRecords in the answer (not a searchRetrieve response)")
        total = int(count)
        records: list[ExternalRecord] = []
        holder = _child(root, "records")
        for record in holder if holder is not None else ():
            if "diagnostic" in (_child_text(record, "recordSchema") or ""):   # a surrogate diagnostic
                continue
            data = _child(record, "recordData")
            marc = next((child for child in data if isinstance(child.tag, str)), None) if data is not None else None
            if marc is None:
                continue
            body = etree.tostring(marc)
            identifier = control_number(marc) or (_child_text(record, "recordIdentifier") or "").strip()
            records.append(ExternalRecord(identifier or fallback_id(body), body, "marcxml"))
        # nextRecordPosition where the server gives it; Zebra (YAZ 5.34) leaves it out even
        # when more records follow, so the records counted decide the end.
        following = _child_text(root, "nextRecordPosition")
        position = int(following) if following and following.strip().isdigit() else start + len(records)
        done = not records or position > total
        return Page(records, position, total=total, done=done)


def _child_text(element: etree._Element, name: str) -> str | None:
    found = _child(element, name)
    return None if found is None else "".join(found.itertext())
