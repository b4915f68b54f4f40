"""ISO 20775 holdings: every library's copies of one title as the standard's `holdings` element.

ISO 20775:2009 (Information and documentation — Schema for holdings information) is what
WorldCat's SRU carried and Alma and Evergreen still serve as `recordSchema=isohold`. We write
it in the namespace those servers use, `http://www.loc.gov/standards/iso20775/`, so their
clients read ours. One `holding` per library, in the standard's element order:

- `institutionIdentifier`: the library's ISIL (ISO 15511) with `typeOrSource` `ISIL`: the
  `isil` of `[libraries.CODE]` in unikat.toml, else the holding's library code when it has
  the form of an ISIL (PICA+ deliveries name libraries by ISIL), else the unikat library
  code with `typeOrSource` `unikat library code`;
- `physicalLocation`: the library's name (unikat.toml), else its code;
- `holdingSimple/copiesSummary/copiesCount`: the library's copies of the title together;
- one `copyInformation` per holding: `pieceIdentifier` (the copy's id in the delivering
  system – a barcode or local record number – or `none` when it gave none), `sublocation`
  (location), `shelfLocator` (call number), `electronicLocator` (URL), `note`, and
  `availabilityInformation/status/availabilityStatus`: what is known of availability is the
  loan policy, not the circulation, so a lendable copy is `3` (possibly available: it may be
  out) and a reference-only copy `2` (not available for loan), with a note saying so.

It knows no protocol: `zserver` wraps the element for SRU and unAPI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from index.records.model import Holding

ISO20775_NS = "http://www.loc.gov/standards/iso20775/"
_Q = f"{{{ISO20775_NS}}}"

_ISIL = re.compile(r"[A-Z]{1,4}-[A-Za-z0-9:/-]{1,11}")
"""ISO 15511: a prefix (country code or other agency), a hyphen, the library's identifier;
16 characters at most."""

AVAILABLE_POSSIBLY = "3"
NOT_AVAILABLE = "2"
REFERENCE_ONLY_NOTE = "Reference only: not lent, not for interlibrary loan."


@dataclass(frozen=True)
class Institution:
    """What the holdings name of one library: its code, name and ISIL (None: not known)."""

    code: str
    name: str
    isil: str | None = None


def is_isil(text: str) -> bool:
    """Whether `text` has the form of an ISIL (ISO 15511)."""
    return len(text) <= 16 and _ISIL.fullmatch(text) is not None


def institution(code: str, names: Mapping[str, str], isils: Mapping[str, str]) -> Institution:
    """The institution of library `code`: its configured name and ISIL, or what the code says."""
    isil = isils.get(code) or (code if is_isil(code) else None)
    return Institution(code, names.get(code, code), isil)


def holdings_element(holdings: Sequence[Holding], names: Mapping[str, str],
                     isils: Mapping[str, str]) -> etree._Element:
    """The ISO 20775 `holdings` element of one title's `holdings` (one `holding` per library,
    libraries in the order their first holding comes). `holdings` must not be empty: the
    standard requires at least one `holding`."""
    if not holdings:
        raise ValueError("ISO 20775 holdings need at least one holding")
    by_library: dict[str, list[Holding]] = {}
    for holding in holdings:
        by_library.setdefault(holding.library, []).append(holding)
    root = etree.Element(_Q + "holdings", nsmap={None: ISO20775_NS})
    for code, copies in by_library.items():
        root.append(_holding(institution(code, names, isils), copies))
    return root


def _holding(where: Institution, copies: Sequence[Holding]) -> etree._Element:
    holding = etree.Element(_Q + "holding")
    if where.isil is not None:
        _code(holding, "institutionIdentifier", where.isil, "ISIL")
    else:
        _code(holding, "institutionIdentifier", where.code, "unikat library code")
    _add(holding, "physicalLocation", where.name)
    simple = _add(holding, "holdingSimple")
    summary = _add(simple, "copiesSummary")
    _add(summary, "copiesCount", str(max(1, sum(max(copy.copies, 1) for copy in copies))))
    for copy in copies:
        information = _add(simple, "copyInformation")
        if copy.source_id:
            _code(information, "pieceIdentifier", copy.source_id, "copy identifier of the delivering library")
        else:
            _code(information, "pieceIdentifier", "none", "the delivering library gave no copy identifier")
        if copy.location:
            _add(information, "sublocation", copy.location)
        if copy.call_number:
            _add(information, "shelfLocator", copy.call_number)
        if copy.url:
            locator = _add(information, "electronicLocator")
            _add(locator, "pointer", copy.url.strip())
        if copy.note:
            _add(information, "note", copy.note)
        if not copy.lendable:
            _add(information, "note", REFERENCE_ONLY_NOTE)
        availability = _add(information, "availabilityInformation")
        status = _add(availability, "status")
        _add(status, "availabilityStatus", AVAILABLE_POSSIBLY if copy.lendable else NOT_AVAILABLE)
    return holding


def _code(parent: etree._Element, name: str, value: str, source: str) -> None:
    """A codeOrIdentifier: the value and, as text, what kind of code it is."""
    element = _add(parent, name)
    _add(element, "value", value)
    _add(_add(element, "typeOrSource"), "text", source)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _Q + name)
    if text is not None:
        element.text = _NOT_XML.sub("\ufffd", text)
    return element
