"""`iso2709.read_utf8`, the fast path for delivered UTF-8 records, against pymarc (the reference):
where it takes a record it gives the Record pymarc gives, on every ISO 2709 file we have and on
damaged copies of real records; everything else it leaves to pymarc."""

from __future__ import annotations

import contextlib
import io
import logging
import random
import warnings
from pathlib import Path

import pymarc
import pytest

from index.records import iso2709
from index.records.marc import decode_iso2709, iso2709_records
from index.records.model import LoadProblem, RawRecord
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]


def _pymarc(chunk: bytes) -> pymarc.Record | None:
    """What pymarc reads (UTF-8, strict), or None where it refuses the record."""
    logging.getLogger("pymarc").disabled = True
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return pymarc.Record(data=chunk, to_unicode=True, force_utf8=True, utf8_handling="strict")
    except Exception:
        return None
    finally:
        logging.getLogger("pymarc").disabled = False


def _shape(record: pymarc.Record) -> tuple:
    fields = [(f.tag, f.control_field, f.data, tuple(f.indicators) if f.indicators else None,
               [tuple(subfield) for subfield in f.subfields]) for f in record.fields]
    return str(record.leader), record.force_utf8, record.to_unicode, fields


def _decoded(chunk: bytes) -> pymarc.Record | None:
    """The Record the fast path reads of `chunk`, or None where it leaves it to pymarc."""
    read = iso2709.read_utf8(chunk)
    return None if read is None else read.record


def _compare(chunk: bytes) -> bool:
    """Whether the fast path took `chunk`; fails where it differs from pymarc."""
    fast = _decoded(chunk)
    if fast is None:
        return False
    slow = _pymarc(chunk)
    assert slow is not None, f"pymarc refuses a record the fast path read: {chunk[:80]!r}"
    assert _shape(fast) == _shape(slow), chunk[:80]
    assert fast.as_marc() == slow.as_marc()
    if iso2709.read_utf8(chunk).as_delivered:   # a load keeps these bytes as the record's ISO 2709
        assert slow.as_marc() == chunk, chunk[:80]
    return True


def _iso2709_files() -> list[Path]:
    inventory = SHARED_DATA / "INVENTORY.tsv"
    if not inventory.exists():
        pytest.skip("../shared/data absent: the record files of other projects are not beside the repository")
    rows = [line.split("\t") for line in inventory.read_text(encoding="utf-8").splitlines()[1:]]
    files = [SHARED_DATA / row[0] for row in rows if row[1] == "MARC21 ISO2709"]
    return [path for path in files if path.is_file() and path.suffix != ".gz"]   # some are listed unpacked


def test_sample_deliveries_read_alike():
    taken = sum(_compare(raw.raw) for path in sorted((ROOT / "sample_data").glob("*.mrc"))
                for raw in iso2709_records(path.read_bytes()))
    assert taken >= 20


def test_every_record_file_reads_alike():
    taken = refused = 0
    for path in _iso2709_files():
        for raw in iso2709_records(path.read_bytes()):
            if _compare(raw.raw):
                taken += 1
            else:
                refused += 1
    # most real records are plain; the broken ones (marc4j's bad_*, traject's bad_utf_byte ...)
    # and MARC-8 bytes read as UTF-8 go to pymarc
    assert taken > 4000 and refused > 100, (taken, refused)


def test_delivered_bytes_are_kept_only_where_pymarc_writes_them():
    """Most real records come as pymarc writes them; those that do not (an empty subfield, a
    leader that does not say UTF-8, a gap between fields, MARC-8 ...) are written again."""
    kept = written = 0
    for path in [*sorted((ROOT / "sample_data").glob("*.mrc")), *_iso2709_files()]:
        for raw in iso2709_records(path.read_bytes()):
            read = iso2709.read_utf8(raw.raw)
            if read is None:
                continue
            record = read.record
            record.leader = str(record.leader)[:9] + "a" + str(record.leader)[10:]
            if read.as_delivered:
                assert record.as_marc() == raw.raw
                kept += 1
            else:
                written += 1
    assert kept > 3000 and written > 100, (kept, written)
    plain = _iso2709([("001", b"x1"), ("245", b"10\x1faTitle")])
    assert _as_delivered(plain)
    assert not _as_delivered(plain[:9] + b" " + plain[10:])   # leader/09 not "a"
    for damage in (b"10\x1faTitle\x1f", b"10\x1f\x1faTitle"):   # an empty subfield, at the end and inside
        changed = _iso2709([("001", b"x1"), ("245", damage)])
        assert _decoded(changed) is not None and not _as_delivered(changed)
    gap = _iso2709([("001", b"x1"), ("245", b"10\x1faTitle")], gap=b" ")   # a byte no field owns
    assert _decoded(gap) is not None and not _as_delivered(gap)


def _iso2709(fields: list[tuple[str, bytes]], gap: bytes = b"") -> bytes:
    """A record of `fields` (tag, data without terminator) built by hand, as a delivery may have
    it, the fields after `gap`."""
    directory, data = b"", gap
    for tag, body in fields:
        directory += tag.encode() + b"%04d%05d" % (len(body) + 1, len(data))
        data += body + b"\x1e"
    base = 24 + len(directory) + 1
    return b"%05dnam a22%05d   4500" % (base + len(data) + 1, base) + directory + b"\x1e" + data + b"\x1d"


