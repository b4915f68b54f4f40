"""The e-journal list as HTML pages and CSV, each URL with its link-check state.

    index.html              subject groups and libraries, with counts, linking their pages
    subject-<group>.html    the titles filed under one subject group
    library-<code>.html     the titles one library holds, with its own access URLs
    ejournals.csv           one row per title and URL

Text from records is escaped; only http(s) URLs become links.
"""

from __future__ import annotations

import csv
import html
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from index.ejournals.select import DDC_CLASSES, NO_GROUP, EJournal, group_label
from index.links.report import file_stem, html_page, link_html
from index.store.links import LinkStatus

__all__ = ["CSV_COLUMNS", "link_state", "write_csv", "write_pages"]

CSV_COLUMNS = ("isn", "title", "issn", "publisher", "years", "subject_groups", "libraries", "url", "url_of",
               "link_state", "link_outcome", "last_checked", "final_url")

_EXTRA_STYLE = """.state{font-size:.8rem;padding:0 .3rem;border-radius:3px;margin-left:.4rem;white-space:nowrap}
.state.ok{background:#e2f3e2}.state.moved{background:#fdf0d8}.state.broken{background:#fbe0e0}
.state.unchecked,.state.skipped{background:#eee}ul.access{margin:0;padding-left:1rem}nav a{margin-right:.8rem}"""


def link_state(status: LinkStatus | None) -> tuple[str, str]:
    """(state, words) of a URL's latest check: ("broken", "404 since 2026-12-01 ...") and so
    on; ("unchecked", "not checked yet") when `unikat linkcheck` has not seen it."""
    if status is None:
        return "unchecked", "not checked yet"
    state = status.state.value
    if state == "broken":
        since = f", broken since {status.broken_since}" if status.broken_since else ""
        return state, f"{status.outcome}{since} (checked {status.last_checked})"
    if state == "moved":
        return state, f"now at {status.final_url} (checked {status.last_checked})"
    return state, f"{status.outcome} (checked {status.last_checked})"


def _page(title: str, body: str) -> str:
    return html_page(title, body, _EXTRA_STYLE)


def _access_html(journal: EJournal, statuses: dict[str, LinkStatus], library: str | None) -> str:
    items = []
    for access in journal.access:
        if library is not None and access.library not in ("", library):
            continue
        state, words = link_state(statuses.get(access.url))
        whose = f" ({html.escape(access.library)})" if access.library and library is None else ""
        items.append(f'<li>{link_html(access.url)}{whose}<span class="state {state}" title="{html.escape(words)}">'
                     f"{state}</span></li>")
    return f'<ul class="access">{"".join(items)}</ul>' if items else "no URL"


def _table(journals: Sequence[EJournal], statuses: dict[str, LinkStatus], library: str | None) -> str:
    rows = ["<table><thead><tr><th>Title</th><th>ISSN</th><th>Publisher, years</th><th>Subject</th>"
            f"<th>Access (link check)</th>{'' if library else '<th>Libraries</th>'}</tr></thead><tbody>"]
    for journal in sorted(journals, key=lambda j: (j.title.casefold(), j.isn)):
        subjects = ", ".join(f"{s.code} ({s.scheme})" for s in journal.subjects) or "–"
        libraries = "" if library else f"<td>{html.escape(', '.join(journal.libraries)) or '–'}</td>"
        rows.append(f'<tr><td>{html.escape(journal.title)} <small>[{journal.isn}]</small></td>'
                    f"<td>{html.escape(' '.join(journal.issns))}</td>"
                    f"<td>{html.escape(', '.join(p for p in (journal.publisher, journal.years) if p))}</td>"
                    f"<td>{html.escape(subjects)}</td><td>{_access_html(journal, statuses, library)}</td>{libraries}</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _nav() -> str:
    return ('<nav><a href="index.html">All lists</a><a href="ejournals.csv">CSV</a>'
            '<a href="ejournals-dcterms.xml">Dublin Core XML</a></nav>')


def _group_order(group: str) -> tuple[int, str]:
    return (0 if group in DDC_CLASSES else 1 if group != NO_GROUP else 2, group)


def write_pages(journals: Sequence[EJournal], statuses: dict[str, LinkStatus], out: Path,
                catalog_name: str, names: dict[str, str]) -> list[Path]:
    """Write index.html, one page per subject group and one per library; returns the pages."""
    by_group: dict[str, list[EJournal]] = defaultdict(list)
    by_library: dict[str, list[EJournal]] = defaultdict(list)
    for journal in journals:
        for group in journal.groups:
            by_group[group].append(journal)
        for library in journal.libraries:
            by_library[library].append(journal)
    written = []
    group_links, library_links = [], []
    for group in sorted(by_group, key=_group_order):
        path = out / f"subject-{file_stem(group)}.html"
        label = group_label(group)
        path.write_text(_page(f"E-journals: {label}", f"<h1>E-journals: {html.escape(label)}</h1>\n{_nav()}\n"
                              f"<p>{len(by_group[group])} titles</p>\n{_table(by_group[group], statuses, None)}"),
                        encoding="utf-8")
        group_links.append(f'<li><a href="{path.name}">{html.escape(label)}</a> ({len(by_group[group])})</li>')
        written.append(path)
    for library in sorted(by_library):
        path = out / f"library-{file_stem(library)}.html"
        name = names.get(library, "")
        label = library + (f" – {name}" if name and name != library else "")
        path.write_text(_page(f"E-journals of {label}", f"<h1>E-journals of {html.escape(label)}</h1>\n{_nav()}\n"
                              f"<p>{len(by_library[library])} titles</p>\n"
                              f"{_table(by_library[library], statuses, library)}"), encoding="utf-8")
        library_links.append(f'<li><a href="{path.name}">{html.escape(label)}</a> ({len(by_library[library])})</li>')
        written.append(path)
    index = out / "index.html"
    index.write_text(_page(f"E-journals – {catalog_name}",
                           f"<h1>Electronic serials in {html.escape(catalog_name)}</h1>\n{_nav()}\n"
                           f"<p>{len(journals)} titles</p>\n<h2>By subject group</h2>\n<ul>{''.join(group_links)}</ul>\n"
                           f"<h2>By library</h2>\n<ul>{''.join(library_links)}</ul>"), encoding="utf-8")
    return [index, *written]


def write_csv(journals: Sequence[EJournal], statuses: dict[str, LinkStatus], path: Path) -> int:
    """One row per title and URL (a title without URL: one row with the URL empty); returns rows."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for journal in journals:
            common = [journal.isn, journal.title, " ".join(journal.issns), journal.publisher, journal.years,
                      " ".join(s.code for s in journal.subjects), " ".join(journal.libraries)]
            for access in journal.access or (None,):
                if access is None:
                    writer.writerow([*common, "", "", "", "", "", ""])
                else:
                    status = statuses.get(access.url)
                    state, _ = link_state(status)
                    writer.writerow([*common, access.url, access.library or "title", state,
                                     status.outcome if status else "", status.last_checked if status else "",
                                     status.final_url if status and status.redirects else ""])
                rows += 1
    return rows
