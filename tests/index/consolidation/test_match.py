"""Match elements and match decisions on real records: the seed's example, editions, carriers,
translations, and the hand-read labels of two real sets (bench/labels/)."""

from __future__ import annotations

import gzip
from collections import defaultdict
from itertools import combinations

import pymarc
import pytest
from conftest import REPO, shared
from pymarc import Field, Indicators, Subfield

from index.config import DEFAULT_CONFIG, ConfigError, parse_config
from index.consolidation.clusters import candidate_pairs, components
from index.consolidation.keys import MatchElements, blocking_keys, elements, title_key
from index.consolidation.match import MatchRules, compare
from index.records.marc import read_marc21, read_marcxml

LABELS = REPO / "bench" / "labels"


def _record(leader: str, control: dict[str, str], fields: list[tuple[str, str, list[tuple[str, str]]]]) -> pymarc.Record:
    record = pymarc.Record(force_utf8=True, leader=leader)
    for tag, data in control.items():
        record.add_field(Field(tag=tag, data=data))
    for tag, indicators, subfields in fields:
        record.add_field(Field(tag=tag, indicators=Indicators(*indicators),
                               subfields=[Subfield(code, value) for code, value in subfields]))
    return record


def melvyl_example() -> tuple[pymarc.Record, pymarc.Record]:
    """The two short records of the seed (002, 5.2.2.2): the same book from RG and from LC."""
    rg = _record("00000cam  2200000 i 4500", {"001": "428056", "008": "780314s1977    xx            000 0 eng  "}, [
        ("020", "  ", [("a", "0819103632")]),
        ("100", "10", [("a", "May, Harry S.")]),
        ("245", "10", [("a", "Francisco Franco :"), ("b", "the Jewish connection /"), ("c", "Harry S. May.")]),
        ("260", "0 ", [("a", "Washington, D. C. :"), ("b", "University Press of America,"), ("c", "c1978.")]),
        ("300", "  ", [("a", "vi, 188 p. :"), ("b", "ill., facsims., geneal. tables ;"), ("c", "22 cm.")]),
    ])
    lc = _record("00000cam  2200000 a 4500", {"001": "51386", "008": "821126s1977    dcu" + " " * 6 + "b    000 0 eng  "}, [
        ("010", "  ", [("a", "82197912")]),
        ("020", "  ", [("a", "0819103632 (pbk.)")]),
        ("100", "10", [("a", "May, Harry S.")]),
        ("245", "10", [("a", "Francisco Franco--the Jewish connection /"), ("c", "Harry S. May.")]),
        ("260", "0 ", [("a", "Washington, D. C. :"), ("b", "University Press of America,"), ("c", "c1978.")]),
        ("300", "  ", [("a", "vi, 188 p. :"), ("b", "ill., genealogical tables ;"), ("c", "22 cm.")]),
    ])
    return rg, lc


def test_the_seed_example_gives_the_seeds_normalized_data_and_matches():
    rg, lc = (elements(r) for r in melvyl_example())
    assert (rg.lccn, lc.lccn) == ((), ("82197912",))
    assert rg.isbn == lc.isbn == ("9780819103635",)
    assert rg.title == lc.title == "francisco franco the jewish connection"
    assert rg.year == lc.year == 1977 and rg.edition == lc.edition == ""
    assert (rg.country, lc.country) == ("", "dcu")
    assert rg.author == lc.author == "may harry s"
    assert rg.pages == lc.pages == 188
    assert rg.publisher == lc.publisher == "university press of america"
    verdict = compare(rg, lc)
    assert verdict.matched and verdict.step == "pass 1"
    assert "same isbn 9780819103635" in verdict.explain() and "franciscofranco" in verdict.explain()
    assert set(blocking_keys(rg)) & set(blocking_keys(lc))


def test_blocking_keys_stay_inside_the_bibliographic_type():
    rg, _lc = melvyl_example()
    score = pymarc.Record(data=rg.as_marc(), to_unicode=True, force_utf8=True)
    score.leader = str(score.leader)[:6] + "cm" + str(score.leader)[8:]
    book, music = elements(rg), elements(score)
    assert not set(blocking_keys(book)) & set(blocking_keys(music))
    assert compare(book, music).step == "guard"
    assert title_key("francisco franco the jewish") == "franciscofranco"


@pytest.fixture(scope="module")
def pride() -> list[pymarc.Record]:
    data = shared("github/marc4j+marc4j/pride-and-prejudice-fixed.mrc").read_bytes()
    return [item.record for item in read_marc21(data)]


