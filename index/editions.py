"""Print and online editions linked both ways (ZDB: PICA 4243 / 039D; MARC 776/775).

A link names the other edition by $w (its record number, `(DE-600)123` as `index.records.pica`
writes 039D $9), $x (its ISSN) or $z (its ISBN). The store keeps the links titles make
(`index.store.editions`, rewritten for the titles a load touched: `refresh`); `other_editions`
finds both directions:

- forward: the titles this title's links name, found in the index by ISSN, ISBN or local
  number (a $w match is then confirmed against the candidate's 003/001 or 035);
- backward: the titles whose links name this title by its ids (001 with 003 of each member
  record, 035 $a, ISSN, ISBN).

Searching can take the other editions along: the logical index `editions` (CQL
`unikat.editions`, Bib-1 Use 9001 or `@attr 1=editions`) searches like `any` and adds the
other editions of what it finds (of the first `EXPAND_LIMIT` titles found). `expand` rewrites
such terms before the engine sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import pymarc

from index.query import And, AndNot, Node, Or, Prox, Structure, Term, map_terms
from index.searchkeys.normalize import normalize_isbn, normalize_issn, normalize_number
from index.store import editions as edition_links
from index.store.catalog import CatalogStore

__all__ = ["EDITIONS_INDEX", "EDITIONS_USE", "Edition", "expand", "other_editions", "refresh"]

EDITIONS_INDEX = "editions"
EDITIONS_USE = 9001          # private Bib-1 Use value for `editions`
EXPAND_LIMIT = 500
LINK_TAGS = ("775", "776")

Find = Callable[[Node], list[int]]
"""Runs a query over the whole catalog and gives the ISNs it finds (a `Catalog`'s engine)."""


@dataclass(frozen=True)
class Edition:
    """Another edition of a title: its ISN and how the link names it (relation and title)."""

    isn: int
    relation: str
    title: str

    @property
    def label(self) -> str:
        return f"{self.relation}: {self.title}" if self.relation else self.title


def _parse(marc: bytes) -> pymarc.Record:
    return pymarc.Record(data=marc, to_unicode=True, force_utf8=True)


def link_targets(record: pymarc.Record) -> list[tuple[str, str, str]]:
    """(target id, relation, title) of each 775/776 link of `record`."""
    found = []
    for field in record.get_fields(*LINK_TAGS):
        relation, title = (field.get("i") or "").strip(), (field.get("t") or field.get("a") or "").strip()
        ids = [f"w:{v.strip()}" for v in field.get_subfields("w") if v.strip()]
        ids += [f"issn:{n}" for v in field.get_subfields("x") if (n := normalize_issn(v))]
        ids += [f"isbn:{n}" for v in field.get_subfields("z") for n in normalize_isbn(v)[:1]]
        found += [(target, relation, title) for target in ids]
    return found


def own_ids(members: Iterable[pymarc.Record]) -> set[str]:
    """The ids a title is known by, from its member records (the display record's 001 is one
    member's): `w:(003)001`, `w:` + each 035 $a, `issn:`, `isbn:` (both ISBN forms)."""
    ids: set[str] = set()
    for record in members:
        number = record["001"].data.strip() if record["001"] is not None and record["001"].data else ""
        system = record["003"].data.strip() if record["003"] is not None and record["003"].data else ""
        if number:
            ids.add(f"w:({system}){number}" if system else f"w:{number}")
        ids.update(f"w:{v.strip()}" for f in record.get_fields("035") for v in f.get_subfields("a") if v.strip())
        ids.update(f"issn:{n}" for f in record.get_fields("022") for v in f.get_subfields("a") if (n := normalize_issn(v)))
        ids.update(f"isbn:{n}" for f in record.get_fields("020") for v in f.get_subfields("a")
                   for n in normalize_isbn(v))
    return ids


_LINK_IN_DIRECTORY = re.compile(rb"^(?:\d{12})*?77[56]\d{9}")


def _has_links(display: bytes) -> bool:
    """Whether the ISO 2709 directory lists a 775 or 776 (without parsing the record)."""
    try:
        base = int(display[12:17])
    except ValueError:
        return True
    return _LINK_IN_DIRECTORY.match(display[24:base - 1]) is not None


def refresh(store: CatalogStore, isns: Sequence[int]) -> int:
    """Rewrite the links of titles `isns` from their display records; returns links written."""
    written = 0
    for start in range(0, len(isns), 500):
        chunk = list(isns[start:start + 500])
        links = {isn: link_targets(_parse(display)) for isn, display in store.displays(chunk).items()
                 if _has_links(display)}
        written += edition_links.replace_links(store, chunk, links)
    return written


def _members(store: CatalogStore, isn: int) -> list[pymarc.Record]:
    return [_parse(record.marc) for record in store.records_of_title(isn)]


def _candidates(target: str, find: Find) -> list[int]:
    kind, _, value = target.partition(":")
    if kind == "issn":
        return find(Term("issn", value, structure=Structure.KEY))
    if kind == "isbn":
        return find(Term("isbn", value, structure=Structure.KEY))
    number = re.sub(r"^\([^)]*\)", "", value).strip()
    return find(Term("local_number", normalize_number(number), structure=Structure.KEY)) if number else []


def _title_of(store: CatalogStore, isn: int) -> str | None:
    display = store.display(isn)
    if display is None:
        return None
    field = _parse(display)["245"]
    return " ".join(field.get_subfields("a", "b")).strip(" /:;") if field is not None else ""


def other_editions(store: CatalogStore, isn: int, find: Find) -> list[Edition]:
    """The other editions of title `isn`, both directions (module docstring), each once."""
    found: dict[int, Edition] = {}
    for target, relation, title in edition_links.links_of(store, isn):
        for other in _candidates(target, find):
            if other == isn or other in found:
                continue
            if target.startswith("w:") and target not in own_ids(_members(store, other)):
                continue   # the same number in another system
            found[other] = Edition(other, relation, title or (_title_of(store, other) or ""))
    for other in edition_links.linking_to(store, sorted(own_ids(_members(store, isn))), isn):
        title = _title_of(store, other)
        if other not in found and title is not None:
            found[other] = Edition(other, "Other edition", title)
    return sorted(found.values(), key=lambda edition: edition.isn)


def expand(node: Node, store: CatalogStore, find: Find) -> Node:
    """`node` with each `editions` term made `any` plus the other editions of what it finds."""
    return map_terms(node, lambda term: _expand(term, store, find))


def _expand(term: Term, store: CatalogStore, find: Find) -> Node:
    if term.index != EDITIONS_INDEX:
        return term
    inner = replace(term, index="any")
    found = find(inner)[:EXPAND_LIMIT]
    others = sorted({e.isn for isn in found for e in other_editions(store, isn, find)} - set(found))
    return _any_of([inner, *[Term("isn", str(isn), structure=Structure.KEY) for isn in others]])


def has_editions_term(node: Node) -> bool:
    if isinstance(node, Term):
        return node.index == EDITIONS_INDEX
    if isinstance(node, And | Or | AndNot | Prox):
        return has_editions_term(node.left) or has_editions_term(node.right)
    return False


def _any_of(nodes: list[Node]) -> Node:
    """`nodes` joined by Or as a balanced tree (a long chain would recurse deeply)."""
    if len(nodes) == 1:
        return nodes[0]
    middle = len(nodes) // 2
    return Or(_any_of(nodes[:middle]), _any_of(nodes[middle:]))
