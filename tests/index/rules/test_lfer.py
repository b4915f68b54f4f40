"""The LFER rule: the seed's two examples, the URL choice, and real records (sample_data's
e-journals, DNB PICA+ from pica-rs, hbz MARCXML, traject and Catmandu MARC with 856)."""

from __future__ import annotations

import re

import pymarc
import pytest
from conftest import SAMPLE_DATA, shared
from pymarc import Field, Indicators, Subfield

from index.records.pica import parse_pica_record, pica_to_marc, read_pica
from index.rules.lfer import Link, choose_urls, evaluate


def _pica(text: str) -> pymarc.Record:
    marc, _holdings = pica_to_marc(parse_pica_record(text.strip() + "\n"))
    return marc


# The seed's examples (004_*.txt), as whole titles: 0500 `O..l` and the fields shown there.
SEED_URLS = """
001B $01240:01-01-24$t08:00:00.000
002@ $0Obvl
003@ $0123456789
021A $aProcedia Computer Science
009Q $uhttp://www.sciencedirect.com/science/journal/18770568$xH$zLF
009Q $uhttp://www.bibliothek.uni-regensburg.de/ezeit/?2486602$xF
"""
SEED_URN = """
002@ $0Oaal
003@ $0987654321
021A $aEine Hochschulschrift
004U $0urn:nbn:de:bsz:25-opus-57751
"""


def test_seed_example_urls():
    decision = evaluate(_pica(SEED_URLS))
    assert decision.eligible
    assert decision.urls == ("http://www.sciencedirect.com/science/journal/18770568",
                             "http://www.bibliothek.uni-regensburg.de/ezeit/?2486602")


def test_seed_example_urn():
    decision = evaluate(_pica(SEED_URN))
    assert decision.eligible
    assert decision.urls == ("http://nbn-resolving.de/urn:nbn:de:bsz:25-opus-57751",)


@pytest.mark.parametrize("type_code, reason", [("Obvz", "not licence-free"), ("Aaul", "not a remote electronic resource")])
def test_not_eligible(type_code, reason):
    decision = evaluate(_pica(SEED_URN.replace("Oaal", type_code)))
    assert not decision.eligible and decision.reason == reason and decision.urls == ()


def test_licence_free_without_url_or_urn():
    decision = evaluate(_pica(SEED_URN.replace("004U $0urn:nbn:de:bsz:25-opus-57751\n", "")))
    assert not decision.eligible and "neither URN nor URL" in decision.reason


def test_url_wins_over_urn():
    text = SEED_URN + "009Q $uhttp://opus.example/57751$xH\n"
    assert evaluate(_pica(text)).urls == ("http://opus.example/57751",)


@pytest.mark.parametrize("links, expected", [
    ([Link("http://a.example/")], ("http://a.example/",)),                       # one URL: it
    ([Link("http://a.example/", ("LF",))], ("http://a.example/",)),
    ([Link("http://a.example/", ("H",)), Link("http://b.example/", ("H", "LF"))], ("http://b.example/",)),
    ([Link("http://a.example/", ("H",)), Link("http://b.example/", ("H",))], ("http://a.example/",)),  # else the first
    ([Link("http://a.example/"), Link("https://ezb.ur.de/?2182368-6", ("EZB",))], ("https://ezb.ur.de/?2182368-6",)),
    ([Link("https://ezb.uni-regensburg.de/?1", ()), Link("http://b.example/", ("LF",))],
     ("http://b.example/", "https://ezb.uni-regensburg.de/?1")),                # LF first, EZB always
    ([Link("http://a.example/", ("KOSTENFREI",)), Link("http://b.example/")], ("http://a.example/",)),
])
def test_url_choice(links, expected):
    assert choose_urls(links) == expected


def _marc(*fields: Field, f007: str = "cr", leader: str = "00000nas a2200000 c 4500") -> pymarc.Record:
    record = pymarc.Record(force_utf8=True, leader=leader)
    record.add_field(Field(tag="007", data=f007))
    for field in fields:
        record.add_field(field)
    return record


def _856(*subfields: tuple[str, str], indicators: str = "40") -> Field:
    return Field(tag="856", indicators=Indicators(*indicators), subfields=[Subfield(c, v) for c, v in subfields])


def test_marc_free_markers():
    assert evaluate(_marc(_856(("u", "http://a.example/"), ("z", "KF")))).eligible
    assert evaluate(_marc(_856(("u", "http://a.example/"), ("7", "0")))).eligible
    assert not evaluate(_marc(_856(("u", "http://a.example/"), ("z", "Campuslizenz")))).eligible
    assert not evaluate(_marc(_856(("u", "http://a.example/"), ("z", "LF"), indicators="42"))).eligible   # related
    restricted = Field(tag="506", indicators=Indicators("1", " "), subfields=[Subfield("a", "Campus only")])
    assert not evaluate(_marc(restricted, _856(("u", "http://a.example/"), ("z", "LF")))).eligible
    print_book = _marc(_856(("u", "http://a.example/"), ("z", "LF")), f007="ta")
    assert evaluate(print_book).reason == "not a remote electronic resource"


