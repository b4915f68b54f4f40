"""Thirty incremental loads on a fresh home, on each engine: every load is searchable at once,
and the index they leave answers as a full rebuild does.

Each delivery holds new records, changed records (an earlier 001 with a new title) and deletions
(leader/05 `d`), real records of sample_data/lib-a.mrc whose titles are replaced by made-up
words: a word of its own for each version of a title, and a word for the round. So the test
knows how many titles each word must find after every load. Updates add index segments; both
engines merge them along the way (Whoosh's merge of inlined postings used to fail from the sixth
load on with `AssertionError: vbytes=''`), and the test checks that a merge did happen.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator
from pathlib import Path

import pymarc
import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home
from pymarc import Field, Indicators, Subfield
from whoosh import index as whoosh_index

from index.engines.postings.layout import connect
from index.home import Home
from index.loading import indexing
from index.search import Catalog
from index.store.catalog import CatalogStore
from zserver.querylang.pqf import parse_pqf
from zserver.z3950.attributes import rpn_to_query

ROUNDS = 30
FIRST_DELIVERY = 60          # records of the first load (a full build: the index does not exist yet)
NEW, CHANGED, DELETED = 4, 3, 2   # per incremental round; a round stays below half the titles, so it
                                  # is an update, not a rebuild
# Strong identifiers go, so no two made-up titles are consolidated into one.
IDENTIFIERS = ("010", "015", "016", "020", "022", "024", "027", "028", "030", "035", "074", "086", "088", "776")


def _word(prefix: str, number: int) -> str:
    """A made-up word of letters only (no word of the sample has these prefixes)."""
    letters = ""
    for _ in range(4):
        number, digit = divmod(number, 26)
        letters = string.ascii_lowercase[digit] + letters
    return prefix + letters


def _records() -> Iterator[pymarc.Record]:
    with open(SAMPLE_DATA / "lib-a.mrc", "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            if record is not None and record["001"] is not None and record["245"] is not None:
                yield record


class Deliveries:
    """The deliveries, and what the catalog must hold after each: the live records by 001 with
    their title words."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pool = _records()
        self.sent: dict[str, pymarc.Record] = {}       # 001 -> the last version delivered
        self.titles: dict[str, tuple[str, str]] = {}   # 001 of each live record -> (own word, round word)
        self.gone: list[str] = []                      # own words no live title carries any more
        self.round_words: list[str] = []
        self.versions = itertools.count()

    def _titled(self, record: pymarc.Record, round_word: str) -> tuple[pymarc.Record, str]:
        own = _word("zq", next(self.versions))
        for tag in IDENTIFIERS:
            record.remove_fields(tag)
        record.remove_fields("245")
        record.add_ordered_field(Field("245", Indicators("0", "0"), [Subfield("a", f"{own} {round_word}")]))
        return record, own

    def next(self, number: int, new: int, changed: int, deleted: int) -> tuple[Path, dict[str, int]]:
        """Delivery `number`: its file and the load counts it must give."""
        round_word = _word("zr", number)
        self.round_words.append(round_word)
        live = sorted(self.titles)
        deleting = live[len(live) - deleted:]   # the newest records, delivered in an earlier round
        rest = live[:len(live) - deleted]
        start = number * changed % len(rest) if rest else 0
        changing = (rest + rest)[start:start + changed]   # in turn through the others
        batch = []
        for control in changing:
            record, own = self._titled(self.sent[control], round_word)
            self.gone.append(self.titles[control][0])
            self.titles[control] = (own, round_word)
            batch.append(record)
        for record in itertools.islice(self.pool, new):
            record, own = self._titled(record, round_word)
            self.titles[record["001"].data] = (own, round_word)
            batch.append(record)
        for control in deleting:
            record = self.sent[control]
            record.leader = str(record.leader)[:5] + "d" + str(record.leader)[6:]
            self.gone.append(self.titles.pop(control)[0])
            batch.append(record)
        path = self.directory / f"delivery-{number:02d}.mrc"
        with open(path, "wb") as out:
            for record in batch:
                self.sent[record["001"].data] = record
                out.write(record.as_marc())
        return path, {"read": len(batch), "new": new, "merged": 0, "updated": len(changing),
                      "deleted": len(deleting), "rejected": 0}

    def expected(self) -> dict[str, int]:
        """Each word used so far -> the number of live titles carrying it."""
        counts = dict.fromkeys(self.gone + self.round_words, 0)
        for own, round_word in self.titles.values():
            counts[own] = counts.get(own, 0) + 1
            counts[round_word] += 1
        return counts


def hit_counts(catalog: Catalog, words) -> dict[str, int]:
    union = catalog.database("unikat")
    return {word: catalog.search(rpn_to_query(parse_pqf(f"@attr 1=4 {word}")), union).size for word in words}


def segments(home: Home, engine: str) -> int:
    if engine == "whoosh":
        return len(whoosh_index.open_dir(str(home.root / "whoosh"))._segments())
    db = connect(home.root / "postings", readonly=True)
    try:
        return db.execute("SELECT count(*) FROM segments").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_thirty_incremental_loads(tmp_path, engine):
    home = make_home(tmp_path / "home", (SAMPLE_DATA / "unikat.toml").read_text(), engine=engine)
    deliveries = Deliveries(tmp_path)
    path, counts = deliveries.next(0, FIRST_DELIVERY, 0, 0)
    load(home, "A", path)
    catalog = Catalog(home)   # open through all loads, as a server keeps it, refreshed after each
    segment_counts = []
    try:
        for number in range(1, ROUNDS + 1):
            before, gone = dict(deliveries.titles), len(deliveries.gone)
            path, counts = deliveries.next(number, NEW, CHANGED, DELETED)
            report = load(home, "A", path)
            assert {key: report.counts[key] for key in counts} == counts, f"load {number}"
            segment_counts.append(segments(home, engine))
            catalog.refresh(now=float(number) * 1e9)
            expected = deliveries.expected()
            # the words of new and changed titles, the words replaced or deleted, and every round's word
            words = [*sorted({word for control, title in deliveries.titles.items() if before.get(control) != title
                              for word in title}), *deliveries.gone[gone:], *deliveries.round_words]
            assert hit_counts(catalog, words) == {word: expected[word] for word in words}, f"after load {number}"
        assert any(later < earlier for earlier, later in itertools.pairwise(segment_counts)), \
            f"no segment merge in {ROUNDS} loads: {segment_counts}"

        expected = deliveries.expected()
        after_updates = hit_counts(catalog, expected)
        assert after_updates == expected
        store = CatalogStore.of(home)
        try:
            indexing.rebuild(home, store)   # what `unikat index --full` does
        finally:
            store.close()
        catalog.refresh(now=float(ROUNDS + 1) * 1e9)   # the open catalog takes up the new index
        assert hit_counts(catalog, expected) == after_updates
    finally:
        catalog.close()
    reopened = Catalog(home)
    try:
        assert hit_counts(reopened, expected) == after_updates
    finally:
        reopened.close()
