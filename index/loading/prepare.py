"""One delivered record made ready for the catalog: the part of loading that needs the parsed
record and not the store, done in a load's worker processes (`index.loading.pipeline`).

`Preparer.batch` takes records as the main process found them in the delivery (`RawRecord`s,
not yet parsed) and returns a `Prepared` for each: whether the record is rejected and why, its
light problems, its maintenance key parts (001, 005), its ISO 2709 bytes, quality score and
holdings, what title maintenance needs to know of it (`index.titles.RecordFacts`: consolidation
profile, headings), and its search keys as a title showing this record would have them
(`index.loading.handover`). Every record is parsed once, here. All of it is plain values, small
to pickle back.

The checks are MELVYL's (see `index.loading.load`), in the order a record meets them; those
that need the store (is the maintenance key known? is the record unchanged?) are left to the
main process. This module never touches the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import pymarc

from index import titles
from index.config import LibraryConfig
from index.loading import handover
from index.records.marc import decode_iso2709, decode_marcxml, holdings_from_852
from index.records.model import Holding, LoadProblem, RawRecord, SourceRecord
from index.records.quality import quality_score
from index.searchkeys.extract import TitleKeys, extract
from index.searchkeys.normalize import isbn_checksum_ok
from index.sources import SourceProfile

__all__ = ["Prepared", "Preparer"]


@dataclass(frozen=True)
class Prepared:
    """A delivered record ready for the main process. `reject` is the reason it goes to the
    reject file ("" when it does not); `problems` are the light problems to count, whatever the
    outcome. A `deleted` record carries only its `source_id`. `keys` (packed, see
    `index.loading.handover`; None when they could not be worked out) belong to the display
    record `marc` with the holdings `holdings`, whose digest is `digest`."""

    reject: str = ""
    problems: tuple[str, ...] = ()
    deleted: bool = False
    source_id: str = ""
    version: str = ""
    bibtype: str = ""
    marc: bytes = b""
    quality: int = 0
    holdings: tuple[Holding, ...] = ()
    facts: titles.RecordFacts | None = None
    keys: bytes | None = None
    digest: bytes = b""


_FORMATS = ("marc21", "marcxml", "pica", "json")


@dataclass(frozen=True)
class Preparer:
    """How the records of one delivery are prepared: for `library`, from `fmt` (`marc21` with
    `encoding`, `marcxml`, or `pica` in `serialization`); `authority_only` rejects everything but
    authority records; `consolidate` works out consolidation profiles."""

    library: LibraryConfig
    fmt: str
    encoding: str | None = None
    serialization: str = ""
    authority_only: bool = False
    consolidate: bool = True
    profile: SourceProfile | None = None   # `[sources.NAME]`: fields mapped, dropped, added; 001 prefixed

    def batch(self, items: list[RawRecord | LoadProblem]) -> list[Prepared]:
        return [self.prepare(item) for item in items]

    def prepare(self, item: RawRecord | LoadProblem) -> Prepared:
        if self.fmt not in _FORMATS:   # the load's mistake, not a record's: it fails the load
            raise ValueError(f"unknown format {self.fmt!r} (marc21, marcxml, pica or json)")
        if isinstance(item, LoadProblem):
            return Prepared(reject=item.reason)
        try:
            return self._prepared(item)
        except RecursionError:
            return Prepared(reject="the record nests too deeply to be read")
        except Exception as error:   # a record no check foresaw harms only itself: rejected, the load goes on
            return Prepared(reject=f"the record could not be prepared ({type(error).__name__}: {error})"[:500])

    def _prepared(self, item: RawRecord) -> Prepared:
        decoded = self._decode(item)
        if isinstance(decoded, LoadProblem):
            return Prepared(reject=decoded.reason)
        if self.profile is not None:
            self.profile.apply(decoded.record)
        return self._checked(decoded)

    def _decode(self, item: RawRecord) -> SourceRecord | LoadProblem:
        if self.fmt == "marc21":
            return decode_iso2709(item, self.encoding)
        if self.fmt == "marcxml":
            return decode_marcxml(item)
        if self.fmt == "pica":
            from index.records.pica import decode_pica

            return decode_pica(item, self.serialization)
        # json: `prepare` checked the format
        from index.records.marcjson_reader import decode_marcjson

        return decode_marcjson(item)

    def _checked(self, item: SourceRecord) -> Prepared:
        record = item.record
        authority = str(record.leader)[6:7] == "z"
        if self.authority_only and not authority:
            return Prepared(reject="not an authority record (leader/06 is not z)")
        problems = list(item.problems)
        f001 = record.get("001")
        source_id = (f001.data or "").strip() if f001 else ""
        if not source_id and self.library.id_from_035:
            source_id = _id_from_035(record, self.library.id_from_035)
            if source_id:
                problems.append("control number taken from 035 (no 001)")
        if not source_id:
            fallback = f" nor an 035 $a starting with {self.library.id_from_035}" if self.library.id_from_035 else ""
            return Prepared(reject=f"no control number (001){fallback}: the record cannot be maintained",
                            problems=tuple(problems))
        if item.deleted:
            return Prepared(deleted=True, source_id=source_id, problems=tuple(problems))
        if authority:
            if not any(f.tag.startswith("1") for f in record.fields if not f.is_control_field()):
                return Prepared(reject="authority record without a heading (1XX)", problems=tuple(problems))
            holdings: list[Holding] = []
        else:
            f245 = record.get("245")
            if f245 is None or not any(sf.value.strip() for sf in f245.subfields):
                title = "021A" if self.fmt == "pica" else "245"   # PICA+ 021A is read as 245
                return Prepared(reject=f"no title ({title})", problems=tuple(problems))
            holdings, holding_problems = _holdings(self.library, record, item.holdings)
            problems += holding_problems
            if self.library.require_holdings and not holdings:
                held = (" (the PICA+ record has no local record of any library)"
                        if self.fmt == "pica" else "")
                return Prepared(reject=f"no holdings of library {self.library.code}{held}", problems=tuple(problems))
        for field_ in record.get_fields("020"):
            problems += ["ISBN with a bad checksum" for value in field_.get_subfields("a") if not isbn_checksum_ok(value)]
        f005 = record.get("005")
        version = (f005.data or "") if f005 else ""
        as_delivered = item.raw_is_marc and self.profile is None   # a profile changes the record
        marc = item.raw if as_delivered else record.as_marc()
        if not _fits_iso2709(marc, record):
            return Prepared(reject="record too large for ISO 2709 (a field over 9,999 or the record over 99,999 bytes)",
                            problems=tuple(problems))
        keys = _search_keys(record, marc, holdings, as_delivered)
        return Prepared(problems=tuple(problems), source_id=source_id, version=version,
                        bibtype=str(record.leader)[6:8], marc=marc,
                        quality=quality_score(record) + self.library.priority, holdings=tuple(holdings),
                        facts=titles.facts(record, consolidate=self.consolidate),
                        keys=None if keys is None else handover.pack(keys), digest=handover.digest(marc, holdings))


def _id_from_035(record: pymarc.Record, prefix: str) -> str:
    """The first 035 $a that starts with `prefix` (such as `(OCoLC)`), spaces after the prefix
    dropped: the control number of a record delivered without 001, as union catalogs take it."""
    for field_ in record.get_fields("035"):
        for value in field_.get_subfields("a"):
            value = value.strip()
            if value.startswith(prefix) and value[len(prefix):].strip():
                return prefix + value[len(prefix):].strip()
    return ""


def _search_keys(record: pymarc.Record, marc: bytes, holdings: list[Holding], read_from_marc: bool) -> TitleKeys | None:
    """The keys of a title whose display record is `marc` (`record` as parsed before it was
    written, or as read from `marc` when `read_from_marc`) and whose holdings are `holdings`, as
    the index phase would extract them from the store: from `record` itself when reading `marc`
    back gives the same fields, else from `marc` read back. None when `marc` cannot be read
    back: the index phase meets it as it always did."""
    if not (read_from_marc or _reads_back(record)):
        try:
            record = pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
        except Exception:   # pymarc raises many kinds for broken structure
            return None
    return extract(0, record, holdings)


# What an indicator or a subfield code may be to read back: one ASCII character, not the subfield
# delimiter (one set lookup is cheaper than testing type, length and characters each time).
_ONE_CHARACTER = frozenset(chr(code) for code in range(128)) - {"\x1f"}


def _reads_back(record: pymarc.Record) -> bool:
    """Whether pymarc reads the ISO 2709 it writes of `record` back into the same fields. It
    does not when a tag is not three characters, an indicator or subfield code not one ASCII
    character, or a subfield holds a subfield delimiter (MARCXML can say all of these)."""
    leader = str(record.leader)
    if len(leader) != 24 or not leader.isascii() or not record.fields:
        return False
    for field_ in record.fields:
        if len(field_.tag) != 3 or not field_.tag.isascii():
            return False
        if field_.control_field:
            if not isinstance(field_.data, str):
                return False
            continue
        first, second = field_.indicator1, field_.indicator2
        if not (isinstance(first, str) and isinstance(second, str)   # MARC-in-JSON may give anything
                and first in _ONE_CHARACTER and second in _ONE_CHARACTER):
            return False
        for code, value in field_.subfields:
            if code not in _ONE_CHARACTER or not isinstance(value, str) or "\x1f" in value:
                return False
    return True


def _fits_iso2709(marc: bytes, record: pymarc.Record) -> bool:
    """ISO 2709 lengths have 4 (field) and 5 (record) digits; pymarc writes longer ones unchecked."""
    base = int(marc[12:17]) if marc[12:17].isdigit() else 0
    return len(marc) <= 99_999 and base - 25 == 12 * len(record.fields)


def _holdings(library: LibraryConfig, record: pymarc.Record, delivered: list[Holding]) -> tuple[list[Holding], list[str]]:
    if library.holdings == "record":
        return [Holding(library=library.code)], []
    if library.holdings == "pica" or delivered:
        own = [h for h in delivered if h.library == library.code]
        if library.holdings == "pica" and not own and delivered:
            # A PICA+ delivery from a union catalog carries many libraries' holdings; keep them all.
            return list(delivered), []
        return own or list(delivered), []
    return holdings_from_852(record, library.code, every_library=library.holdings == "852-all")
