"""bench/RESULTS.md from the results bench/run.py collects (bench/out/results.json).

    .venv/bin/python bench/report.py [results.json] [RESULTS.md]

Owns the wording and layout of the report and nothing else: it measures nothing and starts
nothing. Every table puts unikat and Zebra side by side with a ratio whose direction is
stated in its header. Sections a person writes (the analysis, the changes and what they
bought) sit between `<!-- keep:NAME -->` markers and survive regeneration: when the target
file exists, its kept sections replace the placeholders. The yaz-client session table
(bench/session.py, results["session"]) is kept the same way when the results have none, and
write_session writes that section alone.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

KEEP = re.compile(r"<!-- keep:(\w+) -->\n(.*?)<!-- /keep:\1 -->", re.S)
KEEP_SESSION = re.compile(r"<!-- keep:session -->\n.*?<!-- /keep:session -->", re.S)

PLACEHOLDERS = {
    "analysis": "_Placeholder for the lead engineer: where unikat is ahead, where behind and why; for each\n"
                "goal not met (search latency/throughput ratio >= 1.0, load+index within 1.5x of Zebra's time,\n"
                "serving memory <= 2x Zebra's) what would meet it, with a measured figure._\n",
    "changes": "_Placeholder: each change made after profiling (py-spy or cProfile) and what it bought,\n"
               "with before/after figures from this table._\n",
    "other": "",   # sections of the other benchmarks (ILL, consolidation, stores, hosts), written by hand
}

MODE_LABELS = {"search": "search only", "usmarc": "search + present 10 MARC21",
               "xml": "search + present 10 MARCXML", "scan": "scan (10 terms)"}


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}"


def _goal(value: float | None, other: float | None, *, at_least: float | None = None,
          at_most: float | None = None) -> str:
    if not value or not other:
        return "-"
    share = value / other
    met = (at_least is None or share >= at_least) and (at_most is None or share <= at_most)
    return "yes" if met else "no"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """A Markdown table; the first `left` columns are text, the others figures."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _machine(results: dict) -> list[str]:
    m = results["machine"]
    rows = [["CPUs (`nproc`)", str(m["nproc"])], ["CPU", m["cpu"]], ["memory", f"{m['memory_gb']} GB"],
            ["kernel", m["kernel"]], ["Python", m["python"]], ["Whoosh (whoosh-reloaded)", m["whoosh"]],
            ["Zebra", m["zebra"]], ["YAZ", m["yaz"]],
            ["unikat commit at start / at end", f"{m['git']} / {results.get('git_end', '(unfinished)')}"],
            ["load average (1/5/15 min) at start", " / ".join(map(str, m["load_average"]))],
            ["load average at end", " / ".join(map(str, results.get("load_average_end", [])))],
            ["run started / finished", f"{results['started']} / {results.get('finished', '(unfinished)')}"],
            ["run time", f"{results.get('seconds', 0) / 60:.1f} min"]]
    return ["## The machine", ""] + _table(["", ""], rows, left=2) + [
        f"The machine has {m['nproc']} cores and other engineers ran tests on it during the run, so the "
        "figures are noisy. Each Z39.50/SRU row says how much CPU the rest of the machine used during "
        "that measurement (others' CPU, in cores: busy CPU minus the server's and the clients'), and the "
        "server's CPU time per request, which depends less on the noise than requests/s. Load and growth "
        "rows carry the 1-minute load average after them.", ""]


def _reproduce(results: dict) -> list[str]:
    return ["## Reproduce", "", "```",
            "make bench                                   # = .venv/bin/python bench/run.py (100k and 250k)",
            f"{results['command']}   # this report",
            ".venv/bin/python bench/run.py --quick        # 1,000 records, 2-second measurements",
            "```", "",
            "`bench/run.py` installs `idzebra-2.0` with apt-get when `zebraidx` is missing and fetches the LC "
            "records with `../shared/scripts/get-lc-books` when they are absent. Homes are reused while the "
            "record file and the code under `index/` are unchanged (stamp `bench-stamp.json` in each home; "
            "`--force` rebuilds, `--reuse-homes` ignores code changes); reused load figures are those "
            "measured when the home was built. Raw figures: `bench/results.json`; logs: `bench/out/*.log`.", ""]


