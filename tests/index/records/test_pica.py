"""Tests of the PICA+ reader on real PICA+ files from other projects (../shared/data)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from index.records.model import LoadProblem, SourceRecord
from index.records.pica import (
    PicaSyntaxError,
    detect_pica_serialization,
    parse_pica_record,
    pica_to_marc,
    read_pica,
)

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "github"
PICA_RS = DATA / "deutsche-nationalbibliothek+pica-rs"
GBV = DATA / "gbv+PICA-Data"
METAFACTURE = DATA / "metafacture+metafacture-core"
QA = DATA / "pkiraly+qa-catalogue"
SAMPLE = Path(__file__).resolve().parents[3] / "sample_data" / "ejournals.pica"


def _bytes(path: Path) -> bytes:
    if not path.exists():
        pytest.skip(f"{path} absent")
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _records(path: Path, **options: str) -> list[SourceRecord | LoadProblem]:
    return list(read_pica(_bytes(path), **options))


def _good(items: list[SourceRecord | LoadProblem]) -> list[SourceRecord]:
    problems = [item for item in items if isinstance(item, LoadProblem)]
    assert not problems, [(p.position, p.reason) for p in problems[:5]]
    return [item for item in items if isinstance(item, SourceRecord)]


# -- serializations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"003@ \x1f012345\x1e021A \x1faTitel\x1e\n", "normalized"),
        (b"\x1d\n\x1e003@ \x1f012345\n\x1e021A \x1faTitel\n", "import"),
        (b"003@ $012345\n021A $aTitel\n", "plain"),
    ],
)
def test_detect_serialization(text: bytes, expected: str) -> None:
    assert detect_pica_serialization(text) == expected


@pytest.mark.parametrize(
    ("text", "subfields"),
    [
        ("021A $aEin Buch$hzum Lesen", (("a", "Ein Buch"), ("h", "zum Lesen"))),
        ("145Z/40 $a$$$btest$$$c...", (("a", "$"), ("b", "test$"), ("c", "..."))),
        ("021A $aPreis: 5 $$US$dneu", (("a", "Preis: 5 $US"), ("d", "neu"))),
        ("021A $aA$$b", (("a", "A$b"),)),
        # a value of many escaped dollars (each piece was added to the value by copying it)
        ("021A $a" + "x$$" * 100_000 + "$hy", (("a", "x$" * 100_000), ("h", "y"))),
    ],
)
def test_plain_dollar_escapes(text: str, subfields: tuple[tuple[str, str], ...]) -> None:
    record = parse_pica_record("003@ $01\n" + text, "plain")
    field = record.title[-1] if not record.locals else record.locals[0].fields[-1]
    assert field.subfields == subfields


def test_levels_locals_and_copies() -> None:
    text = (
        "003@ $0123\n021A $aTitel\n101@ $a20$cHv 14\n201B/01 $001-01-20\n203@/01 $0111\n"
        "209A/01 $aA 1$x00\n203@/02 $0222\n209A/02 $aA 2$x00\n101@ $a70\n203@/01 $0333\n"
    )
    record = parse_pica_record(text)
    assert [f.tag for f in record.title] == ["003@", "021A"]
    assert [len(local.copies) for local in record.locals] == [2, 1]
    assert [c.occurrence for c in record.locals[0].copies] == ["01", "02"]
    assert record.locals[0].copies[0].fields[1].value("0") == "111"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("03@ $0123", "tag"),
        ("003@ 0123", "subfields"),
        ("003@ $", "subfields"),
        ("003@ \x1f0123\x1e021A \x1faTit", "cut off"),
        ("003@ \x1f0123\x1e021A \x1f\x1e", "code"),
    ],
)
def test_malformed_records_raise_syntax_error(text: str, reason: str) -> None:
    with pytest.raises(PicaSyntaxError, match=reason):
        parse_pica_record(text)


def test_gbv_same_record_in_every_serialization_gives_same_marc() -> None:
    forms = ["pica.plain", "pica.plus", "pica.binary", "pica.import"]
    results = {name: _good(_records(GBV / name)) for name in forms}
    reference = results["pica.plain"]
    assert len(reference) == 2
    assert reference[0].record["245"]["a"] == "我国民事立法的回顾与展望"
    for name in forms[1:]:
        assert [r.record.as_marc() for r in results[name]] == [r.record.as_marc() for r in reference], name
        assert [r.holdings for r in results[name]] == [r.holdings for r in reference], name


def test_pica_rs_normalized_and_plain_agree() -> None:
    plain = _good(_records(PICA_RS / "ada.plain"))
    for name in ("ada.dat", "ada.bin", "ada.import"):
        other = _good(_records(PICA_RS / name))
        assert [r.record.as_marc() for r in other] == [r.record.as_marc() for r in plain], name


# -- whole files -----------------------------------------------------------------------------


def test_testdaten_all_900_records_read() -> None:
    records = _good(_records(PICA_RS / "testdaten.dat"))
    assert len(records) == 900
    kinds = {r.record.leader[6] for r in records}
    assert "z" in kinds and "a" in kinds  # titles and GND authorities mixed
    titles = [r for r in records if r.record.leader[6] != "z"]
    assert all(r.record.get("001").data and r.record.get("008") for r in titles)
    assert sum(1 for r in titles if r.record.get("245")) >= 0.95 * len(titles)
    assert [r.position for r in records] == list(range(1, 901))
    data = _bytes(PICA_RS / "testdaten.dat")
    for r in records[:50]:
        assert data[r.offset : r.offset + len(r.raw)] == r.raw


def test_gnd_authorities_are_kept_and_marked() -> None:
    records = _good(_records(METAFACTURE / "gnd-sample.pica"))
    assert len(records) == 100
    assert all(r.record.leader[6] == "z" and not r.holdings for r in records)
    assert all(r.record.get_fields("100", "110", "111", "130", "150", "151") for r in records[:20])


def test_bgb_example_holdings_of_all_56_libraries() -> None:
    (record,) = _good(_records(GBV / "bgb.example"))
    assert record.record["245"]["a"] == "Bürgerliches Gesetzbuch"
    assert len(record.holdings) == 353
    assert len({h.library for h in record.holdings}) == 56
    assert all(h.source_id for h in record.holdings)
    sbb = [h for h in record.holdings if h.library == "1a"]
    assert sbb and sbb[0].call_number == "HB 10 Ec 549"


def test_zdb_serials_have_their_holdings() -> None:
    records = _good(_records(METAFACTURE / "10.pica"))
    assert len(records) == 10
    data = _bytes(METAFACTURE / "10.pica")
    for record in records:
        assert record.record.leader[7] == "s"
        assert len(record.holdings) == record.raw.count(b"\x1e203@/")
        assert all(h.library and h.source_id for h in record.holdings)
        assert record.raw in data
    faunistik = records[1]
    assert faunistik.record["022"]["a"] == "0070-7252"
    assert faunistik.record["362"]["a"].startswith("1.1963/66 - 26.2008")
    assert faunistik.record["776"]["w"] == "(PICA)979605725"
    potsdamer = next(h for h in faunistik.holdings if h.library == "1a")
    assert potsdamer.call_number == "Zsn 82567"
    assert potsdamer.note.startswith("19.1993/94")


def test_k10plus_plain_holdings_use_sigel() -> None:
    records = _good(_records(QA / "k10plus-sample.pica"))
    assert len(records) == 6
    first = records[0]
    assert [h.library for h in first.holdings] == ["84", "89", "Hv 14", "Sp 3"]
    assert first.record["003"].data == "DE-627"
    magazine = first.holdings[1]
    assert (magazine.location, magazine.call_number, magazine.lendable) == ("Haus2", "ZA 5253(1985,3)", False)


def test_every_real_pica_file_reads_without_exception() -> None:
    files = [
        *PICA_RS.glob("*.dat"), PICA_RS / "testdaten.dat.old", *GBV.glob("*.dat"), GBV / "pica.plus",
        *METAFACTURE.glob("*.pica"), METAFACTURE / "Tp-200.pica.gz", *QA.glob("*.pica"), *QA.glob("*.dat"),
    ]
    if not PICA_RS.exists():
        pytest.skip(f"{PICA_RS} absent")
    for path in files:
        items = list(read_pica(_bytes(path)))
        assert items, path
        bad = [i for i in items if isinstance(i, LoadProblem)]
        assert len(bad) <= 1 or path.name == "dump.dat", (path, [b.reason for b in bad[:3]])


# -- mapping details -------------------------------------------------------------------------


def test_mapping_of_an_online_journal() -> None:
    text = "\n".join([
        "002@ $0Obvl",
        "003@ $01234567X",
        "005A $01432-119X",
        "004U $0urn:nbn:de:bsz:25-opus-57751",
        "010@ $aeng",
        "011@ $a1996",
        "021A $aThe @Histochemistry and cell biology$hSpringer",
        "031@ $a106.1996 -",
        "033A $pBerlin$pHeidelberg$nSpringer",
        "009Q $uhttp://link.springer.de/journals/00418$xH$zLF",
        "039D $aDruckausg.$9010711015$YHistochemistry and cell biology",
        "101@ $a25$cWWW 1",
        "203@/01 $0555",
        "209R/01 $uhttp://ezb.example/?42",
        "209B/01 $aElektronische Zeitschrift$x32",
        "209B/01 $aCampuslizenz$x43",
    ])
    marc, holdings = pica_to_marc(parse_pica_record(text))
    assert marc.leader[6:8] == "as" and marc["007"].data == "cr"
    assert marc["008"].data[7:11] == "1996" and marc["008"].data[35:38] == "eng"
    assert marc["245"].indicators == ("0", "4") and marc["245"]["a"] == "The Histochemistry and cell biology"
    assert marc["022"]["a"] == "1432-119X"
    assert (marc["024"]["a"], marc["024"]["2"]) == ("urn:nbn:de:bsz:25-opus-57751", "urn")
    assert marc["856"].indicators == ("4", "0")
    assert (marc["856"]["u"], marc["856"]["z"]) == ("http://link.springer.de/journals/00418", "LF")
    assert marc["264"].get_subfields("a", "b", "c") == ["Berlin", "Heidelberg", "Springer", "1996-"]
    assert marc["362"]["a"] == "106.1996 -"
    assert marc["776"]["i"] == "Druckausg." and marc["776"]["w"] == "(PICA)010711015"
    assert marc["506"]["f"] == "Unrestricted online access"
    (holding,) = holdings
    assert holding.library == "WWW 1"
    assert holding.url == "http://ezb.example/?42"
    assert holding.note == "Elektronische Zeitschrift; Campuslizenz"
    assert holding.source_id == "555"


def test_names_main_entry_and_subjects() -> None:
    text = "\n".join([
        "003@ $01",
        "021A $aPortraits$hWolfgang Tillmans",
        "028A $9119255170$7Tp1$Vpiz$Agnd$0119255170$E1968$dWolfgang$aTillmans$BVerfasser$4aut",
        "029F $aReise Know-How Verlag$BVerlag$4pbl",
        "041A $9040468402$7Ts1$Vsaz$Agnd$04046840-9$aPorträtfotografie",
        "041A/01 $af Bildband",
        "044K $bgnd$7Tg1$Agnd$04002890-2$aArgentinien",
    ])
    marc, holdings = pica_to_marc(parse_pica_record(text))
    assert marc["100"].get_subfields("a", "d", "4", "0") == ["Tillmans, Wolfgang", "1968-", "aut", "(DE-588)119255170"]
    assert marc["245"].indicators[0] == "1"
    assert marc["710"]["a"] == "Reise Know-How Verlag"
    assert [f["a"] for f in marc.get_fields("650")] == ["Porträtfotografie", "Bildband"]
    assert marc["651"]["a"] == "Argentinien" and marc["651"].indicators == (" ", "7")
    assert holdings == []


def test_unmapped_descriptive_fields_are_light_problems() -> None:
    (item,) = read_pica(b"003@ $01\n021A $aTitel\n037G $aReproduktion\n045E $a830\n")
    assert isinstance(item, SourceRecord)
    assert item.problems == ["PICA field 037G not mapped"]


def test_library_argument_is_the_fallback_holding_library() -> None:
    text = b"003@ \x1f01\x1e021A \x1faT\x1e201B/01 \x1f001-01-20\x1e203@/01 \x1f0777\x1e\n"
    (item,) = read_pica(text, library="C")
    assert isinstance(item, SourceRecord)
    assert [(h.library, h.source_id) for h in item.holdings] == [("C", "777")]


# -- broken input ----------------------------------------------------------------------------


def test_truncated_file_rejects_only_the_cut_record() -> None:
    data = _bytes(PICA_RS / "testdaten.dat")
    cut = data[: len(data) // 2]
    items = list(read_pica(cut))
    assert all(isinstance(i, SourceRecord) for i in items[:-1])
    assert isinstance(items[-1], LoadProblem) and "cut off" in items[-1].reason
    assert cut[items[-1].offset :] == items[-1].raw


def test_bad_bytes_reject_one_record() -> None:
    data = bytearray(_bytes(PICA_RS / "testdaten.dat"))
    third = [i for i, b in enumerate(data) if b == 0x0A][1] + 30
    data[third] = 0xFF
    items = list(read_pica(bytes(data)))
    bad = [i for i in items if isinstance(i, LoadProblem)]
    assert len(items) == 900 and [b.position for b in bad] == [3]
    assert "UTF-8" in bad[0].reason


def test_record_without_ppn_is_rejected() -> None:
    (item,) = read_pica(b"021A $aOhne PPN\n")
    assert isinstance(item, LoadProblem) and "PPN" in item.reason


@pytest.mark.parametrize(
    "garbage",
    [
        b"", b"\x00\x01\x02\xff\xfe", b"\x1e\x1f\x1d\x1e\x1f", b"<?xml version='1.0'?><x/>", b"$$$$\n\n$a\n",
        bytes(range(256)),
    ],
)
def test_garbage_gives_load_problems_never_an_exception(garbage: bytes) -> None:
    items = list(read_pica(garbage))
    assert all(isinstance(i, LoadProblem) for i in items)


def test_mutated_real_data_never_raises() -> None:
    data = _bytes(METAFACTURE / "10.pica")[:40000] + _bytes(GBV / "bgb.example")[:20000]
    rng = random.Random(20240501)
    for _ in range(40):
        mutated = bytearray(data)
        for _ in range(20):
            mutated[rng.randrange(len(mutated))] = rng.choice(b"\x1d\x1e\x1f\n$@/ a0\xff\xc3")
        for item in read_pica(bytes(mutated)):
            assert isinstance(item, (SourceRecord, LoadProblem))
            if isinstance(item, SourceRecord):
                item.record.as_marc()


# -- the shipped sample ----------------------------------------------------------------------


def test_sample_ejournals_are_read() -> None:
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} absent")
    records = _good(list(read_pica(SAMPLE)))
    assert len(records) >= 15
    assert all(not r.problems for r in records), [r.problems for r in records if r.problems]
    assert all(r.record.leader[6:8] == "as" and r.record.get("007").data == "cr" for r in records)
    assert all(r.record.get("022") and r.record.get("856") for r in records)
    assert all(r.holdings for r in records)
    libraries = {h.library for r in records for h in r.holdings}
    assert len(libraries) >= 3
