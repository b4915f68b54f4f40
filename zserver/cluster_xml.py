"""The cluster record: one title's member records and why they are one title, as XML.

Served as SRU `recordSchema=cluster` (identifier `info:unikat/schema/cluster-v1`) and as the
Z39.50 element set `cluster` with the XML record syntax. The form (namespace
`info:unikat/schema/cluster-v1`, no XSD; every element and attribute is listed here):

    <cluster isn="12" members="3">                 the title; members: how many are shown
      <alsoAnswersAs isn="40"/>                    a number retired by a merge (0..n)
      <member record="1001" master="true|false">   one member record (1..n)
        <library code="A">Library A</library>      who delivered it
        <source system="A-ILS" id="A001001"/>      its maintenance key
        <quality>95</quality>                      its quality score (the master's is best)
        <marc:record xmlns:marc="http://www.loc.gov/MARC21/slim">...</marc:record>   as delivered
      </member>
      <pair a="1001" b="1401" matched="true" step="pass 1" score="0.00">why, in words</pair>
      <override id="3" action="merge" by="anna" made="2026-12-02 06:27:06">note</override>
      <hidden members="1"/>                        members of libraries the client may not see
    </cluster>

`pair` is there for every two members: `step` is `guard` (a conflict), `pass 1` (strong id, year,
title start) or `pass 2` (weighted score), `matched` false only where a librarian merged records
the matcher would keep apart (the text says so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lxml import etree

from index.consolidation.view import ClusterView, cluster_view
from index.records.formats import marcxml_tree
from index.search import Catalog, TitleRecord

__all__ = ["CLUSTER_NS", "cluster_bytes", "cluster_element", "cluster_renderer"]

CLUSTER_NS = "info:unikat/schema/cluster-v1"
_Q = f"{{{CLUSTER_NS}}}"
_NOT_XML = str.maketrans({c: "\ufffd" for c in range(0x20) if c not in (9, 10, 13)})


def _text(value: str) -> str:
    return value.translate(_NOT_XML)


def cluster_element(view: ClusterView, names: Mapping[str, str]) -> etree._Element:
    root = etree.Element(_Q + "cluster", nsmap={None: CLUSTER_NS}, isn=str(view.isn), members=str(len(view.members)))
    for old in view.redirects:
        etree.SubElement(root, _Q + "alsoAnswersAs", isn=str(old))
    for member in view.members:
        item = etree.SubElement(root, _Q + "member", record=str(member.record),
                                master="true" if member.master else "false")
        library = etree.SubElement(item, _Q + "library", code=_text(member.library))
        library.text = _text(names.get(member.library, member.library))
        etree.SubElement(item, _Q + "source", system=_text(member.source_system), id=_text(member.source_id))
        etree.SubElement(item, _Q + "quality").text = str(member.quality)
        item.append(marcxml_tree(member.marc))
    for pair in view.pairs:
        etree.SubElement(root, _Q + "pair", a=str(pair.a), b=str(pair.b), matched="true" if pair.matched else "false",
                         step=pair.step, score=f"{pair.score:.2f}").text = _text(pair.why)
    for override in view.overrides:
        etree.SubElement(root, _Q + "override", id=str(override.id), action=override.action,
                         by=_text(override.made_by), made=override.made).text = _text(override.note)
    if view.hidden_members:
        etree.SubElement(root, _Q + "hidden", members=str(view.hidden_members))
    return root


def cluster_renderer(catalog: Catalog, signed_in: bool) -> Callable[..., etree._Element]:
    """A render function (as `zserver.sru.response.RecordSchema.render` takes) for `catalog`:
    the title's cluster, the members of libraries hidden from the client left out."""
    rules = catalog.config.consolidation.rules
    hidden = catalog.hidden_libraries(signed_in)

    def render(record: TitleRecord, names: Mapping[str, str], _isils: Mapping[str, str] | None = None
               ) -> etree._Element:
        view = cluster_view(catalog.store, record.isn, rules, hidden)
        if view is None:   # deleted between search and fetch: an empty cluster says so
            return etree.Element(_Q + "cluster", nsmap={None: CLUSTER_NS}, isn=str(record.isn), members="0")
        return cluster_element(view, names)

    return render


def cluster_bytes(catalog: Catalog, title: TitleRecord, signed_in: bool) -> bytes:
    """The cluster record of `title`, serialized (the Z39.50 element set `cluster`)."""
    element = cluster_renderer(catalog, signed_in)(title, catalog.library_names)
    return etree.tostring(element, encoding="utf-8", xml_declaration=False)