def _setup(results: dict) -> list[str]:
    options = results["options"]
    return ["## What is compared", "",
            "- Records: the first N records of LC `BooksAll.2016.part01.utf8` (MARC21, UTF-8), the same file "
            "for both; smaller sets are prefixes of larger ones.",
            "- Zebra: Debian `idzebra-2.0`, stock `grs.marcxml.marc21` (marc21.abs), served by `zebrasrv` with "
            "a YAZ frontend config (Z39.50 and SRU on one port, CQL through the stock "
            "`/usr/share/yaz/etc/pqf.properties`, MARCXML made by YAZ from the stored MARC21). zebrasrv forks "
            "one process per connection.",
            f"- unikat: `unikat serve --workers {options['workers']}` (Z39.50 and SRU on one port), search engine "
            f"`{options.get('engine', 'whoosh')}` (`[index] engine` in unikat.toml; `bench/run.py --engine` chooses).",
            "- Query mix (200 queries, drawn from the first 5,000 records, the same at every size): title word, "
            "author name, subject word, two-word title phrase, right truncation on four letters, AND (title, "
            "author), OR (title, subject), title word AND a publication-year range (Z39.50 only). Scan: ten "
            "terms from a title, author or subject word.",
            "- Not compared: ISBN/ISSN searches (stock Zebra has no ISBN index, diagnostic 114), sorting "
            "(Zebra needs sort registers, diagnostic 207), year ranges over SRU (pqf.properties maps dc.date "
            "to Use 30, which marc21.abs does not index: SRU diagnostic 16).",
            f"- Throughput: N client processes, each with its own connection, run the mix for "
            f"{options['seconds']:g} s (Z39.50: our own client on unikat's codec, `bench/zclient.py`; SRU: "
            "http.client with keep-alive). A request is one search, one search plus a present of up to ten "
            "records, or one scan. Latency is per request, over all clients. The clients run on the same "
            f"{results['machine']['nproc']}-core machine as the servers; the CPU they used is in the tables "
            "(client CPU, in cores).",
            "- Memory while serving: peak PSS of the server's whole process tree (all workers or forked "
            "children), sampled every 0.5 s during the measurements; PSS shares shared pages out instead of "
            "counting them once per process.",
            "- Ratios: the header says which way is better. Throughput ratios are unikat/Zebra and latency "
            "ratios Zebra/unikat, so above 1.0 means unikat is ahead; time, disk and memory ratios are "
            "unikat/Zebra, so below 1.0 means unikat is ahead.", ""]


def _load(results: dict) -> list[str]:
    times, sizes = [], []
    for entry in results.get("load", []):
        u, z = entry["unikat"], entry.get("zebra") or {}
        times.append([f"{entry['records']:,}", _num(u["seconds"], 1), _num(z.get("seconds"), 1),
                      _ratio(u["seconds"], z.get("seconds")), _goal(u["seconds"], z.get("seconds"), at_most=1.5),
                      _num(u["records_per_second"]), _num(z.get("records_per_second")),
                      f"built {u.get('built', '?')}" + (", reused" if u.get("reused") else ""),
                      _num((u.get("load_average") or [None])[0], 1)])
        sizes.append([f"{entry['records']:,}", _num(u["disk_mb"]), _num(z.get("disk_mb")),
                      _ratio(u["disk_mb"], z.get("disk_mb")), _num(u["tree_peak_mb"]), _num(z.get("tree_peak_mb")),
                      _ratio(u["tree_peak_mb"], z.get("tree_peak_mb")),
                      f"{_num(u['peak_mb'])} / {_num(z.get('peak_mb'))}"])
    return ["## Load and index", "",
            "unikat: `unikat load` (read, validate, store, consolidate, search-key files, search index); "
            "Zebra: `zebraidx update` + `commit`. A reused home reports the figures measured when it was "
            "built.", ""] + _table(
        ["records", "unikat s", "Zebra s", "time unikat/Zebra (lower better)", "within 1.5x", "unikat rec/s",
         "Zebra rec/s", "unikat home", "load avg after the unikat load"], times) + [
            "Disk: the whole home (catalog store, search-key files, search index) against Zebra's register. "
            "Peak memory: sampled peak PSS of the process tree while indexing; the last column is the "
            "kernel's peak RSS of the largest single process.", ""] + _table(
        ["records", "unikat disk MB", "Zebra disk MB", "disk unikat/Zebra (lower better)", "unikat peak MB",
         "Zebra peak MB", "memory unikat/Zebra (lower better)", "largest process unikat / Zebra MB"], sizes)


