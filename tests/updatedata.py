"""A copy of the sample catalog whose users maintain libraries' records (Z39.50 Update), and
records to send: `[users.alib]` maintains library A, `[users.blib]` library B, `[users.reader]`
none; every password is "secret"."""

from __future__ import annotations

from pathlib import Path

import pymarc
from conftest import copy_home

from index.home import Home

SECRET = "scrypt$16384$8$1$3mCIv7FvoQPv4eBtefEHkA$k59NMNd6c2ETigyh8xV236E1R7OJoKWlN54XZHWbEIs"   # "secret"
USERS = f"""
[users.alib]
password_hash = "{SECRET}"
library = "A"

[users.blib]
password_hash = "{SECRET}"
library = "B"

[users.reader]
password_hash = "{SECRET}"
"""

A_RECORD = "A000001"   # a record of library A in sample_data/lib-a.mrc


def update_home(sample_home: Home, root: Path) -> Home:
    """A copy of `sample_home` (store and index) with the users above."""
    copy_home(sample_home, root)
    config = root / "unikat.toml"
    config.write_text(config.read_text(encoding="utf-8") + USERS, encoding="utf-8")
    return Home(root)


def record(control: str, title: str, library: str = "A", *, version: str = "", holdings: bool = True,
           isbn: str = "") -> pymarc.Record:
    """A small book record with 001 `control` and an 852 of `library` (unless not `holdings`)."""
    made = pymarc.Record(force_utf8=True)
    made.leader = pymarc.Leader("00000nam a2200000 a 4500")
    made.add_field(pymarc.Field("001", data=control))
    if version:
        made.add_field(pymarc.Field("005", data=version))
    if isbn:
        made.add_field(pymarc.Field("020", [" ", " "], [pymarc.Subfield("a", isbn)]))
    made.add_field(pymarc.Field("245", ["1", "0"], [pymarc.Subfield("a", title)]))
    made.add_field(pymarc.Field("264", [" ", "1"], [pymarc.Subfield("a", "Göttingen :"),
                                                    pymarc.Subfield("b", "Verlag,"), pymarc.Subfield("c", "2026")]))
    if holdings:
        made.add_field(pymarc.Field("852", [" ", " "], [pymarc.Subfield("a", library),
                                                        pymarc.Subfield("j", f"{library}/{control}")]))
    return made


def iso2709(made: pymarc.Record) -> bytes:
    return made.as_marc()


def marcxml(made: pymarc.Record) -> bytes:
    return pymarc.record_to_xml(made, namespace=True)