def test_text_made_nfc_is_written_again():
    chunk = next(raw.raw for raw in iso2709_records((ROOT / "sample_data" / "lib-a.mrc").read_bytes())
                 if _as_delivered(raw.raw) and b"\x1fa" in raw.raw)
    # one more character in $a (the decomposed e-acute, NFC makes it one): the lengths change, so
    # the record is rebuilt with pymarc rather than patched by hand
    record = _decoded(chunk)
    for field_ in record.fields:
        if not field_.is_control_field() and field_.subfields:
            field_.subfields[0] = pymarc.Subfield(field_.subfields[0].code, field_.subfields[0].value + "e\u0301")
            break
    nfd = record.as_marc()
    assert _as_delivered(nfd)
    read = decode_iso2709(RawRecord(nfd, 1, 0), "utf-8")
    assert not isinstance(read, LoadProblem) and not read.raw_is_marc
    assert "\u00e9" in read.record.as_marc().decode("utf-8")
    plain = decode_iso2709(RawRecord(chunk, 1, 0), "utf-8")
    assert not isinstance(plain, LoadProblem) and plain.raw_is_marc


def test_damaged_records_read_alike():
    """Bytes of real records changed at random, most often the structural ones (leader,
    directory, delimiters): the fast path either refuses or reads as pymarc does."""
    chunks = [raw.raw for path in sorted((ROOT / "sample_data").glob("*.mrc"))
              for raw in iso2709_records(path.read_bytes())]
    rng = random.Random(2709)
    structural = b"\x1e\x1f\x1d0123456789 a\xc3\xa9\xff"
    taken = 0
    for _ in range(3000):
        chunk = bytearray(rng.choice(chunks))
        for _ in range(rng.randint(1, 3)):
            base = int(chunk[12:17]) if chunk[12:17].isdigit() else 24
            at = rng.choice((rng.randrange(24), rng.randrange(24, max(25, base)), rng.randrange(len(chunk))))
            chunk[min(at, len(chunk) - 1)] = rng.choice(structural)
        taken += _compare(bytes(chunk))
    assert taken > 300   # damage inside field text leaves most records readable


def test_load_reads_the_fast_and_the_slow_way_alike():
    """decode_iso2709 gives the same SourceRecord whichever path read the record."""
    chunks = [raw.raw for raw in iso2709_records((ROOT / "sample_data" / "lib-a.mrc").read_bytes())]
    assert any(_decoded(chunk) is not None for chunk in chunks)
    for position, chunk in enumerate(chunks, 1):
        fast = decode_iso2709(RawRecord(chunk, position, 0), "utf-8")
        original = iso2709.read_utf8
        iso2709.read_utf8 = lambda _chunk: None
        try:
            slow = decode_iso2709(RawRecord(chunk, position, 0), "utf-8")
        finally:
            iso2709.read_utf8 = original
        assert not isinstance(fast, LoadProblem) and not isinstance(slow, LoadProblem)
        assert (fast.record.as_marc(), fast.problems) == (slow.record.as_marc(), slow.problems)


def test_warnings_name_each_record_their_own():
    """pymarc's warnings are named for what they are, for every record that has them (Python
    shows a warning only once per place by default, and a load worker reads thousands)."""
    chunk = _iso2709([("001", b"x1"), ("245", b"10\x1f\xe9Title")])
    marc8 = chunk[:9] + b" " + chunk[10:]
    problems = [decode_iso2709(RawRecord(marc8, number, 0)).problems for number in (1, 2)]
    assert problems[0] == problems[1] == ["subfield code that is not ASCII (pymarc made one up)"]


def _as_delivered(chunk: bytes) -> bool:
    read = iso2709.read_utf8(chunk)
    return read is not None and read.as_delivered


def test_a_leader_saying_marc8_over_utf8_bytes_reads_utf8():
    # Evergreen's FSL.marc: Cyrillic in UTF-8, leader/09 blank; read as MARC-8 it was stored as garbage
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="fsl1"),
                     pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                  subfields=[pymarc.Subfield("a", "Люди с чистой совестью")]))
    utf8 = record.as_marc()
    mislabelled = utf8[:9] + b" " + utf8[10:]
    read = decode_iso2709(RawRecord(mislabelled, 1, 0))
    assert not isinstance(read, LoadProblem)
    assert read.record["245"]["a"] == "Люди с чистой совестью"
    assert read.problems == ["leader/09 says MARC-8, the bytes are UTF-8: read as UTF-8"]
    assert decode_iso2709(RawRecord(mislabelled, 1, 0), "marc-8").record["245"]["a"] != "Люди с чистой совестью"


def test_marc8_records_stay_marc8():
    # MARC-8 diacritics (0xE2 acute before its letter) are no UTF-8: no such record is taken for UTF-8
    record = pymarc.Record(leader="00000cam  2200000   4500", to_unicode=False)   # leader/09 blank: MARC-8
    record.add_field(pymarc.Field(tag="001", data="m8"),
                     pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                  subfields=[pymarc.Subfield("a", "Pr\u00e2esident")]))
    marc8 = record.as_marc()   # not unicode: pymarc keeps leader/09 and writes each character as one byte
    assert b"Pr\xe2esident" in marc8
    read = decode_iso2709(RawRecord(marc8, 1, 0))
    assert not isinstance(read, LoadProblem) and read.problems == []
    assert read.record["245"]["a"] == "Pr\u00e9sident"
