"""Routing: which holding library gets an order next. Pure functions over profiles and counts.

The algorithm (GBV's online ILL, as `[libraries.CODE]` ill_* keys configure it):

1. **Who may supply.** Of the title's holdings, a library is a candidate when
   - its copy is lendable (reference-only / Präsenz copies never count),
   - it is not the requesting (home) library,
   - it has not had this order before (one supplier at a time; a library that refused or let
     the deadline pass is not asked again),
   - its profile lends at all (`ill_lends`), and serves the requester's region
     (`ill_serves`; empty: every region),
   - for a copy with a year or volume: its holdings statement covers it (`rules.covers`).
   A library with several lendable copies is one candidate (its first call number is shown).
2. **In which order.** Candidates are sorted by
   1. load: a library whose open orders of this kind (`ill_max_loans`, `ill_max_copies`;
      0 = no maximum) have reached its maximum goes behind every library below its maximum
      (so an order never stalls: when every holder is full, the least full is asked);
   2. region: the requester's own region first, then the regions in the requester's
      `ill_region_order`, in that order, then every other region;
   3. preference: the libraries in the requester's `ill_prefer` (transport routes, partner
      libraries), in that order, before the others;
   4. open orders: fewer first;
   5. library code, so that the same state gives the same answer.
3. **One at a time.** The first candidate gets the order with a deadline (`[ill]
   circulation_days`); a negative answer or the deadline passes it to the next candidate of a
   fresh ranking; with none left it returns to the requesting library with every reason.

Libraries that hold titles but have no `[libraries.CODE]` table (a union delivery brings
many) get the default profile: region `[ill] default_region`, lending, no maximum.

This module knows no store and no clock: `rank` takes the holders, the profiles and the open
order counts and returns the candidates in order, cheap enough for a thousand holders
(bench/ill.py measures it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from index.ill.model import Article, Kind
from index.ill.rules import covers

__all__ = ["Holder", "Profile", "eligible", "rank", "refusals"]


@dataclass(frozen=True)
class Profile:
    """A library's ILL profile (`[libraries.CODE]` ill_* keys)."""

    code: str
    name: str = ""
    address: str = ""
    region: str = ""
    region_order: tuple[str, ...] = ()   # for its own orders: regions after its own
    serves: tuple[str, ...] = ()         # regions whose orders it takes; empty: all
    prefer: tuple[str, ...] = ()         # preferred suppliers (transport routes), in order
    lends: bool = True
    max_loans: int = 0                   # open loan orders at most; 0: no maximum
    max_copies: int = 0                  # open copy orders at most; 0: no maximum

    def maximum(self, kind: Kind) -> int:
        return self.max_copies if kind is Kind.COPY else self.max_loans


@dataclass(frozen=True)
class Holder:
    """One library's holding of the title, as routing sees it."""

    library: str
    call_number: str = ""
    lendable: bool = True
    statement: str = ""      # holdings statement (8032 / 866), for copies


def _why_not(holder: Holder, requester: Profile, profile: Profile, kind: Kind, article: Article) -> str:
    """Why `holder` cannot supply (empty: it can)."""
    if not holder.lendable:
        return "reference only"
    if not profile.lends:
        return "does not lend by interlibrary loan"
    if profile.serves and requester.region not in profile.serves:
        return f"does not serve region {requester.region or '(none)'}"
    if kind is Kind.COPY and not covers(holder.statement, article.year, article.volume):
        return f"holdings {holder.statement!r} do not cover it"
    return ""


def eligible(holders: Iterable[Holder], requester: Profile, profiles: Mapping[str, Profile], default: Profile,
             kind: Kind, article: Article = Article(), tried: frozenset[str] = frozenset()) -> list[Holder]:
    """The candidates (step 1), one per library, in holdings order."""
    found: dict[str, Holder] = {}
    for holder in holders:
        if holder.library in found or holder.library == requester.code or holder.library in tried:
            continue
        if not _why_not(holder, requester, profiles.get(holder.library, default), kind, article):
            found[holder.library] = holder
    return list(found.values())


def refusals(holders: Iterable[Holder], requester: Profile, profiles: Mapping[str, Profile], default: Profile,
             kind: Kind, article: Article = Article()) -> list[str]:
    """`library: reason` for each holding library that cannot supply (for a refusal's text)."""
    seen: dict[str, str] = {}
    for holder in holders:
        if holder.library == requester.code:
            continue
        why = _why_not(holder, requester, profiles.get(holder.library, default), kind, article)
        if why and holder.library not in seen:
            seen[holder.library] = why
        elif not why:
            seen[holder.library] = ""
    return [f"{library}: {why}" for library, why in seen.items() if why]


def rank(candidates: Iterable[Holder], requester: Profile, profiles: Mapping[str, Profile], default: Profile,
         kind: Kind, open_orders: Mapping[str, int]) -> list[Holder]:
    """The candidates in the order they get the order (step 2); `open_orders`: library ->
    its open orders of `kind`."""
    region_rank = {requester.region: 0}
    for position, region in enumerate(requester.region_order, 1):
        region_rank.setdefault(region, position)
    other_region = len(region_rank) + 1
    prefer_rank = {code: position for position, code in enumerate(requester.prefer)}
    other_library = len(prefer_rank)

    def key(holder: Holder) -> tuple:
        profile = profiles.get(holder.library, default)
        count = open_orders.get(holder.library, 0)
        maximum = profile.maximum(kind)
        full = maximum > 0 and count >= maximum
        return (full, region_rank.get(profile.region, other_region), prefer_rank.get(holder.library, other_library),
                count, holder.library)

    return sorted(candidates, key=key)
