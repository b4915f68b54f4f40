"""Consortium sigels (ZDB "Konsortial- oder virtuelle Sigel"): one sigel for all member libraries.

A holding under a consortium's sigel (e.g. `WWW 1`) is a holding of every member. This module
says who that makes a holder, and is the one place that answers "does library X hold this":

- `library_holds(config, holdings, library)`: the check for interlibrary loan and the like;
- `Consortia.codes_for(library)`: the codes whose holdings count for a library (its own and
  its consortia's), for a library's database view and its holdings shown there;
- `Consortia.expand(node)`: a query's library terms widened the same way, so a member's
  database view, a library limit and a Bib-1 Use 56 / `unikat.library` term find the titles
  its consortia hold;
- `Consortia.label(code, names)`: how a consortium holding is shown, once, as the consortium
  with its members.

    [consortia."WWW 1"]
    name = "Konsortium WWW 1"
    members = ["A", "B"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from index.query import Node, Or, Term, map_terms
from index.records.model import Holding
from index.searchkeys.normalize import normalize

__all__ = ["Consortia", "ConsortiumConfig", "library_holds", "parse_consortia"]

LIBRARY_INDEX = "library"


@dataclass(frozen=True)
class ConsortiumConfig:
    """`[consortia.CODE]`: a consortium sigel standing for all its member libraries."""

    code: str
    name: str
    members: tuple[str, ...] = ()


def parse_consortia(tables: Mapping[str, Any]) -> dict[str, ConsortiumConfig]:
    """The `[consortia.*]` tables checked; `ValueError` names the table, the key and what is allowed."""
    consortia = {}
    for code, table in tables.items():
        if not isinstance(table, dict):
            raise ValueError(f"[consortia.{code}] must be a table, not {table!r}")
        unknown = set(table) - {"name", "members"}
        if unknown:
            raise ValueError(f"[consortia.{code}] unknown key {sorted(unknown)[0]!r} (allowed: name, members)")
        name = table.get("name", code)
        if not (isinstance(name, str) and name.strip()):
            raise ValueError(f"[consortia.{code}] name: must be a non-empty string, not {name!r}")
        members = table.get("members")
        if not (isinstance(members, list) and members and all(isinstance(m, str) and m.strip() for m in members)):
            raise ValueError(f"[consortia.{code}] members: must be a list of the member libraries' codes,"
                             f" not {members!r}")
        if code in members:
            raise ValueError(f"[consortia.{code}] members: a consortium cannot be its own member")
        consortia[code] = ConsortiumConfig(code, name, tuple(dict.fromkeys(m.strip() for m in members)))
    return consortia


def _key(code: str) -> str:
    """A library code as the library index keeps it (as `index.search.library_key`)."""
    return normalize(code).replace(" ", "")


class Consortia:
    """The configured consortia, looked up both ways (consortium -> members, member -> consortia)."""

    def __init__(self, consortia: Mapping[str, ConsortiumConfig]) -> None:
        self.consortia = dict(consortia)
        self._of_member: dict[str, list[str]] = {}
        for consortium in self.consortia.values():
            for member in consortium.members:
                self._of_member.setdefault(member, []).append(consortium.code)
        self._of_member_key = {_key(member): codes for member, codes in self._of_member.items()}
        # a consortium's key -> its members' keys: the library facet's widening
        # (`index.engines.facets.Widening`), as a member's library term finds the consortium's titles
        self.member_keys = {_key(c.code): [_key(member) for member in c.members] for c in self.consortia.values()}

    def of_member(self, library: str) -> tuple[str, ...]:
        """The consortia `library` is a member of."""
        return tuple(self._of_member.get(library, ()))

    def codes_for(self, library: str) -> frozenset[str]:
        """The library codes whose holdings count as `library`'s: its own and its consortia's."""
        return frozenset((library, *self.of_member(library)))

    def holders(self, holdings: Iterable[Holding]) -> set[str]:
        """Every library that holds, a consortium holding counting for each member (and itself)."""
        found: set[str] = set()
        for holding in holdings:
            found.add(holding.library)
            consortium = self.consortia.get(holding.library)
            if consortium is not None:
                found.update(consortium.members)
        return found

    def holds(self, holdings: Iterable[Holding], library: str) -> bool:
        """Whether `library` holds the title of `holdings`, itself or through a consortium."""
        codes = self.codes_for(library)
        return any(holding.library in codes for holding in holdings)

    def label(self, code: str, names: Mapping[str, str]) -> str:
        """A consortium shown once: its name and its members (by name); another code: its name."""
        consortium = self.consortia.get(code)
        if consortium is None:
            return names.get(code, code)
        members = ", ".join(names.get(member, member) for member in consortium.members)
        return f"{consortium.name} (consortium; members: {members})"

    def expand(self, node: Node) -> Node:
        """`node` with each library term of a member widened to the member or its consortia."""
        return map_terms(node, self._widen) if self._of_member else node

    def _widen(self, term: Term) -> Node:
        codes = self._of_member_key.get(_key(term.text)) if term.index == LIBRARY_INDEX else None
        widened: Node = term
        for code in codes or ():
            widened = Or(widened, replace(term, text=code))
        return widened


def library_holds(config: Any, holdings: Iterable[Holding], library: str) -> bool:
    """Does `library` hold the title with `holdings`? True for its own holdings and for those of
    a consortium it is a member of (`config`: the `index.config.Config`, read for `consortia`).
    The check for interlibrary loan: use this, not `holding.library == library`."""
    return Consortia(getattr(config, "consortia", {})).holds(holdings, library)