def _protocol_rows(result: dict, label: str, key: str) -> list[list[str]]:
    rows = []
    for row in result["runs"]:
        u, z = row["unikat"], row.get("zebra") or {}
        records = u["records_per_second"] or z.get("records_per_second")
        rows.append([str(row["clients"]), label(row[key]),
                     _num(u["requests_per_second"]), _num(z.get("requests_per_second")),
                     _ratio(u["requests_per_second"], z.get("requests_per_second")),
                     _goal(u["requests_per_second"], z.get("requests_per_second"), at_least=1.0),
                     (_num(u["records_per_second"]) + " / " + _num(z.get("records_per_second"))) if records else "-",
                     f"{_num(u['p50_ms'], 2)} / {_num(u['p95_ms'], 2)} / {_num(u['p99_ms'], 2)}",
                     f"{_num(z.get('p50_ms'), 2)} / {_num(z.get('p95_ms'), 2)} / {_num(z.get('p99_ms'), 2)}",
                     _ratio(z.get("p50_ms"), u["p50_ms"]), _ratio(z.get("p95_ms"), u["p95_ms"]),
                     f"{_num(u.get('server_cpu_ms_per_request'), 2)} / {_num(z.get('server_cpu_ms_per_request'), 2)}",
                     f"{u['errors']} / {z.get('errors', '-')}",
                     f"{_num(u.get('client_cpu_cores'), 2)} / {_num(z.get('client_cpu_cores'), 2)}",
                     f"{_num(u.get('other_cpu_cores'), 2)} / {_num(z.get('other_cpu_cores'), 2)}"])
    return rows


PROTOCOL_HEADER = ["clients", "request", "unikat req/s", "Zebra req/s", "req/s unikat/Zebra (higher better)",
                   "goal >= 1", "records/s unikat / Zebra", "unikat p50/p95/p99 ms", "Zebra p50/p95/p99 ms",
                   "p50 Zebra/unikat (higher better)", "p95 Zebra/unikat (higher better)",
                   "server CPU ms/request unikat / Zebra", "errors unikat / Zebra",
                   "client CPU (cores) unikat / Zebra", "others' CPU (cores) unikat / Zebra"]


def _by_kind(result: dict, mode_key: str, mode: object) -> list[str]:
    run = next((r for r in result["runs"] if r["clients"] == 1 and r[mode_key] == mode), None)
    if run is None:
        return []
    u, z = run["unikat"]["by_kind"], (run.get("zebra") or {}).get("by_kind", {})
    rows = [[kind, _num(u[kind]["p50_ms"], 2), _num(u[kind]["p95_ms"], 2), _num(u[kind]["p99_ms"], 2),
             _num(z.get(kind, {}).get("p50_ms"), 2), _num(z.get(kind, {}).get("p95_ms"), 2),
             _num(z.get(kind, {}).get("p99_ms"), 2), _ratio(z.get(kind, {}).get("p50_ms"), u[kind]["p50_ms"])]
            for kind in u]
    return _table(["query kind", "unikat p50 ms", "p95", "p99", "Zebra p50 ms", "p95", "p99",
                   "p50 Zebra/unikat (higher better)"], rows)


def _differences(result: dict, limit: int = 15) -> list[str]:
    differences = result.get("hit_count_differences", [])
    total = len(result["queries"])
    if not differences:
        return [f"Hit counts: all {total} queries give the same count on both servers.", ""]
    kinds: dict[str, int] = {}
    for difference in differences:
        kinds[difference["kind"]] = kinds.get(difference["kind"], 0) + 1
    lines = [f"Hit counts differ for {len(differences)} of {total} queries ("
             + ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))
             + "; negative counts are diagnostics). The first ones:", ""]
    lines += _table(["kind", "query", "unikat", "Zebra"],
                    [[d["kind"], f"`{d['query']}`", str(d["unikat"]), str(d.get("zebra", "-"))]
                     for d in differences[:limit]], left=2)
    return lines


