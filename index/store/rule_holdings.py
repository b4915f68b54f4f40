"""The table of rule-built holdings (holdings of virtual libraries such as LFER) in the store.

A rule-built holding belongs to a title (ISN), not to a delivered member record: no library
delivers it, and a reload of a member record must not wipe it. `CatalogStore` creates the table
(`create_tables`) and adds these holdings to a title's holdings (`holdings_of`), so every
display, the library index and the databases see them like any library's. Only `index.rules.run`
writes here. Each function takes the `CatalogStore` or its connection (`index.store.connection`).

How a rule-built holding reads as a `Holding` (documented for exports and displays):
- `library` the virtual library's code, `location` `Online`, `url` the first of its URLs (PICA
  7135 $u), `other_urls` the rest (the EZB URL beside the free one), `rule` the rule's name,
  `source_id` `rule:<rule>:<ISN>`, `lendable` False (a virtual library lends nothing);
- `note` marks it: `Rule-built holding (lfer rule)`, and once a later run confirmed it,
  `; checked YYYY-MM-DD (8002 gepr)`: PICA's 8002 `gepr` with the date. In MARC output the
  note is the holding's public note (852 $z, OPAC `publicNote`), so a MARC client sees it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from index.records.model import Holding
from index.store.connection import Connection, connection

if TYPE_CHECKING:   # the catalog store imports this module
    from index.store.catalog import CatalogStore

_TABLES = """
CREATE TABLE IF NOT EXISTS rule_holdings (
    isn      INTEGER NOT NULL,
    library  TEXT NOT NULL,              -- the virtual library's code
    rule     TEXT NOT NULL,              -- the rule that built it (`lfer`)
    urls     TEXT NOT NULL,              -- the 7135 $u URLs, one per line
    created  TEXT NOT NULL,              -- date the rule first built it (YYYY-MM-DD)
    checked  TEXT NOT NULL DEFAULT '',   -- date a later run last confirmed it (8002 gepr)
    PRIMARY KEY (isn, library)
);
"""


@dataclass(frozen=True)
class RuleHolding:
    isn: int
    library: str
    rule: str
    urls: tuple[str, ...]
    created: str
    checked: str = ""

    def as_holding(self) -> Holding:
        note = f"Rule-built holding ({self.rule} rule)"
        if self.checked:
            note += f"; checked {self.checked} (8002 gepr)"
        return Holding(library=self.library, location="Online", url=self.urls[0] if self.urls else "", note=note,
                       lendable=False, source_id=f"rule:{self.rule}:{self.isn}", rule=self.rule,
                       other_urls=self.urls[1:])


def create_tables(store: Connection | CatalogStore) -> None:
    db = connection(store)
    db.executescript(_TABLES)


def _row(row: tuple) -> RuleHolding:
    isn, library, rule, urls, created, checked = row
    return RuleHolding(isn, library, rule, tuple(urls.split("\n")) if urls else (), created, checked)


_COLUMNS = "isn, library, rule, urls, created, checked"


def holdings_of(store: Connection | CatalogStore, isn: int) -> list[Holding]:
    """The rule-built holdings of title `isn` as `Holding`s."""
    db = connection(store)
    rows = db.execute(f"SELECT {_COLUMNS} FROM rule_holdings WHERE isn = ? ORDER BY library", (isn,))
    return [_row(row).as_holding() for row in rows]


def holdings_of_titles(store: Connection | CatalogStore, isns: list[int]) -> dict[int, list[Holding]]:
    """ISN -> the rule-built holdings of each of `isns` that has some."""
    db = connection(store)
    found: dict[int, list[Holding]] = {}
    for start in range(0, len(isns), 500):
        chunk = isns[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT {_COLUMNS} FROM rule_holdings WHERE isn IN ({marks}) ORDER BY isn, library",
                              chunk):
            found.setdefault(row[0], []).append(_row(row).as_holding())
    return found


def rule_holdings(store: Connection | CatalogStore, library: str,
                  isns: list[int] | None = None) -> dict[int, RuleHolding]:
    """ISN -> rule-built holding of `library`, of the given titles (all when None)."""
    db = connection(store)
    if isns is None:
        rows = db.execute(f"SELECT {_COLUMNS} FROM rule_holdings WHERE library = ?", (library,)).fetchall()
    else:
        rows = []
        for start in range(0, len(isns), 500):
            chunk = isns[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows += db.execute(f"SELECT {_COLUMNS} FROM rule_holdings WHERE library = ? AND isn IN ({marks})",
                               (library, *chunk)).fetchall()
    return {row[0]: _row(row) for row in rows}


def libraries(store: Connection | CatalogStore) -> list[str]:
    """Codes of the virtual libraries that hold something."""
    db = connection(store)
    return [code for (code,) in db.execute("SELECT DISTINCT library FROM rule_holdings ORDER BY library")]


def put(store: Connection | CatalogStore, holding: RuleHolding) -> None:
    db = connection(store)
    db.execute(f"INSERT INTO rule_holdings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (isn, library)"
               " DO UPDATE SET rule = excluded.rule, urls = excluded.urls, created = excluded.created,"
               " checked = excluded.checked",
               (holding.isn, holding.library, holding.rule, "\n".join(holding.urls), holding.created,
                holding.checked))


def remove(store: Connection | CatalogStore, isn: int, library: str) -> None:
    db = connection(store)
    db.execute("DELETE FROM rule_holdings WHERE isn = ? AND library = ?", (isn, library))


def forget_deleted_titles(store: Connection | CatalogStore) -> int:
    """Drop the rule-built holdings of titles that no longer exist; returns how many."""
    db = connection(store)
    return db.execute("DELETE FROM rule_holdings WHERE isn NOT IN (SELECT isn FROM titles)").rowcount


def counts(store: Connection | CatalogStore) -> dict[str, int]:
    """Virtual library -> its rule-built holdings (one per title)."""
    db = connection(store)
    return dict(db.execute("SELECT library, count(*) FROM rule_holdings GROUP BY library ORDER BY library"))
