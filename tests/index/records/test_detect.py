"""Telling a delivery's format from its first records, and refusing files in none of ours."""

from __future__ import annotations

import gzip
from itertools import islice

import pytest
from conftest import SAMPLE_DATA, shared

from index.records.detect import HEAD, UnknownFormat, detect_format
from index.records.marc import iso2709_records


def _head(path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(HEAD)


def test_one_bad_leader_first_does_not_make_a_marc21_file_pica():
    bad = shared("github/marc4j+marc4j/bad_leaders_10_11.mrc").read_bytes()
    good = b"".join(raw.raw for raw in islice(iso2709_records((SAMPLE_DATA / "lib-a.mrc").read_bytes()), 10))
    assert detect_format(bad + good) == "marc21"
    assert detect_format(bad) == "marc21"   # its directory is sound: still ISO 2709


@pytest.mark.parametrize(("name", "fmt"), [
    ("github/solrmarc+solrmarc/uva_001_2000.mrc", "marc21"),
    ("github/solrmarc+solrmarc/hathi_000031056.mrc", "marc21"),     # local tags CID, DAT in the directory
    ("github/marc4j+marc4j/datos-20161010-slice.mrc", "marc21"),     # broken directory, sound leader
    ("github/solrmarc+solrmarc/specTestRecs.xml", "marcxml"),
    ("github/gbv+PICA-Data/pica.plain", "pica"),
    ("github/gbv+PICA-Data/pica.plus", "pica"),       # starts with digits, like a leader
    ("github/gbv+PICA-Data/dump.dat", "pica"),
    ("github/gbv+PICA-Data/pica.import", "pica"),
    ("github/gbv+PICA-Data/pica.binary", "pica"),
])
def test_real_files_are_told_apart(name, fmt):
    assert detect_format(_head(shared(name))) == fmt


@pytest.mark.parametrize(("name", "said"), [
    ("github/traject+traject/test_data.utf8.mrc.gz", "gzip"),
    ("github/gbv+PICA-Data/picaxml.xml", "PICA-XML"),
    ("github/gbv+PICA-Data/pica.xml", "PICA-XML"),
    ("github/gbv+PICA-Data/ppxml.xml", "PICA-XML"),
    ("github/traject+traject/sample-oai-pmh.xml", "root element <OAI-PMH>"),
    ("pypi/smc.bibencodings-0.1/record_0.mab", "MAB2"),
])
def test_files_in_no_format_we_read_are_named(name, said):
    with pytest.raises(UnknownFormat, match=said):
        detect_format(_head(shared(name)))


def test_text_and_binary_are_named(tmp_path):
    readme = (SAMPLE_DATA.parent / "README.md").read_bytes()
    with pytest.raises(UnknownFormat, match=r"a text file \(it begins '# "):
        detect_format(readme)
    with pytest.raises(UnknownFormat, match="gzip"):
        detect_format(gzip.compress((SAMPLE_DATA / "lib-a.mrc").read_bytes()))
    with pytest.raises(UnknownFormat, match="binary data"):
        detect_format(bytes(range(256)) * 4)
    assert detect_format(b"") == "marc21"   # an empty delivery: no records, no error
