"""MARC-in-JSON equals pymarc's as_json; ISO 20775 holdings are valid against the schema in
tests/data/iso20775 and name libraries by ISIL where one is known."""

from __future__ import annotations

import json
from pathlib import Path

import pymarc
import pytest
from lxml import etree

from index.records.formats import parse
from index.records.isoholdings import ISO20775_NS, holdings_element, is_isil
from index.records.marcjson import to_marc_dict, to_marc_json
from index.records.model import Holding

REPO = Path(__file__).resolve().parents[3]
SCHEMA = etree.XMLSchema(etree.parse(str(REPO / "tests/data/iso20775/holdings.xsd")))
H = f"{{{ISO20775_NS}}}"


def sample_records() -> list[bytes]:
    with open(REPO / "sample_data/lib-a.mrc", "rb") as handle:
        records = [record.as_marc() for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True)
                   if record is not None]
    return records[:200]


def test_marc_in_json_is_pymarcs() -> None:
    records = sample_records()
    assert len(records) >= 100
    for marc in records:
        assert to_marc_dict(marc) == parse(marc).as_dict()
        assert json.loads(to_marc_json(marc)) == json.loads(parse(marc).as_json())


def test_marc_in_json_keeps_characters() -> None:
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field("245", ["1", "0"], [pymarc.Subfield("a", 'Müller "&" <Ä> й')]))
    text = to_marc_json(record.as_marc())
    assert 'Müller \\"&\\" <Ä> й'.encode() in text
    assert json.loads(text)["fields"][0]["245"]["subfields"] == [{"a": 'Müller "&" <Ä> й'}]


def test_iso_holdings_valid_and_grouped_by_library() -> None:
    holdings = [Holding("A", "Main Library", "QA76 .K5", "", "2nd floor", 2, True, "3100100000001"),
                Holding("A", "Law Library", "QA76 .K5 c.2", lendable=False),
                Holding("DE-7", url="https://example.org/e-book", source_id=""),
                Holding("B", "Stacks", "X 1")]
    root = holdings_element(holdings, {"A": "Library A", "B": "Library B"}, {"B": "DE-B1"})
    assert SCHEMA.validate(root), SCHEMA.error_log
    found = root.findall(H + "holding")
    assert [(h.findtext(f"{H}institutionIdentifier/{H}value"),
             h.findtext(f"{H}institutionIdentifier/{H}typeOrSource/{H}text"),
             h.findtext(H + "physicalLocation")) for h in found] == [
        ("A", "unikat library code", "Library A"), ("DE-7", "ISIL", "DE-7"), ("DE-B1", "ISIL", "Library B")]
    first = found[0].find(H + "holdingSimple")
    assert first.findtext(f"{H}copiesSummary/{H}copiesCount") == "3"
    copies = first.findall(H + "copyInformation")
    assert [c.findtext(H + "shelfLocator") for c in copies] == ["QA76 .K5", "QA76 .K5 c.2"]
    assert [c.findtext(f"{H}availabilityInformation/{H}status/{H}availabilityStatus") for c in copies] == ["3", "2"]
    assert copies[0].findtext(f"{H}pieceIdentifier/{H}value") == "3100100000001"
    assert "Reference only" in copies[1].findall(H + "note")[-1].text
    online = found[1].find(f"{H}holdingSimple/{H}copyInformation/{H}electronicLocator/{H}pointer")
    assert online.text == "https://example.org/e-book"


def test_the_schema_refuses_what_iso_20775_refuses() -> None:
    root = holdings_element([Holding("A", "Main", "QA1")], {}, {})
    simple = root.find(f"{H}holding/{H}holdingSimple")
    simple.find(f"{H}copiesSummary/{H}copiesCount").text = "0"      # positiveInteger
    assert not SCHEMA.validate(root)
    root = holdings_element([Holding("A", "Main", "QA1")], {}, {})
    holding = root.find(H + "holding")
    holding.append(holding.find(H + "physicalLocation"))            # out of order
    assert not SCHEMA.validate(root)
    assert not SCHEMA.validate(etree.Element(H + "holdings"))        # holding+


def test_no_holdings_is_an_error() -> None:
    with pytest.raises(ValueError):
        holdings_element([], {}, {})


@pytest.mark.parametrize(("text", "isil"), [("DE-7", True), ("DE-Frei85", True), ("US-DLC", True),
                                             ("A", False), ("ZDB", False), ("DE-", False), ("de-7", False)])
def test_isil_form(text: str, isil: bool) -> None:
    assert is_isil(text) is isil
