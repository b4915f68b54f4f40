"""MARCXML written straight from stored ISO 2709 bytes equals what pymarc + lxml give."""

from __future__ import annotations

import pymarc
import pytest
from conftest import SAMPLE_DATA, shared
from lxml import etree

from index.records.formats import MARCXML_NS, _whole_record_marcxml, marcxml_tree, parse, to_marcxml


def _stored(records) -> list[bytes]:
    """Records as the store keeps them: UTF-8 ISO 2709 written by pymarc."""
    result = []
    for record in records:
        if record is not None:
            record.leader = str(record.leader)[:9] + "a" + str(record.leader)[10:]
            result.append(record.as_marc())
    return result


def _by_pymarc(marc: bytes) -> bytes:
    """The reference: a pymarc Record built into an lxml tree field by field."""
    m = f"{{{MARCXML_NS}}}"
    record = parse(marc)
    root = etree.Element(m + "record", nsmap={None: MARCXML_NS})
    etree.SubElement(root, m + "leader").text = _safe(str(record.leader))
    for field in record.fields:
        if field.is_control_field():
            etree.SubElement(root, m + "controlfield", tag=field.tag).text = _safe(field.data or "")
            continue
        element = etree.SubElement(root, m + "datafield", tag=field.tag, ind1=field.indicator1 or " ",
                                   ind2=field.indicator2 or " ")
        for subfield in field.subfields:
            etree.SubElement(element, m + "subfield", code=subfield.code).text = _safe(subfield.value)
    return etree.tostring(root, encoding="utf-8")


def _safe(text: str) -> str:
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else " " for c in text)


def _sample() -> list[bytes]:
    with open(SAMPLE_DATA / "lib-a.mrc", "rb") as handle:
        return _stored(pymarc.MARCReader(handle, to_unicode=True, force_utf8=True))


def test_sample_records_render_byte_for_byte_as_pymarc_and_lxml():
    records = _sample()
    assert len(records) > 100
    for marc in records:
        assert to_marcxml(marc) == _by_pymarc(marc)


@pytest.mark.parametrize("name", ["github/solrmarc+solrmarc/specTestRecs.xml"])
def test_records_with_many_scripts_render_as_pymarc_and_lxml(name):
    for marc in _stored(pymarc.parse_xml_to_array(str(shared(name)))):
        assert to_marcxml(marc) == _by_pymarc(marc)


def test_markup_and_control_characters_are_escaped_as_lxml_does():
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader("00000nam a2200000 a 4500")
    record.add_field(pymarc.Field(tag="001", data="a&b<c>"))
    record.add_field(pymarc.Field(tag="245", indicators=["1", "0"], subfields=[
        pymarc.Subfield("a", 'Tom & Jerry <"quoted"> \x07bell\r'), pymarc.Subfield("c", "")]))
    marc = record.as_marc()
    assert to_marcxml(marc) == _by_pymarc(marc)
    assert marcxml_tree(marc).find("{http://www.loc.gov/MARC21/slim}controlfield").text == "a&b<c>"


def test_odd_indicators_and_codes_take_the_field_by_field_path_with_the_same_result():
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader("00000nam a2200000 a 4500")
    record.add_field(pymarc.Field(tag="001", data="x\x1fy"))
    record.add_field(pymarc.Field(tag="245", indicators=["&", '"'], subfields=[
        pymarc.Subfield("<", "odd code"), pymarc.Subfield("a", "plain")]))
    marc = record.as_marc()
    assert _whole_record_marcxml(marc) is None
    assert to_marcxml(marc) == _by_pymarc(marc)