def _z3950(results: dict) -> list[str]:
    lines = []
    for result in results.get("z3950", []):
        lines += [f"## Z39.50, {result['records']:,} records", ""]
        checked = result.get("zoomsh_check")
        if checked:
            lines += [f"The load generator (bench/zclient.py, our codec) against YAZ's zoomsh on the first "
                      f"{checked['queries']} queries, both servers: {len(checked['mismatches'])} different hit "
                      "counts" + (f" ({checked['mismatches'][:3]})" if checked["mismatches"] else "") + ".", ""]
        lines += _differences(result)
        lines += _table(PROTOCOL_HEADER, _protocol_rows(result, lambda mode: MODE_LABELS[mode], "mode"))
        lines += ["Latency per query kind, one client, search only:", ""] + _by_kind(result, "mode", "search")
        lines += ["Scan per index, one client:", ""] + _by_kind(result, "mode", "scan")
    return lines


def _sru(results: dict) -> list[str]:
    lines = []
    for result in results.get("sru", []):
        lines += [f"## SRU, {result['records']:,} records", "",
                  "searchRetrieve, SRU 1.2, HTTP GET, recordSchema marcxml.", ""]
        lines += _differences(result)
        lines += _table(PROTOCOL_HEADER, _protocol_rows(
            result, lambda maximum: f"maximumRecords={maximum}", "maximum_records"))
        lines += ["Latency per query kind, one client, maximumRecords=0:", ""] \
            + _by_kind(result, "maximum_records", 0)
    return lines


def _memory(results: dict) -> list[str]:
    rows = []
    for protocol in ("z3950", "sru"):
        for result in results.get(protocol, []):
            peaks = result.get("server_peak_pss_mb", {})
            rss = {name: max(row[name]["server_rss_mb"] for row in result["runs"])
                   for name in peaks}
            rows.append([f"{result['records']:,}", "Z39.50" if protocol == "z3950" else "SRU",
                         _num(peaks.get("unikat")), _num(peaks.get("zebra")),
                         _ratio(peaks.get("unikat"), peaks.get("zebra")),
                         _goal(peaks.get("unikat"), peaks.get("zebra"), at_most=2.0),
                         f"{_num(rss.get('unikat'))} / {_num(rss.get('zebra'))}"])
    if not rows:
        return []
    return ["## Memory while serving", "",
            f"Peak PSS of the server process tree during the runs above, with up to "
            f"{max(results['options']['clients'])} clients.", ""] + _table(
        ["records", "protocol", "unikat MB", "Zebra MB", "unikat/Zebra (lower better)", "within 2x",
         "RSS sum unikat / Zebra MB"], rows)


def _exponent(value: float | None, base: float | None, size: int, base_size: int) -> str:
    if not value or not base or size == base_size:
        return "-"
    return f"{math.log(value / base) / math.log(size / base_size):.2f}"


