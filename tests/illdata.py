"""A small ILL network for tests: a catalog store with titles held across two regions.

    region north: H (the users' home library), N1;   region south: S1, S2
    H's orders go to its own region first, then south; H prefers S1 (a transport route).
    title BOOK: lendable at N1, S1, S2; a reference-only copy at S2 too
    title LOCAL: lendable at H (the home library holds it)
    title REF: only a reference-only copy at N1
    title NONE: no holdings (free orders)
    title JOURNAL: held by N1 for 1990-1999 (8032), by S1 from 2005 on
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pymarc
from conftest import copy_home

from index.config import parse_config
from index.home import Home
from index.records.model import Holding
from index.store.catalog import CatalogStore

ILL_CONFIG = """
[catalog]
name = "unikat ILL test"
[ill]
units_per_order = 2
circulation_days = 7
central_desk = "ZFL"
order_prefix = "GBV"
[libraries.H]
name = "Home Library"
address = "Hauptstr. 1, 37073 Göttingen"
source_system = "H-ILS"
ill_region = "north"
ill_region_order = ["south"]
ill_prefer = ["S1"]
[libraries.N1]
name = "North One"
source_system = "N1"
ill_region = "north"
[libraries.S1]
name = "South One"
address = "Südweg 5, 70173 Stuttgart"
source_system = "S1"
ill_region = "south"
[libraries.S2]
name = "South Two"
address = "Bahnhofstr. 9, 79098 Freiburg"
source_system = "S2"
ill_region = "south"
[libraries.ZFL]
name = "Central ILL desk"
source_system = "ZFL"
ill_lends = false
"""


def marc(title: str, author: str = "", year: str = "2001") -> bytes:
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader("00000nam a2200000 a 4500")
    if author:
        record.add_field(pymarc.Field("100", ["1", " "], [pymarc.Subfield("a", author)]))
    record.add_field(pymarc.Field("245", ["1", "0"], [pymarc.Subfield("a", title + " /"),
                                                      pymarc.Subfield("c", author or "anon.")]))
    record.add_field(pymarc.Field("264", [" ", "1"], [pymarc.Subfield("a", "Göttingen :"),
                                                      pymarc.Subfield("b", "Verlag,"),
                                                      pymarc.Subfield("c", year)]))
    return record.as_marc()


TITLES = {
    "BOOK": ("Die Fernleihe", "Müller, Anna", [Holding("N1", call_number="N1/100"), Holding("S1", call_number="S1/7"),
                                               Holding("S2", call_number="S2/R", lendable=False),
                                               Holding("S2", call_number="S2/9")]),
    "LOCAL": ("Local book", "Bauer, B.", [Holding("H", call_number="H/1"), Holding("N1", call_number="N1/2")]),
    "REF": ("Reference only", "", [Holding("N1", call_number="N1/LS", lendable=False)]),
    "NONE": ("Nobody has it", "", []),
    "JOURNAL": ("Zeitschrift für Bibliothekswesen", "", [Holding("N1", call_number="Z 1", note="1.1990 - 10.1999"),
                                                         Holding("S1", call_number="Z 2", note="2005 -")]),
}


@dataclass
class Clock:
    """A clock tests move by hand."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, days: float) -> None:
        self.now += dt.timedelta(days=days)


def ill_home(root: Path, config: str = ILL_CONFIG) -> tuple[Home, dict[str, int]]:
    """A home with ILL_CONFIG and the TITLES in its store (no search index); name -> ISN."""
    home = Home(root)
    home.init(config)
    store = CatalogStore.of(home)
    isns = {}
    try:
        with store.transaction():
            for number, (name, (title, author, holdings)) in enumerate(TITLES.items()):
                display = marc(title, author)
                isn = store.add_title(display, "am")
                by_library: dict[str, list[Holding]] = {}
                for holding in holdings:
                    by_library.setdefault(holding.library, []).append(holding)
                for library, held in by_library.items():
                    store.add_record(isn, library, library, f"{number}-{library}", display, "1", 1, None, held)
                if not holdings:
                    store.add_record(isn, "N1", "N1", f"{number}-x", display, "1", 1, None, [])
                isns[name] = isn
    finally:
        store.close()
    return home, isns


def config_of(home: Home):
    return parse_config(home.config_path.read_text())


# -- the sample catalog as an ILL network (integration tests) ---------------------------------

ILL_SECTION = """
[ill]
units_per_order = 2
circulation_days = 7
order_prefix = "UNI"
default_region = "south"
"""
SAMPLE_REGIONS = {"A": "north", "B": "north", "C": "south"}


@dataclass(frozen=True)
class IllPicks:
    """Titles of the sample catalog for ordering from home library A."""

    lendable: int        # lendable elsewhere, not lendable in A
    unlendable: int      # made reference-only everywhere
    held: int            # A has a lendable copy


def ill_sample_home(sample_home: Home, root: Path) -> tuple[Home, IllPicks]:
    """A copy of the sample home with ILL profiles (A and B north, C and the rest south) and
    accounts 4711/geheim (A, 4 units), 0815/quota-pw (A, a quota of 1 order),
    5555/copy-pw (A, 10 units)."""
    import re

    from index.ill import IllService

    copy_home(sample_home, root)
    path = root / "unikat.toml"
    text = path.read_text(encoding="utf-8")
    for code, region in SAMPLE_REGIONS.items():
        text = text.replace(f"[libraries.{code}]\n", f'[libraries.{code}]\nill_region = "{region}"\n', 1)
    text = re.sub(r"(?m)^restricted = .*$", "restricted = []", text)
    path.write_text(text + ILL_SECTION, encoding="utf-8")
    home = Home(root)
    store = CatalogStore.of(home)
    try:
        picks: dict[str, int] = {}
        for isn, _, holdings in store.titles_with_holdings():
            lending = {h.library for h in holdings if h.lendable}
            if "A" in lending:
                picks.setdefault("held", isn)
            elif lending and "lendable" in picks:
                picks.setdefault("unlendable", isn)
            elif lending:
                picks.setdefault("lendable", isn)
        with store.transaction():   # the second such title becomes reference-only everywhere
            store.db.execute("UPDATE holdings SET lendable = 0 WHERE record_id IN"
                             " (SELECT id FROM records WHERE isn = ?)", (picks["unlendable"],))
        service = IllService(store, parse_config(text + ILL_SECTION))
        service.create_account("4711", "geheim", "A", name="Erika Mustermann", balance=4)
        service.create_account("0815", "quota-pw", "A", quota=1)
        service.create_account("5555", "copy-pw", "A", balance=10)
    finally:
        store.close()
    return home, IllPicks(picks["lendable"], picks["unlendable"], picks["held"])
