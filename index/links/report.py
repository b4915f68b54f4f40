"""The link-check report: per library, the broken and the moved links, as HTML and CSV.

    DIR/index.html          every library with its counts, linking its pages
    DIR/<library>.html      broken links first, then moved ones (with the address reached)
    DIR/<library>.csv       the same rows, UTF-8, one header line

Text from records is escaped; only http(s) addresses become links (a record's `javascript:`
URL stays text). Knows nothing of HTTP or of the store's tables: uses and statuses come in.
"""

from __future__ import annotations

import csv
import html
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.links.check import LinkState
from index.links.collect import NO_LIBRARY, LinkUse

if TYPE_CHECKING:   # index.store.links imports index.links
    from index.store.links import LinkStatus

__all__ = ["LibraryReport", "file_stem", "html_page", "link_html", "write_reports"]

STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f0f0f0}td.url{word-break:break-all}
.broken{color:#a00;font-weight:bold}.moved{color:#a60;font-weight:bold}.ok{color:#070}
.skipped,.unchecked{color:#666}p.counts span{margin-right:1.2rem}"""

COLUMNS = ("state", "url", "outcome", "redirects", "final_url", "broken_since", "last_checked", "isn", "title",
           "where")


@dataclass(frozen=True)
class LibraryReport:
    """What one library's report holds: its URLs checked, and how many are broken or moved."""

    library: str
    urls: int
    broken: int
    moved: int
    html: Path
    csv: Path


def file_stem(library: str) -> str:
    """A library code as a file name (`WWW 1` -> `WWW_1`; no library -> `no-library`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", library).strip("._") or "no-library"


def library_label(library: str) -> str:
    return library if library != NO_LIBRARY else "(titles no library holds)"


def link_html(url: str) -> str:
    """`url` escaped, as a link when it is http(s)."""
    text = html.escape(url)
    if url.lower().startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}" rel="nofollow noreferrer">{text}</a>'
    return text


def _row(use: LinkUse, status: LinkStatus) -> dict[str, str]:
    return {"state": status.state.value, "url": use.url, "outcome": status.outcome,
            "redirects": " -> ".join(f"{hop.status} {hop.url}" for hop in status.redirects),
            "final_url": status.final_url if status.redirects else "", "broken_since": status.broken_since or "",
            "last_checked": status.last_checked, "isn": str(use.isn), "title": use.title, "where": use.where}


def write_reports(uses: Iterable[LinkUse], statuses: dict[str, LinkStatus], out: Path,
                  names: dict[str, str] | None = None) -> list[LibraryReport]:
    """Write each library's report of broken and moved links (and index.html) into `out`;
    `names` maps library codes to names for the headings. URLs never checked are left out."""
    names = names or {}
    out.mkdir(parents=True, exist_ok=True)
    by_library: dict[str, list[LinkUse]] = defaultdict(list)
    for use in uses:
        by_library[use.library].append(use)
    reports = []
    for library in sorted(by_library):
        checked = [use for use in by_library[library] if use.url in statuses]
        rows = [_row(use, statuses[use.url]) for use in checked
                if statuses[use.url].state in (LinkState.BROKEN, LinkState.MOVED)]
        rows.sort(key=lambda row: (row["state"] != "broken", row["url"], row["isn"]))
        stem = file_stem(library)
        report = LibraryReport(library, len({use.url for use in checked}),
                               len({r["url"] for r in rows if r["state"] == "broken"}),
                               len({r["url"] for r in rows if r["state"] == "moved"}),
                               out / f"{stem}.html", out / f"{stem}.csv")
        with report.csv.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        report.html.write_text(_library_page(report, names.get(library, ""), rows), encoding="utf-8")
        reports.append(report)
    (out / "index.html").write_text(_index_page(reports, names), encoding="utf-8")
    return reports


def html_page(title: str, body: str, extra_style: str = "") -> str:
    """A whole report page (the e-journal lists, `index.ejournals.pages`, add to its style)."""
    style = f"{STYLE}\n{extra_style}" if extra_style else STYLE
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{style}</style></head>\n<body>\n{body}\n</body></html>\n")


def _library_page(report: LibraryReport, name: str, rows: list[dict[str, str]]) -> str:
    label = library_label(report.library) + (f" – {name}" if name and name != report.library else "")
    parts = [f"<h1>Link check: {html.escape(label)}</h1>",
             f'<p class="counts"><span>{report.urls} URLs checked</span><span class="broken">{report.broken}'
             f' broken</span><span class="moved">{report.moved} moved</span>'
             f' <a href="{html.escape(report.csv.name)}">CSV</a> · <a href="index.html">all libraries</a></p>']
    if not rows:
        parts.append("<p>No broken or moved links.</p>")
        return html_page(f"Link check {label}", "\n".join(parts))
    parts.append("<table><thead><tr><th>State</th><th>URL</th><th>Status or error</th><th>Redirects</th>"
                 "<th>Now at</th><th>Broken since</th><th>Last checked</th><th>Title</th><th>Where</th></tr>"
                 "</thead><tbody>")
    for row in rows:
        parts.append(
            f'<tr><td class="{row["state"]}">{row["state"]}</td>'
            f'<td class="url">{link_html(row["url"])}</td><td>{html.escape(row["outcome"])}</td>'
            f'<td class="url">{html.escape(row["redirects"])}</td><td class="url">{link_html(row["final_url"])}</td>'
            f'<td>{html.escape(row["broken_since"])}</td><td>{html.escape(row["last_checked"])}</td>'
            f'<td>{html.escape(row["title"])} [{row["isn"]}]</td><td>{row["where"]}</td></tr>')
    parts.append("</tbody></table>")
    return html_page(f"Link check {label}", "\n".join(parts))


def _index_page(reports: list[LibraryReport], names: dict[str, str]) -> str:
    parts = ["<h1>Link check</h1>", "<table><thead><tr><th>Library</th><th>URLs checked</th><th>Broken</th>"
             "<th>Moved</th><th>CSV</th></tr></thead><tbody>"]
    for report in reports:
        label = library_label(report.library)
        name = names.get(report.library, "")
        parts.append(f'<tr><td><a href="{html.escape(report.html.name)}">{html.escape(label)}</a>'
                     f'{" – " + html.escape(name) if name and name != report.library else ""}</td>'
                     f'<td>{report.urls}</td><td class="broken">{report.broken}</td><td class="moved">{report.moved}'
                     f'</td><td><a href="{html.escape(report.csv.name)}">{html.escape(report.csv.name)}</a></td></tr>')
    parts.append("</tbody></table>")
    return html_page("Link check", "\n".join(parts))
