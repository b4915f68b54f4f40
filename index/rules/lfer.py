"""The LFER rule (SWB: "Lizenzfreie elektronische Ressourcen"), evaluated on a MARC21 title.

The seed (`../shared/seeds/004_*.txt`) says, in PICA3 terms, and we read it on the MARC21 that
`index.records.pica` makes of PICA+ (so MARC deliveries are judged the same way):

- remote electronic resource: 0500 position 1 `O` (the PICA reader writes 007 `cr`); in MARC
  007/00-01 `cr`, or 008 form of item `o` (position 23, or 29 for maps and visual material);
- licence-free: 0500 position 4 `l` (the PICA reader writes 506 0_ `$f Unrestricted online
  access`), or a URL marked free in ZDB's codes `LF` (kostenfrei ohne Registrierung), `KF`
  (mit Registrierung), `KW` (teilweise kostenfrei) or the word `kostenfrei` in 856 $x/$z (4085
  $x/$z), or 856 $7 `0` (open access); a 506 with first indicator `1` (restrictions apply) and
  no free marker of its own makes the title not free, whatever its URLs say;
- a URN (2050; MARC 024 7_ $2 urn, or an 024 $a starting `urn:`) or a URL (4085 $u; 856 $u of a
  field whose second indicator is not `2`, which marks a related resource, not the title).

Which URLs the holding gets (7135 $u), in the seed's words:
1. several URLs: the one marked `LF` (`$xLF` or `$zLF`; the first such); in MARC from the
   ZDB or hbz the mark is written out as `kostenfrei` (MAB 655 $x), which counts the same;
2. in every case also the EZB URL (Elektronische Zeitschriftenbibliothek, Regensburg);
3. when neither 1 nor 2 gave one: the first URL of the title;
4. no URL at all: the URN, prefixed `http://nbn-resolving.de/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pymarc

__all__ = ["FREE_CODES", "NBN_RESOLVER", "Decision", "Link", "choose_urls", "evaluate", "is_ezb"]

NBN_RESOLVER = "http://nbn-resolving.de/"
FREE_CODES = frozenset({"LF", "KF", "KW", "KOSTENFREI"})
LF_MARKS = frozenset({"LF", "KOSTENFREI"})   # "the URL marked licence-free" of rule 1
_EZB = re.compile(r"^https?://(?:[^/]*\.)?(?:ezb\.(?:uni-regensburg|ur)\.de|rzblx1\.uni-regensburg\.de)/"
                  r"|^https?://[^/]*uni-regensburg\.de/ezeit", re.IGNORECASE)
_UNRESTRICTED = re.compile(r"\b(?:unrestricted|open access|lizenzfrei|kostenfrei|free(?:ly)?)\b", re.IGNORECASE)
# a negation at most one word before the marker: "not freely available", "nicht kostenfrei", "no free access"
_NEGATED = re.compile(r"\b(?:not|no|non|nicht|kein|keine)\W+(?:\w+\W+)?$", re.IGNORECASE)
# 008 form of item: position 29 for maps (e, f) and visual material (g, k, o, r), else 23.
_FORM_AT_29 = frozenset("efgkor")


@dataclass(frozen=True)
class Link:
    """One URL of a title with the codes of its field ($x and $z values, upper case)."""

    url: str
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """What the rule says of one title: `eligible` or not, `reason` why, and the holding's URLs."""

    eligible: bool
    reason: str
    urls: tuple[str, ...] = ()


def is_ezb(url: str) -> bool:
    """Whether `url` is an EZB address (ezb.uni-regensburg.de, ezb.ur.de, .../ezeit/...)."""
    return bool(_EZB.search(url.strip()))


def choose_urls(links: list[Link], urn: str = "") -> tuple[str, ...]:
    """The holding's URLs by the seed's rules (module docstring), in order: chosen, then EZB."""
    if not links:
        return (NBN_RESOLVER + urn,) if urn else ()
    chosen: list[str] = []
    if len(links) > 1:
        free = next((link for link in links if LF_MARKS & set(link.codes)), None)
        if free is not None:
            chosen.append(free.url)
    ezb = next((link for link in links if is_ezb(link.url)), None)
    if ezb is not None and ezb.url not in chosen:
        chosen.append(ezb.url)
    return tuple(chosen) or (links[0].url,)


def evaluate(record: pymarc.Record) -> Decision:
    """The LFER rule on one title (module docstring)."""
    if not _remote_electronic(record):
        return Decision(False, "not a remote electronic resource")
    links = _links(record)
    free = _licence_free(record, links)
    if not free:
        return Decision(False, "not licence-free")
    urn = _urn(record)
    if not links and not urn:
        return Decision(False, "licence-free, but neither URN nor URL")
    return Decision(True, free, choose_urls(links, urn))


def _remote_electronic(record: pymarc.Record) -> bool:
    if any((f.data or "")[:2] == "cr" for f in record.get_fields("007")):
        return True
    f008 = record.get("008")
    data = (f008.data or "") if f008 is not None else ""
    position = 29 if record.leader[6:7] in _FORM_AT_29 else 23
    return data[position:position + 1] == "o"


def _links(record: pymarc.Record) -> list[Link]:
    links = []
    for field in record.get_fields("856"):
        if field.indicator2 == "2":
            continue
        codes = tuple(v.strip().upper() for v in field.get_subfields("x", "z") if v.strip())
        links += [Link(url.strip(), codes) for url in field.get_subfields("u") if url.strip()]
    return links


def _says_free(text: str) -> bool:
    """Whether a 506 says the resource is free: a marker not negated just before it."""
    return any(not _NEGATED.search(text[:found.start()]) for found in _UNRESTRICTED.finditer(text))


def _licence_free(record: pymarc.Record, links: list[Link]) -> str:
    """Why the title is licence-free ("" when it is not)."""
    free_506 = ""
    restricted = False
    for field in record.get_fields("506"):
        text = " ".join(field.get_subfields("a", "f"))
        if field.indicator1 == "0" or _says_free(text):
            free_506 = free_506 or f"506 {text.strip() or 'no restrictions'}"
        elif field.indicator1 == "1":
            restricted = True
    if free_506:
        return free_506
    if restricted:
        return ""
    for link in links:
        code = next((c for c in link.codes if c in FREE_CODES), "")
        if code:
            return f"856 {code} ({link.url})"
    if any(v.strip() == "0" for f in record.get_fields("856") for v in f.get_subfields("7")):
        return "856 $7 0 (open access)"
    return ""


def _urn(record: pymarc.Record) -> str:
    for field in record.get_fields("024"):
        value = (field.get("a") or "").strip()
        if value and ((field.get("2") or "").strip().lower() == "urn" or value.lower().startswith("urn:")):
            return value
    return ""
