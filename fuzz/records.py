"""Fuzz target: the MARC21 (ISO 2709), MARCXML and PICA+ readers.

The first byte picks the reader; the rest is a delivery file. Readers answer every record with
a record or a LoadProblem (the reason it goes to the reject file); raising is a crash.
"""

from __future__ import annotations

import atheris
from harness import ROOT, pick, run

with atheris.instrument_imports():
    from index.records.marc import read_marc21, read_marcxml
    from index.records.pica import read_pica

READERS = (read_marc21, read_marcxml, read_pica)
SAMPLES = ((0, "lib-a.mrc"), (0, "lib-b.mrc"), (1, "lib-c.xml"), (2, "ejournals.pica"))


def test_one_input(data: bytes) -> None:
    reader, body = pick(data, len(READERS))
    for _ in READERS[reader](body):
        pass


def seeds() -> list[bytes]:
    """The start of each sample delivery (a few records each: small inputs fuzz faster)."""
    return [bytes([reader]) + (ROOT / "sample_data" / name).read_bytes()[:6000] for reader, name in SAMPLES]


if __name__ == "__main__":
    run(test_one_input, seeds())
