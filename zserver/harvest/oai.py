"""Harvesting an OAI-PMH 2.0 provider: ListRecords page by page through resumption tokens,
with `from`/`until` and a set, through Sickle (a maintained OAI-PMH client library).

Sickle makes the requests (`Sickle.harvest`) and reads each item's header (`sickle.models.Header`:
identifier, deleted); we read the pages ourselves rather than through Sickle's iterator, because
a harvest must store the resumption token after every page to be resumable. The metadata must
be MARCXML (`--prefix`, default `marc21` as unikat's /oai and many library providers name it).

An item's id is its OAI identifier; a deleted item deletes the record harvested under it. The
`responseDate` of the first page is kept: the next incremental harvest asks `from` it (the
provider's own clock, as the OAI-PMH guidelines advise), cut to a day when the provider's
granularity is days. `noRecordsMatch` is an empty, finished harvest; other OAI-PMH errors are
a `HarvestError` (`badResumptionToken` its own kind: the caller starts the list again).
"""

from __future__ import annotations

import requests
from lxml import etree
from sickle import Sickle
from sickle.models import Header

from index.external import ExternalRecord
from zserver.harvest.base import USER_AGENT, HarvestError, Page, RemoteUnavailable

__all__ = ["BadResumptionToken", "OaiHarvester"]

_OAI = "{http://www.openarchives.org/OAI/2.0/}"


class BadResumptionToken(HarvestError):
    """The provider no longer knows the token (expired, or the provider restarted)."""


class OaiHarvester:
    """Pages of ListRecords from the provider at `url`."""

    def __init__(self, url: str, *, prefix: str = "marc21", set_spec: str = "", since: str = "", until: str = "",
                 timeout: float = 60.0) -> None:
        self.url, self.prefix, self.set_spec, self.since, self.until = url, prefix, set_spec, since, until
        self._client = Sickle(url, max_retries=0, timeout=timeout, headers={"User-Agent": USER_AGENT})
        self._day_granularity: bool | None = None

    def close(self) -> None:
        pass

    def _call(self, **arguments: str) -> etree._Element:
        try:
            response = self._client.harvest(**arguments)
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else 0
            if status >= 500 or status == 429:
                raise RemoteUnavailable(f"OAI-PMH {self.url}: HTTP {status}") from None
            raise HarvestError(f"OAI-PMH {self.url}: HTTP {status}") from None
        except (requests.ConnectionError, requests.Timeout) as error:
            raise RemoteUnavailable(f"OAI-PMH {self.url}: {type(error).__name__}: {error}") from None
        try:
            return response.xml
        except etree.XMLSyntaxError as error:
            raise HarvestError(f"OAI-PMH {self.url}: not XML: {error}") from None

    def _date(self, value: str) -> str:
        """`value` (a responseDate) at the provider's granularity."""
        if self._day_granularity is None:
            identify = self._call(verb="Identify")
            self._day_granularity = (identify.findtext(f".//{_OAI}granularity") or "").strip() == "YYYY-MM-DD"
        return value[:10] if self._day_granularity else value

    def page(self, position: int, token: str = "") -> Page:
        if token:
            root = self._call(verb="ListRecords", resumptionToken=token)
        else:
            arguments = {"verb": "ListRecords", "metadataPrefix": self.prefix}
            if self.set_spec:
                arguments["set"] = self.set_spec
            if self.since:
                arguments["from"] = self._date(self.since)
            if self.until:
                arguments["until"] = self._date(self.until)
            root = self._call(**arguments)
        responded = (root.findtext(f"{_OAI}responseDate") or "").strip()
        error = root.find(f"{_OAI}error")
        if error is not None:
            code, text = error.get("code", ""), (error.text or "").strip()
            if code == "noRecordsMatch":
                return Page([], position, total=0, done=True, responded=responded)
            if code == "badResumptionToken":
                raise BadResumptionToken(f"OAI-PMH {self.url}: badResumptionToken: {text}")
            raise HarvestError(f"OAI-PMH {self.url} answered {code}: {text}")
        listing = root.find(f"{_OAI}ListRecords")
        if listing is None:
            raise HarvestError(f"OAI-PMH {self.url}: no ListRecords in the answer")
        records = []
        for item in listing.findall(f"{_OAI}record"):
            header = Header(item.find(f"{_OAI}header"))
            if header.deleted:
                records.append(ExternalRecord(header.identifier, deleted=True))
                continue
            metadata = item.find(f"{_OAI}metadata")
            marc = next((child for child in metadata if isinstance(child.tag, str)), None) if metadata is not None else None
            if marc is None or etree.QName(marc).localname != "record":
                raise HarvestError(f"OAI-PMH {self.url}: item {header.identifier} has no MARCXML record"
                                   f" (metadataPrefix {self.prefix!r} must give MARCXML)")
            records.append(ExternalRecord(header.identifier, etree.tostring(marc), "marcxml"))
        resumption = listing.find(f"{_OAI}resumptionToken")
        next_token = (resumption.text or "").strip() if resumption is not None else ""
        size = resumption.get("completeListSize") if resumption is not None else None
        total = int(size) if size and size.isdigit() else None
        return Page(records, position + len(records), token=next_token, total=total, done=not next_token,
                    responded=responded)
