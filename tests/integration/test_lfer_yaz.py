"""yaz-client `format opac` against a real `unikat serve` shows the LFER holdings the rules
built, with the rule-chosen URL, in the union database and in the LFER database; and a
consortium member's database finds and shows its consortium's holdings. Both engines."""

from __future__ import annotations

import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home
from test_yaz_client import require, run_yaz_client, start_serving, stop_serving

pytestmark = pytest.mark.integration

CONFIG = (SAMPLE_DATA / "unikat.toml").read_text(encoding="utf-8") + """
[virtual.LFER]
name = "LFER licence-free electronic resources"
rule = "lfer"

[consortia."WWW 1"]
name = "Konsortium WWW 1"
members = ["B", "C"]
"""
SEED = """001B $01240:01-01-24$t08:00:00.000
002@ $0Obvl
003@ $0123456789
021A $aProcedia computer science
009Q $uhttp://www.sciencedirect.com/science/journal/18770568$xH$zLF
009Q $uhttp://www.bibliothek.uni-regensburg.de/ezeit/?2486602$xF
101@ $a900$cWWW 1
203@/01 $0500000999
209B/01 $aKonsortiallizenz$x43
247C/01 $SWWW 1
"""


@pytest.fixture(scope="module", params=ENGINES)
def server(request, tmp_path_factory):
    require("yaz-client")
    root = tmp_path_factory.mktemp(f"lfer-yaz-{request.param}")
    home = make_home(root / "home", CONFIG, engine=request.param)
    load(home, "ZDB", SAMPLE_DATA / "ejournals.pica")
    seed = root / "seed.pica"
    seed.write_text(SEED, encoding="utf-8")
    load(home, "ZDB", seed)
    running = start_serving(home, workers=1)
    yield running
    stop_serving(running)


def test_opac_shows_rule_built_holding(server, tmp_path):
    out = run_yaz_client(server, tmp_path, 'find @attr 1=4 "procedia computer science"', "format opac", "show 1")
    assert "Number of hits: 1" in out
    # the seed's URL rule: the $zLF URL and the EZB URL, both in the rule-built holding
    lfer = out[out.index("LFER licence-free electronic resources"):]
    assert "Rule-built holding (lfer rule)" in lfer
    assert "http://www.sciencedirect.com/science/journal/18770568" in lfer
    assert "http://www.bibliothek.uni-regensburg.de/ezeit/?2486602" in lfer


def test_lfer_database(server, tmp_path):
    out = run_yaz_client(server, tmp_path, "find @attr 1=1016 journal", "format opac", "show 1",
                         database="LFER")
    hits = int(out.split("Number of hits: ")[1].split(",")[0])
    assert 1 <= hits <= 13
    assert "Rule-built holding (lfer rule)" in out
    everything = run_yaz_client(server, tmp_path, "find @attr 1=56 LFER", database="unikat")
    assert "Number of hits: 13," in everything   # 12 sample e-journals + the seed's example


def test_member_database_sees_consortium(server, tmp_path):
    out = run_yaz_client(server, tmp_path, 'find @attr 1=4 "procedia computer science"', "format opac", "show 1",
                         database="C")
    assert "Number of hits: 1" in out   # held only under the consortium sigel, C is a member
    assert "Konsortium WWW 1 (consortium; members: Library B" in out