@pytest.fixture(scope="module")
def mann() -> list[pymarc.Record]:
    data = gzip.decompress(shared("github/pkiraly+qa-catalogue/thomas-mann.xml.gz").read_bytes())
    return [item.record for item in read_marcxml(data)]


@pytest.mark.parametrize("a, b, reason", [
    (85, 88, "different edition"),     # Norton critical edition, 2nd ed. 1993 / 3rd ed. 2001
    (149, 241, "am ebook / am book"),  # Courage Books 1996: [electronic resource] / print
    (156, 40, "different carrier"),    # Musson [191-?] microfiches / Oxford 1990 print
    (212, 214, "pass 2"),              # Raintree 1981 / Steck-Vaughn 1991: same LCCN and ISBN, ten years apart
    (74, 75, "pass 2"),                # Macmillan Education 1982: same text, another ISBN
])
def test_different_editions_carriers_and_printings_stay_apart(pride, a, b, reason):
    verdict = compare(elements(pride[a]), elements(pride[b]))
    assert not verdict.matched
    assert reason in verdict.explain() or verdict.step == reason


def test_a_volume_of_a_set_does_not_match_the_set(pride):
    whole = pymarc.Record(data=pride[41].as_marc(), to_unicode=True, force_utf8=True)
    volume = pymarc.Record(data=whole.as_marc(), to_unicode=True, force_utf8=True)
    volume.get("245").add_subfield("n", "Vol. 2.")
    assert compare(elements(whole), elements(pride[42])).matched
    verdict = compare(elements(whole), elements(volume))
    assert not verdict.matched and "different part" in verdict.explain()


def test_compare_is_symmetric(pride):
    profiles = {n: elements(r) for n, r in enumerate(pride)}
    pairs = list(candidate_pairs({n: blocking_keys(p) for n, p in profiles.items()}))
    assert len(pairs) > 300
    for a, b in pairs:
        one, two = compare(profiles[a], profiles[b]), compare(profiles[b], profiles[a])
        assert (one.matched, one.step, one.score) == (two.matched, two.step, two.score)


def _label_pairs(name: str) -> set[tuple[int, int]]:
    groups = defaultdict(list)
    for line in (LABELS / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            number, group = line.split("\t")[:2]
            groups[group].append(int(number))
    return {pair for g in groups.values() for pair in combinations(sorted(g), 2)}


@pytest.mark.parametrize("name, label_file", [("pride", "pride-and-prejudice.tsv"), ("mann", "thomas-mann.tsv")])
def test_hand_labelled_sets_are_merged_precisely(request, name, label_file):
    """Precision 1.0, no merge across languages, and recall at least what bench/consolidate.py reports."""
    records = request.getfixturevalue(name)
    profiles = {n: elements(r) for n, r in enumerate(records)}
    merged = {pair for g in components(profiles) for pair in combinations(g, 2)}
    gold = _label_pairs(label_file)
    assert merged - gold == set()
    assert len(merged & gold) / len(gold) >= 0.88
    # A record that states no language (blank 008) is not in another language.
    languages = [(profiles[a].language, profiles[b].language) for a, b in merged]
    assert not [(x, y) for x, y in languages if x and y and x != y]


def test_translations_are_never_merged(mann):
    profiles = [elements(r) for r in mann]
    languages = defaultdict(set)
    for p in profiles:
        languages[title_key(p.title)].add(p.language)
    translated = [p for p in profiles if p.author]
    assert len({p.language for p in translated}) > 10
    for a, b in combinations(translated[:120], 2):
        if a.language and b.language and a.language != b.language:
            assert not compare(a, b).matched


def test_profiles_survive_the_store_as_json(pride):
    for record in pride[:50]:
        profile = elements(record)
        assert MatchElements.from_json(profile.to_json()) == profile


def test_rules_come_from_unikat_toml():
    assert parse_config(DEFAULT_CONFIG).consolidation.rules == MatchRules()
    config = parse_config("[consolidation]\nthreshold = 2.5\n[consolidation.agree]\nisbn = 1.0\n")
    assert config.consolidation.rules.threshold == 2.5 and config.consolidation.rules.agree["isbn"] == 1.0
    assert config.consolidation.rules.agree["title"] == MatchRules().agree["title"]
    assert parse_config("[consolidation]\nenabled = false\n").consolidation.enabled is False
    for bad in ("[consolidation.agree]\nshoe_size = 1\n", "[consolidation]\nthreshold = -1\n",
                "[consolidation.disagree]\ntitle = \"much\"\n", "[consolidation]\nenabled = 1\n"):
        with pytest.raises(ConfigError, match="consolidation"):
            parse_config(bad)