@pytest.mark.parametrize(("text", "free"), [
    ("Access restricted to subscribers; not freely available.", False),
    ("Zugang nicht kostenfrei, nur für Angehörige der Universität", False),
    ("Restricted: licensed resource, no free access", False),
    ("Restricted to registered users; open access after the embargo", True),
    ("Unrestricted online access", True),
])
def test_a_506_saying_restrictions_apply_is_free_only_with_a_marker_not_negated(text, free):
    # the free markers had been found inside "not freely available" and "nicht kostenfrei"
    restricted = Field(tag="506", indicators=Indicators("1", " "), subfields=[Subfield("a", text)])
    assert evaluate(_marc(restricted, _856(("u", "http://a.example/")))).eligible is free


def test_sample_ejournals():
    """sample_data/ejournals.pica: the 12 `Obvl` titles are eligible with their one URL ($zLF)."""
    text = (SAMPLE_DATA / "ejournals.pica").read_text(encoding="utf-8")
    expected = {}
    for block in text.split("\n\n"):
        if "002@ $0Obvl" in block:
            expected[re.search(r"003@ \$0(\S+)", block).group(1)] = re.search(r"009Q \$u(\S+?)\$", block).group(1)
    records = list(read_pica(SAMPLE_DATA / "ejournals.pica"))
    found = {r.record["001"].data: evaluate(r.record) for r in records}
    assert len(found) == 22 and len(expected) == 12
    assert {ppn: d.urls[0] for ppn, d in found.items() if d.eligible} == expected
    assert all(len(d.urls) == 1 for d in found.values() if d.eligible)


def _pica_fields(raw: bytes) -> list[tuple[str, str]]:
    return [(f[:4].decode(), f[5:].decode("utf-8", "replace")) for f in raw.split(b"\x1e") if len(f) > 5]


def test_dnb_pica_records():
    """DNB's PICA+ (pica-rs testdaten.dat): the verdict read on MARC equals a direct reading of
    the PICA+ fields: 0500 `O`, licence-free by 0500 pos. 4 or 4085 $x/$z LF/KF/KW, URN or URL;
    the URL is the single one, or the LF-marked one of several."""
    path = shared("github/deutsche-nationalbibliothek+pica-rs/testdaten.dat")
    data = path.read_bytes()
    checked = eligible = 0
    for raw, decoded in zip([r for r in data.split(b"\n") if r.strip()], read_pica(path), strict=True):
        if not hasattr(decoded, "record") or decoded.record.leader[6] == "z":
            continue
        fields = _pica_fields(raw)
        type_code = next((v[2:] for t, v in fields if t == "002@"), "")
        urls = [(re.search(r"\x1fu([^\x1f]*)", v), v) for t, v in fields if t in ("009Q", "017C", "017D", "017H")]
        urls = [(m.group(1), v) for m, v in urls if m]
        codes = [set(re.findall(r"\x1f[xz]([^\x1f]*)", v)) for _, v in urls]
        free = type_code[3:4] == "l" or any(c & {"LF", "KF", "KW"} for c in codes)
        has_urn = any(t == "004U" for t, _ in fields)
        want = type_code[:1] == "O" and free and (bool(urls) or has_urn)
        decision = evaluate(decoded.record)
        assert decision.eligible == want, (raw[:80], decision)
        checked += 1
        if want:
            eligible += 1
            if len(urls) == 1:
                assert decision.urls == (urls[0][0].strip(),)
            elif urls:
                marked = [u for u, c in zip(urls, codes, strict=True) if "LF" in c]
                assert decision.urls[0] == (marked[0][0] if marked else urls[0][0]).strip()
    print(f"DNB: {checked} titles, {eligible} eligible")
    assert checked == 600 and eligible >= 40   # 100 online titles, 46 of them with an LF-marked URL


def test_hbz_marcxml_records():
    """hbz Alma MARCXML: 506 Open Access or 856 $z kostenfrei make titles eligible; the EZB
    URL always goes along; most online titles are licensed and stay out."""
    import glob

    folder = shared("github/hbz+lobid-resources/alma-fix")
    verdicts = {}
    for path in sorted(glob.glob(str(folder / "*.xml"))):
        for record in pymarc.parse_xml_to_array(path):
            if record is not None:
                verdicts[path.rsplit("/", 1)[1]] = evaluate(record)
    eligible = {name: d for name, d in verdicts.items() if d.eligible}
    assert len(eligible) >= 10 and sum(not d.eligible for d in verdicts.values()) > 150
    # 856 nbn-resolving ($x Resolving-System), the publisher's $z kostenfrei, and the EZB:
    assert eligible["990134555090206441.xml"].urls == ("http://www.haushalt.fm.nrw.de/daten/html/hhp.html",
                                                       "https://ezb.ur.de/?2182368-6")
    assert eligible["990133067580206441.xml"].urls == ("https://nwbib.de/",)


@pytest.mark.parametrize("relative", [
    "github/traject+traject/online_only.marc",                 # 007 cr, an ebook platform, licensed
    "github/traject+traject/manuscript_online_thesis.marc",    # "Available to US Hopkins community"
    "github/LibreCat+Catmandu-MARC/oschrift_me.mrc",           # 007 cr, OECD iLibrary
])
def test_licensed_online_marc_is_not_lfer(relative):
    records = [r for r in pymarc.MARCReader(shared(relative).open("rb"), to_unicode=True, force_utf8=True) if r]
    assert records and all(r.get_fields("856") for r in records)
    assert [evaluate(r).reason for r in records] == ["not licence-free"] * len(records)