def _growth(results: dict) -> list[str]:
    growth = results.get("growth", [])
    if not growth:
        return []
    first, last = growth[0], growth[-1]
    rows = []
    for entry in growth:
        cells = [f"{entry['records']:,}"]
        for name in ("unikat", "zebra"):
            figures, base = entry.get(name) or {}, first.get(name) or {}
            mean = 1000 / figures["requests_per_second"] if figures.get("requests_per_second") else None
            base_mean = 1000 / base["requests_per_second"] if base.get("requests_per_second") else None
            cells += [_num(figures.get("p50_ms"), 2), _num(figures.get("p95_ms"), 2), _num(mean, 2),
                      _exponent(figures.get("p50_ms"), base.get("p50_ms"), entry["records"], first["records"]),
                      _exponent(mean, base_mean, entry["records"], first["records"])]
        cells += [_ratio((entry.get("zebra") or {}).get("p50_ms"), entry["unikat"]["p50_ms"]),
                  f"{_num(entry['unikat'].get('other_cpu_cores'), 2)} / "
                  f"{_num((entry.get('zebra') or {}).get('other_cpu_cores'), 2)}"]
        rows.append(cells)
    kinds = []
    for kind in entry["unikat"]["by_kind"]:
        cells = [kind]
        for name in ("unikat", "zebra"):
            values = [((e.get(name) or {}).get("by_kind", {}).get(kind) or {}).get("p50_ms") for e in growth]
            cells += [" / ".join(_num(v, 2) for v in values),
                      _exponent(values[-1], values[0], last["records"], first["records"])]
        kinds.append(cells)
    sizes = " / ".join(f"{e['records'] // 1000:,}k" for e in growth)
    return ["## Growth", "",
            "The same Z39.50 search mix (search only, one client) at each size. The exponent k fits "
            f"latency ∝ N^k against {first['records']:,} records: k < 1 is sub-linear growth, k = 0 none, "
            "k = 1 linear. Mean latency is 1 / (requests/s) of the one client.", ""] + _table(
        ["records", "unikat p50 ms", "unikat p95 ms", "unikat mean ms", "unikat k (p50)", "unikat k (mean)",
         "Zebra p50 ms", "Zebra p95 ms", "Zebra mean ms", "Zebra k (p50)", "Zebra k (mean)",
         "p50 Zebra/unikat (higher better)", "others' CPU (cores) unikat / Zebra"], rows) + [
            f"p50 per query kind at {sizes} records, and k between the smallest and the largest size:", ""] + _table(
        ["query kind", f"unikat p50 ms ({sizes})", "unikat k", f"Zebra p50 ms ({sizes})", "Zebra k"], kinds)


def _session(entries: list[dict]) -> list[str]:
    """The yaz-client session table (bench/session.py), one row per size and unikat code."""
    rows = []
    for e in entries:
        u, z = e["unikat"], e.get("zebra") or {}

        def pair(key: str, digits: int = 2, u=u, z=z) -> str:
            return f"{_num(u.get(key), digits)} / {_num(z.get(key), digits)}"

        load = [f"{min(f['load_average']):.1f}–{max(f['load_average']):.1f}" if f.get("load_average") else "-"
                for f in (u, z)]
        code = e["label"] + (f" (`{e['unikat_code']}`)" if e["unikat_code"] != e["label"] else "")
        mix = "without " + ", ".join(e["skip_kinds"]) if e.get("skip_kinds") else "all"
        rows.append([f"{e['records']:,}", code, mix, _num(u["seconds"], 3),
                     _num(z.get("seconds"), 3), _ratio(u["seconds"], z.get("seconds")),
                     _goal(u["seconds"], z.get("seconds"), at_most=1.0), pair("fastest_seconds", 3),
                     _ratio(u.get("fastest_seconds"), z.get("fastest_seconds")), pair("server_cpu_ms_per_request", 3),
                     _ratio(u["server_cpu_seconds"], z.get("server_cpu_seconds")),
                     pair("one_word_search_p50_ms"), pair("present_p50_ms"),
                     f"{'yes' if u['answered_all'] else 'NO'} / {'yes' if z.get('answered_all') else '-'}",
                     f"{load[0]} / {load[1]}", pair("others_cpu_cores"), e["measured"]])
    if not rows:
        return []
    first = entries[0]
    return ["## One yaz-client session", "",
            f"Issue 11's first goal: one `yaz-client -f script` process runs {first['searches']} PQF searches (the "
            f"query mix, cycled) and {first['presents']} `show 1+{first['present_size']}` of MARC21 records "
            "(`format usmarc`, `elements F`; each after a search that found ten or more records on both servers). "
            "Time: the median of the timed sessions (yaz-client started to exited; the servers take turns; a "
            "search-only and a full session before them are not timed); the fastest session is the one least "
            "disturbed by other work on the machine. Server CPU: the server's process tree "
            "during the session, from /proc, per request (searches + presents). p50: yaz-client's own "
            "\"Elapsed\" per request over all timed sessions; one-word = title, author and subject searches. "
            "Load: the 1-minute load average after each session (lowest–highest). unikat code: the checkout "
            "served (`bench/session.py --unikat-src DIR --label NAME`; same home, same Zebra register).", ""] + _table(
        ["records", "unikat code", "query kinds", "unikat s", "Zebra s", "time unikat/Zebra (lower better)", "goal <= 1",
         "fastest session s unikat / Zebra", "fastest unikat/Zebra",
         "server CPU ms/request unikat / Zebra", "CPU unikat/Zebra (lower better)",
         "one-word search p50 ms unikat / Zebra", "present 10 p50 ms unikat / Zebra", "answered all unikat / Zebra",
         "load avg unikat / Zebra", "others' CPU (cores) unikat / Zebra", "measured"], rows, left=3) + [
            "Commands: " + "; ".join(sorted({f"`{e['command']}`" for e in entries})) + ".", "",
            "Where a session's time goes: yaz-client's \"Elapsed\" summed per query kind and for the presents "
            "(ms, median of the timed sessions; the rest of the wall time is connecting, yaz-client's own work "
            "and process start).", ""] + _session_kinds(entries)


