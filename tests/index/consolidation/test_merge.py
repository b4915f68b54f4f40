"""The master choice and the merged display record, on the sample catalog's real A/B copies.

Library B catalogued the titles it shares with A a little differently (sample_data/README.md):
an extra local subject (title number mod 4 = 0), 245 $c punctuation (1), `pages` for `p.` (2),
nothing (3). Only the first is new information; the merged record must carry it with `$5 B`
and must not repeat what differs only in punctuation or wording of the extent.
"""

from __future__ import annotations

import pymarc
import pytest
from conftest import SAMPLE_DATA
from pymarc import Field, Indicators, Subfield

from index.consolidation.merge import Member, choose_master, merged_record
from index.records.marc import read_marc21


@pytest.fixture(scope="module")
def shared_copies() -> list[tuple[pymarc.Record, pymarc.Record]]:
    """(A's record, B's record) of sample titles 800-807 (B's first eight, A's 801st-808th)."""
    a = [item.record for item in read_marc21((SAMPLE_DATA / "lib-a.mrc").read_bytes())]
    b = [item.record for item in read_marc21((SAMPLE_DATA / "lib-b.mrc").read_bytes())]
    return [(a[800 + n], b[n]) for n in range(8)]


def _member(record: pymarc.Record, library: str, number: int, quality: int = 50) -> Member:
    return Member(number, library, f"{library}-ILS", record.get("001").data, quality, record.as_marc())


def _parse(marc: bytes) -> pymarc.Record:
    return pymarc.Record(data=marc, to_unicode=True, force_utf8=True)


def _fields(record: pymarc.Record, tag: str) -> list[str]:
    return [str(f) for f in record.get_fields(tag)]


def test_a_single_record_is_its_own_display(shared_copies):
    a, _b = shared_copies[0]
    assert merged_record([_member(a, "A", 1)]) == a.as_marc()


def test_another_subject_is_added_with_its_source(shared_copies):
    a, b = shared_copies[0]                       # title 800: B added a local 650
    extra = [f for f in b.get_fields("650") if str(f) not in _fields(a, "650")]
    assert len(extra) == 1
    merged = _parse(merged_record([_member(a, "A", 1), _member(b, "B", 2)]))
    added = [f for f in merged.get_fields("650") if f.get("5") == "B"]
    assert [f.get("a") for f in added] == [extra[0].get("a")]
    assert added[0].indicator2 == "4"
    assert len(merged.get_fields("245")) == 1 and merged.get("001").data == a.get("001").data


@pytest.mark.parametrize("number", [1, 2, 3])
def test_punctuation_and_extent_wording_add_nothing_but_the_record_number(shared_copies, number):
    a, b = shared_copies[number]
    merged = _parse(merged_record([_member(a, "A", 1), _member(b, "B", 2)]))
    original = {str(f) for f in a.get_fields()}
    added = [str(f) for f in merged.get_fields() if str(f) not in original]
    assert added == [f"=035  \\\\$a(B-ILS){b.get('001').data}$5B"]


def test_other_name_form_and_other_title_become_added_entries(shared_copies):
    a, b = shared_copies[1]
    b = _parse(b.as_marc())
    name = b.get("100") or b.get("110")
    assert name is not None
    name.subfields = [Subfield("a", "Otherform, Namegiven,")] + [s for s in name.subfields if s.code != "a"]
    b.get("245").subfields = [Subfield("a", "A different title proper :"), Subfield("b", "as B gives it /")]
    merged = _parse(merged_record([_member(a, "A", 1), _member(b, "B", 2)]))
    assert len(merged.get_fields("100", "110")) == 1
    added_names = [f for f in merged.get_fields("700", "710") if f.get("5") == "B"]
    assert [f.get("a") for f in added_names] == ["Otherform, Namegiven,"]
    titles = [f for f in merged.get_fields("246") if f.get("5") == "B"]
    assert len(titles) == 1 and titles[0].indicators == Indicators("1", " ")
    assert titles[0].get("a") == "A different title proper :" and titles[0].get("c") is None


def test_master_is_the_best_quality_then_the_oldest(shared_copies):
    a, b = shared_copies[6]
    older, newer = _member(a, "A", 1, quality=50), _member(b, "B", 2, quality=50)
    assert choose_master([newer, older]) == older
    better = _member(b, "B", 2, quality=55)
    assert choose_master([older, better]) == better
    merged = _parse(merged_record([older, better]))
    assert merged.get("001").data == b.get("001").data
    assert _fields(merged, "035")[-1].endswith(f"(A-ILS){a.get('001').data}$5A")


def test_a_merged_record_stays_within_iso2709_limits(shared_copies):
    a, b = shared_copies[5]
    a, b = _parse(a.as_marc()), _parse(b.as_marc())
    for number in range(180):
        for record, library in ((a, "A"), (b, "B")):
            record.add_ordered_field(Field(tag="500", indicators=Indicators(" ", " "),
                                           subfields=[Subfield("a", f"{library} note {number} " + "x" * 300)]))
    assert len(a.as_marc()) < 99_999 and len(b.as_marc()) < 99_999
    merged = merged_record([_member(a, "A", 1), _member(b, "B", 2)])
    assert len(merged) <= 99_999
    record = _parse(merged)
    assert record.get("001").data == a.get("001").data
    assert 0 < sum(1 for f in record.get_fields("500") if f.get("5") == "B") < 180
