"""`unikat ill` as staff use it: a real subprocess over a home with an ILL network."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from illdata import ill_home


def unikat(home, *args, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zserver", "--home", str(home.root), "ill", *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture
def home(tmp_path):
    home, isns = ill_home(tmp_path)
    home.isns = isns
    return home


def test_accounts_orders_answers_deadlines_and_slips(home, tmp_path):
    created = unikat(home, "account", "create", "1001", "--library", "H", "--name", "Erika Mustermann",
                     "--balance", "4", "--stdin", stdin="secret-pw\n")
    assert created.returncode == 0, created.stderr
    assert "balance 4 units" in created.stdout and "secret-pw" not in created.stdout + created.stderr
    assert "balance 10 units" in unikat(home, "account", "credit", "1001", "6").stdout
    wrong = unikat(home, "order", "1001", "--isn", str(home.isns["BOOK"]), "--stdin", stdin="nope\n")
    assert wrong.returncode == 2 and "Wrong access number or password" in wrong.stderr
    placed = unikat(home, "order", "1001", "--isn", str(home.isns["BOOK"]), "--stdin", stdin="secret-pw\n")
    assert placed.returncode == 0, placed.stderr
    assert "balance 10 -> 8 units" in placed.stdout and "RequestReceived at N1" in placed.stdout
    number = placed.stdout.split()[1]
    incoming = unikat(home, "incoming", "N1")
    assert incoming.stdout.startswith(number)
    refused = unikat(home, "answer", number, "--library", "N1", "--unfilled", "on loan")
    assert "RequestReceived at S1" in refused.stdout and "N1 (call number N1/100)" in refused.stdout
    # S1's deadline passes: move it into the past in the store, as a week going by would
    with sqlite3.connect(home.store_path) as db:
        db.execute("UPDATE ill_orders SET deadline = '2000-01-01T00:00:00Z' WHERE number = ?", (number,))
    deadlines = unikat(home, "deadlines")
    assert f"{number}: deadline passed at S1 -> S2" in deadlines.stdout
    shipped = unikat(home, "answer", number, "--library", "S2", "--supplied", "--note", "parcel 4711")
    assert "Loaned" in shipped.stdout and "left the network: no" in shipped.stdout
    status = unikat(home, "status", number)
    assert "supplier S1" in status.stdout and "expired" in status.stdout and "shipped 20" in status.stdout
    html, pdf = tmp_path / "slip.html", tmp_path / "slip.pdf"
    assert unikat(home, "slip", number, "--html", str(html)).returncode == 0
    text = html.read_text()
    assert text.count("<svg") == 2 and number in text and "Erika Mustermann" in text and "S2/9" in text
    assert "Bahnhofstr. 9" in text and "Hauptstr. 1" in text
    assert unikat(home, "slip", number, "--pdf", str(pdf)).returncode == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    shown = unikat(home, "account", "show", "1001")
    assert "balance 8 units" in shown.stdout and number in shown.stdout


def test_quota_and_refusals(home):
    unikat(home, "account", "create", "Q1", "--library", "H", "--quota", "1", "--stdin", stdin="pw-q1\n")
    first = unikat(home, "order", "Q1", "--isn", str(home.isns["BOOK"]), "--stdin", stdin="pw-q1\n")
    assert "quota left 0" in first.stdout
    second = unikat(home, "order", "Q1", "--isn", str(home.isns["BOOK"]), "--stdin", stdin="pw-q1\n")
    assert second.returncode == 2 and "used up" in second.stderr
    assert "quota 3 orders left" in unikat(home, "account", "quota", "Q1", "3").stdout
    bad = unikat(home, "account", "quota", "Q1", "many")
    assert bad.returncode == 2 and "number of orders or none" in bad.stderr
    unknown = unikat(home, "account", "create", "X1", "--library", "NOPE", "--stdin", stdin="pw-x1\n")
    assert unknown.returncode == 2 and "No library 'NOPE'" in unknown.stderr
    free = unikat(home, "order", "Q1", "--free", "Meier: Seltenes Heft, 1887", "--stdin", stdin="pw-q1\n")
    assert "CentralDesk at ZFL" in free.stdout and "free order" in free.stdout
    assert unikat(home, "status", "GBV000000999").stderr.strip() == "unikat ill: There is no order GBV000000999."
