"""`unikat linkcheck` over a real catalog: the sample e-journals (PICA+ 4085 -> 856, 7135 ->
holding URLs) loaded with their URLs pointed at servers this test starts on 127.0.0.1 and
127.0.0.2, the results kept with their history, `--since`, `--library`, the reports; and the
URLs of real PICA+ and MARC records (never requested: collecting only)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, load, make_home, shared
from webhosts import WebHost, localized_ejournals

from index.links.check import LinkCheck, LinkState
from index.links.collect import link_uses
from index.store.catalog import CatalogStore
from index.store.links import LinkResults
from zserver.cli import main

LOCAL = '\n[linkcheck]\nconcurrency = 10\nper_host = 2\ndelay = 0\ntimeout = 1\n'


@pytest.fixture(scope="module")
def hosts():
    one, two = WebHost("127.0.0.1", work_seconds=0), WebHost("127.0.0.2", work_seconds=0)
    yield one, two
    one.close()
    two.close()


@pytest.fixture()
def local_home(tmp_path, hosts):
    home = make_home(tmp_path / "home", TEST_CONFIG + LOCAL)
    path, local = localized_ejournals(tmp_path, *hosts)
    load(home, "ZDB", path)
    return home, local


def linkcheck(home, *args: str) -> int:
    return main(["--home", str(home.root), "linkcheck", *args])


def test_linkcheck_keeps_results_and_writes_reports(local_home, capsys) -> None:
    home, local = local_home
    assert linkcheck(home) == 0
    out = capsys.readouterr().out
    urls = set(local.values())
    assert f"checked {len(urls)} of {len(urls)} URLs" in out
    results = LinkResults.of(home)
    try:
        statuses = results.statuses(urls)
    finally:
        results.close()
    assert set(statuses) == urls
    for url, status in statuses.items():
        if "/status/" in url:
            assert status.state is LinkState.BROKEN and str(status.status) in url and status.broken_since
        elif "/redirect/" in url or "/to?" in url:
            assert status.state is LinkState.MOVED and status.redirects and status.final_url.endswith("/ok")
        else:
            assert (status.state, status.status) == (LinkState.OK, 200)
    report = home.root / "linkcheck"
    assert {p.name for p in report.iterdir()} >= {"index.html", "A.html", "A.csv", "B.csv", "WWW_1.html", "WWW_1.csv"}
    rows = list(csv.DictReader((report / "A.csv").open(encoding="utf-8")))
    # library A: its own holdings' URLs and the 856 URLs of the titles it holds, broken ones first
    store = CatalogStore.of(home)
    try:
        expected = {u.url for u in link_uses(store, "A") if statuses[u.url].state in (LinkState.BROKEN, LinkState.MOVED)}
    finally:
        store.close()
    assert {row["url"] for row in rows} == expected and expected
    states = [row["state"] for row in rows]
    assert states == sorted(states)   # "broken" before "moved"
    moved = next(row for row in rows if row["state"] == "moved")
    assert moved["redirects"].startswith(("301 ", "302 ")) and moved["final_url"].endswith("/ok")
    page = (report / "A.html").read_text(encoding="utf-8")
    assert "<table>" in page and 'class="broken"' in page and "Link check: A" in page


def test_since_rechecks_only_old_results(local_home, hosts, capsys) -> None:
    home, local = local_home
    assert linkcheck(home) == 0
    before = len(hosts[0].log)
    assert linkcheck(home, "--since", "1") == 0
    assert f"checked 0 of {len(set(local.values()))} URLs" in capsys.readouterr().out
    assert len(hosts[0].log) == before                     # no request at all
    old = sorted(set(local.values()))[:3]
    results = LinkResults.of(home)
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    results.db.executemany("UPDATE link_status SET last_checked = ? WHERE url = ?", [(three_days_ago, u) for u in old])
    results.close()
    assert linkcheck(home, "--since", "2") == 0
    assert f"checked 3 of {len(set(local.values()))} URLs" in capsys.readouterr().out
    results = LinkResults.of(home)
    try:
        assert [len(results.history(url)) for url in old] == [2, 2, 2]   # the first run and this one
    finally:
        results.close()


def test_library_limits_the_urls(local_home, capsys) -> None:
    home, _ = local_home
    store = CatalogStore.of(home)
    try:
        of_b = {use.url for use in link_uses(store, "B")}
    finally:
        store.close()
    assert linkcheck(home, "--library", "B", "--report", str(home.root / "b-only")) == 0
    assert f"checked {len(of_b)} of {len(of_b)} URLs" in capsys.readouterr().out
    assert sorted(p.name for p in (home.root / "b-only").iterdir()) == ["B.csv", "B.html", "index.html"]


def test_mistakes_are_refused_with_the_reason(local_home, capsys) -> None:
    home, _ = local_home
    assert linkcheck(home, "--library", "NOPE") == 2
    assert "library 'NOPE' neither configured nor holding anything (known: A, B, C, WWW 1, ZDB)" \
        in capsys.readouterr().err
    assert linkcheck(home, "--since", "-1") == 2
    assert "--since takes a number of days >= 0, not -1" in capsys.readouterr().err
    config = home.config_path.read_text()
    home.config_path.write_text(config.replace("per_host = 2", "per_host = 0"))
    assert linkcheck(home) == 2
    assert "[linkcheck] per_host: must be a number of requests >= 1, not 0" in capsys.readouterr().err


def test_history_and_broken_since(tmp_path) -> None:
    home = make_home(tmp_path / "home")
    CatalogStore.of(home).close()
    results = LinkResults.of(home)
    url = "http://127.0.0.1:9/x"
    try:
        results.record([LinkCheck(url, LinkState.BROKEN, 404)], now="2026-01-01 10:00:00")
        results.record([LinkCheck(url, LinkState.BROKEN, None, "timeout: no answer within 1 s")],
                       now="2026-01-08 10:00:00")
        status = results.statuses([url])[url]
        assert (status.broken_since, status.last_checked, status.checks) == ("2026-01-01 10:00:00", "2026-01-08 10:00:00", 2)
        assert status.outcome == "timeout: no answer within 1 s"
        assert results.due([url, "http://new/"], 3, now="2026-01-10 10:00:00") == ["http://new/"]
        assert results.due([url], 1, now="2026-01-10 10:00:00") == [url]
        results.record([LinkCheck(url, LinkState.OK, 200)], now="2026-01-10 10:00:00")
        status = results.statuses([url])[url]
        assert (status.state, status.broken_since, status.first_checked) == (LinkState.OK, None, "2026-01-01 10:00:00")
        results.record([LinkCheck(url, LinkState.BROKEN, 500)], now="2026-01-11 10:00:00")
        assert results.statuses([url])[url].broken_since == "2026-01-11 10:00:00"   # a new broken spell
        assert [row[:3] for row in results.history(url)] == [
            ("2026-01-01 10:00:00", "broken", 404), ("2026-01-08 10:00:00", "broken", None),
            ("2026-01-10 10:00:00", "ok", 200), ("2026-01-11 10:00:00", "broken", 500)]
    finally:
        results.close()


def _pica_urls(path: Path) -> set[str]:
    """The $u of 009Q (4085) and 017C of title records (002@ not `T...`), read from the bytes."""
    urls = set()
    for record in path.read_bytes().split(b"\n"):
        fields = record.split(b"\x1e")
        kind = next((f[6:] for f in fields if f.startswith(b"002@ ")), b"")
        if kind.startswith(b"\x1f0T") or not kind:
            continue
        for field in fields:
            if field[:4] in (b"009Q", b"017C"):
                for sub in field.split(b"\x1f")[1:]:
                    if sub[:1] == b"u" and sub[1:].strip():
                        urls.add(sub[1:].decode().strip())
    return urls


def test_urls_of_real_pica_records(tmp_path) -> None:
    """pica-rs testdaten.dat (DNB): every 4085/009Q and 017C URL of a title is found as 856."""
    path = shared("github/deutsche-nationalbibliothek+pica-rs/testdaten.dat")
    home = make_home(tmp_path / "home", TEST_CONFIG + '[libraries.DNB]\nsource_system = "DNB"\nholdings = "pica"\n'
                     "require_holdings = false\n")
    load(home, "DNB", path)
    store = CatalogStore.of(home)
    try:
        uses = list(link_uses(store))
    finally:
        store.close()
    expected = _pica_urls(path)
    assert len(expected) > 50
    assert {use.url for use in uses if use.where == "856"} == expected


def test_urls_of_real_marc_records(tmp_path) -> None:
    """traject and Catmandu-MARC records with 856 $u: each found, under the loading library."""
    home = make_home(tmp_path / "home")
    for name in ("github/traject+traject/the_business_ren.marc", "github/traject+traject/online_only.marc",
                 "github/LibreCat+Catmandu-MARC/oschrift_me.mrc"):
        load(home, "B", shared(name))
    store = CatalogStore.of(home)
    try:
        uses = list(link_uses(store))
    finally:
        store.close()
    urls = {use.url for use in uses}
    assert {"http://search.proquest.com/publication/39705", "http://JHU.eblib.com/patron/FullRecord.aspx?p=894955",
            "https://doi.org/10.1787/9789264310032-ar"} <= urls
    assert {use.library for use in uses} == {"B"}
