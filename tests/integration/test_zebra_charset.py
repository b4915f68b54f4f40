"""bench/common.py's Zebra set-up keeps UTF-8 records UTF-8: a record with diacritics comes out
of Zebra over SRU (MARCXML, converted by YAZ) as it went in, and its non-ASCII title word finds
it. Zebra's grs.marc takes ISO 2709 as ISO-8859-1 unless its .abs file says otherwise, and the
MARCXML came out converted twice; the records (LC, the samples) have leader/09 `a`, UTF-8."""

from __future__ import annotations

import urllib.parse
import urllib.request

import pymarc
import pytest
from conftest import SAMPLE_DATA
from zebraserver import start_zebra, stop_zebra

pytestmark = pytest.mark.integration


def _word(record: pymarc.Record) -> str:
    """The first word of 245 $a with a character beyond ASCII ("" when none has)."""
    words = (word.strip(".,:;/=[]()'\"") for word in (record["245"]["a"] or "").split())
    return next((word for word in words if len(word) > 2 and not word.isascii() and word.isprintable()), "")


def _with_diacritics(count: int) -> list[pymarc.Record]:
    with (SAMPLE_DATA / "lib-a.mrc").open("rb") as source:
        records = [record for record in pymarc.MARCReader(source, to_unicode=True, force_utf8=True)
                   if record["245"] is not None and _word(record)]
    assert all(record.leader[9] == "a" for record in records)   # the file says UTF-8, and is
    return records[:count]


def test_a_record_with_diacritics_comes_out_of_zebra_over_sru_as_it_went_in(tmp_path) -> None:
    records = _with_diacritics(20)
    assert len(records) == 20
    (tmp_path / "records.mrc").write_bytes(b"".join(record.as_marc() for record in records))
    port, process = start_zebra(tmp_path, tmp_path / "records.mrc")
    try:
        for record in records[:5]:
            title = record["245"]
            word = _word(record)
            query = urllib.parse.urlencode({"version": "1.2", "operation": "searchRetrieve", "maximumRecords": "20",
                                            "query": f'dc.title="{word}"', "recordSchema": "marcxml"})
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/Default?{query}", timeout=30) as answer:
                body = answer.read()
            found = pymarc.parse_xml_to_array(_records_of(body))
            print(f"{record['001'].data}: {word!r} -> {len(found)} records")
            same = [item for item in found if item["001"].data == record["001"].data]
            assert same, f"title word {word!r} did not find record {record['001'].data}"
            assert same[0]["245"].value() == title.value()
    finally:
        stop_zebra(process)


def _records_of(sru: bytes):
    """The MARCXML records of an SRU searchRetrieve answer, as one collection."""
    from io import BytesIO

    from lxml import etree

    tree = etree.fromstring(sru)
    collection = etree.Element("{http://www.loc.gov/MARC21/slim}collection")
    for record in tree.iter("{http://www.loc.gov/MARC21/slim}record"):
        collection.append(record)
    return BytesIO(etree.tostring(collection))