def _session_kinds(entries: list[dict]) -> list[str]:
    kinds = sorted({kind for e in entries for name in ("unikat", "zebra")
                    for kind in (e.get(name) or {}).get("elapsed_ms_by_kind", {}) if kind != "present"})
    rows = []
    for e in entries:
        mix = " (without " + ", ".join(e["skip_kinds"]) + ")" if e.get("skip_kinds") else ""
        for name, label in (("unikat", "unikat " + e["label"] + mix), ("zebra", "Zebra" + mix)):
            spent = (e.get(name) or {}).get("elapsed_ms_by_kind")
            if spent:
                rows.append([f"{e['records']:,}", label] + [_num(spent.get(kind)) for kind in kinds + ["present"]]
                            + [_num(sum(spent.values()))])
    return _table(["records", "server"] + kinds + ["present 10", "all"], rows, left=2) if rows else []


def _session_block(section: list[str]) -> list[str]:
    """A generated section that survives a regeneration without its figures (bench/run.py does not
    measure sessions): kept between markers like the written sections."""
    return ["<!-- keep:session -->", "\n".join(section).rstrip("\n"), "<!-- /keep:session -->", ""]


def write_session(entries: list[dict], target: Path) -> None:
    """Write the session section into the report at `target`, in place of the old one, else before
    the analysis, else at the end; the rest of the file is left as it is."""
    block = "\n".join(_session_block(_session(entries)))
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    if KEEP_SESSION.search(text):
        text = KEEP_SESSION.sub(lambda _: block.rstrip("\n"), text, count=1)
    elif "## Analysis\n" in text:
        text = text.replace("## Analysis\n", block + "\n## Analysis\n", 1)
    else:
        text += ("\n" if text and not text.endswith("\n") else "") + block
    target.write_text(text, encoding="utf-8")


def _kept(previous: str | None) -> dict[str, str]:
    return {name: text for name, text in KEEP.findall(previous or "")}


def render(results: dict, previous: str | None = None) -> str:
    """The Markdown report; `previous` is the existing file, whose kept sections are carried over."""
    kept = {**PLACEHOLDERS, **_kept(previous)}
    lines = ["# unikat against Zebra: benchmark results", "",
             "Generated by `bench/run.py` (issue 6); do not edit the tables by hand, re-run instead. The two "
             "sections at the end are written by a person and kept when the report is generated again.", ""]
    if results.get("errors"):
        lines += ["**Steps that failed:** " + "; ".join(results["errors"]), ""]
    lines += _machine(results) + _reproduce(results) + _setup(results) + _load(results)
    lines += _z3950(results) + _sru(results) + _memory(results) + _growth(results)
    if results.get("session"):
        lines += _session_block(_session(results["session"]))
    elif "session" in kept:
        lines += _session_block([kept["session"]])
    lines += ["## Analysis", "", "<!-- keep:analysis -->", kept["analysis"].rstrip("\n"), "<!-- /keep:analysis -->", "",
              "## Changes and what they bought", "", "<!-- keep:changes -->", kept["changes"].rstrip("\n"),
              "<!-- /keep:changes -->", "", "<!-- keep:other -->", kept["other"].rstrip("\n"), "<!-- /keep:other -->", ""]
    return "\n".join(lines)


def write(results: dict, target: Path) -> None:
    previous = target.read_text(encoding="utf-8") if target.exists() else None
    target.write_text(render(results, previous), encoding="utf-8")


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out" / "results.json"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "RESULTS.md"
    write(json.loads(source.read_text()), target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
