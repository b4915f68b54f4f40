"""Build unikat's sample catalog (sample_data/) from real Library of Congress records.

    python sample_data/make_samples.py [--source BooksAll.2016.part01.utf8] [--out sample_data]

Source: "Books All 2016", part 01 (250,000 UTF-8 MARC21 records, public domain), fetched by
`../shared/scripts/get-lc-books` into ~/.cache/lc-books/. The script is deterministic: the same
source gives byte-identical files (no clock, no random state, no hash seeds).

What it writes (see README.md):
- lib-a.mrc  library A, ISO 2709 UTF-8, 1,200 records
- lib-b.mrc  library B, ISO 2709 UTF-8, 1,200 records; 400 are A's titles with small
             cataloguing differences
- lib-c.xml  library C, MARCXML, 800 records; 200 titles shared with A and B, 100 with A only,
             100 with B only
- ejournals.pica  22 ZDB-like e-journal title records in plain PICA+, with local records of
             libraries A, B and the consortium sigel `WWW 1`; written from the table below.

Selection: every 100th source record (from the 100th on) that has a 245, an 050 call number
and an 010 LCCN, else the next one that has them; that spreads the picks over the whole file,
so languages and scripts vary (some 880 fields included). Each library's record gets its own
001 (`A000001`), 003 = the library's system (`A-ILS`), LC's number kept in 035 `(DLC)...`,
and 852 holdings: $a library, $b location, $h call number (050), $p barcode, $t copy number
(second copies), $z public note (`Reference only` marks a copy that is not lent).
This script owns sample_data/; it knows nothing of unikat's code.
"""

from __future__ import annotations

import argparse
import copy
import re
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pymarc
from pymarc import Field, Indicators, Subfield

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = Path.home() / ".cache" / "lc-books" / "BooksAll.2016.part01.utf8"
STEP = 100      # take every STEP-th source record
PICKS = 2400    # distinct titles picked

# Which picks each library delivers (indexes into the picked list).
LIBRARY_A = range(0, 1200)
LIBRARY_B = range(800, 2000)              # 800-1199 shared with A
LIBRARY_C = [*range(600, 700), *range(1000, 1200), *range(1900, 2000), *range(2000, 2400)]
SHARED_AB = range(800, 1200)

LIBRARIES = {
    "A": {"system": "A-ILS", "barcode": "31001", "locations": ["Main Library", "Science Library", "Law Library"]},
    "B": {"system": "B-ILS", "barcode": "32002", "locations": ["Central Library", "East Branch", "Music Library"]},
    "C": {"system": "C-ILS", "barcode": "33003", "locations": ["Stacks", "Special Collections", "Reading Room"]},
}

# Extra local subject B adds to some shared titles, by the first letter of the LC class (050).
CLASS_SUBJECTS = {
    "A": "Reference books", "B": "Philosophy", "C": "History", "D": "World history", "E": "America -- History",
    "F": "America -- History", "G": "Geography", "H": "Social sciences", "J": "Political science", "K": "Law",
    "L": "Education", "M": "Music", "N": "Art", "P": "Literature", "Q": "Science", "R": "Medicine",
    "S": "Agriculture", "T": "Technology", "U": "Military science", "V": "Naval science", "Z": "Library science",
}


def pick_records(source: Path) -> list[pymarc.Record]:
    """Every STEP-th record with 245, 050 and 010 (or the next one that has them)."""
    picks: list[pymarc.Record] = []
    with source.open("rb") as handle:
        number = 0
        while len(picks) < PICKS:
            head = handle.read(5)
            if len(head) < 5:
                raise SystemExit(f"{source}: only {len(picks)} suitable records found, {PICKS} needed")
            raw = head + handle.read(int(head) - 5)
            number += 1
            if number < STEP * (len(picks) + 1):
                continue
            record = _suitable(raw)
            if record is not None:
                picks.append(record)
    return picks


def _suitable(raw: bytes) -> pymarc.Record | None:
    try:
        record = pymarc.Record(data=raw, to_unicode=True, force_utf8=True, utf8_handling="strict")
    except Exception:  # a record pymarc cannot read is simply not picked
        return None
    if any(record.get(tag) is None for tag in ("001", "010", "050", "245")):
        return None
    return record


def _crc(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode("utf-8"))


def _call_number(record: pymarc.Record) -> str:
    return " ".join(v.strip() for v in record.get("050").get_subfields("a", "b")[:2])


def library_copy(record: pymarc.Record, library: str, number: int, counters: dict[str, int]) -> pymarc.Record:
    """The library's version of an LC record: own 001/003, LC number in 035, 852 holdings."""
    mine = copy.deepcopy(record)
    lccn = mine.get("001").data.strip()
    for tag in ("001", "003", "852"):
        mine.remove_fields(tag)
    mine.add_ordered_field(Field(tag="001", data=f"{library}{number:06d}"))
    mine.add_ordered_field(Field(tag="003", data=LIBRARIES[library]["system"]))
    mine.add_ordered_field(Field(tag="035", indicators=Indicators(" ", " "), subfields=[Subfield("a", f"(DLC){lccn}")]))
    seed = _crc(library, lccn)
    locations = LIBRARIES[library]["locations"]
    copies = 2 if seed % 10 == 0 else 1
    for copy_number in range(1, copies + 1):
        counters[library] += 1
        subfields = [
            Subfield("a", library),
            Subfield("b", locations[(seed // 10 + copy_number - 1) % len(locations)]),
            Subfield("h", _call_number(mine)),
            Subfield("p", f"{LIBRARIES[library]['barcode']}{counters[library]:08d}"),
        ]
        if copy_number > 1:
            subfields.append(Subfield("t", str(copy_number)))
        if copy_number == 1 and seed % 25 == 1:
            subfields.append(Subfield("z", "Reference only"))
        elif copy_number > 1:
            subfields.append(Subfield("z", "Second copy"))
        mine.add_ordered_field(Field(tag="852", indicators=Indicators(" ", " "), subfields=subfields))
    return mine


def vary_for_b(record: pymarc.Record, index: int) -> None:
    """Small, realistic differences in B's cataloguing of a title A has too."""
    kind = index % 4
    if kind == 2 and _replace_first(record.get("300"), "a", lambda v: re.sub(r"(\d) p\.", r"\1 pages", v)):
        return  # AACR2 "p." spelled out as RDA does
    if kind == 1 and _replace_first(record.get("245"), "c", lambda v: v[:-1] if v.endswith(".") else v + "."):
        return
    if kind in (0, 1, 2):
        subject = CLASS_SUBJECTS.get(_call_number(record)[:1], "General works")
        record.add_ordered_field(Field(tag="650", indicators=Indicators(" ", "4"), subfields=[Subfield("a", subject)]))
    # kind 3: B took LC's record as it is


def _replace_first(field: Field | None, code: str, change) -> bool:
    """Change the first $code of `field`; True if that changed anything."""
    for position, subfield in enumerate(field.subfields if field is not None else []):
        if subfield.code == code:
            field.subfields[position] = Subfield(code, change(subfield.value))
            return field.subfields[position].value != subfield.value
    return False


def build_libraries(picks: list[pymarc.Record]) -> dict[str, list[pymarc.Record]]:
    counters = {code: 0 for code in LIBRARIES}
    result: dict[str, list[pymarc.Record]] = {}
    for library, indexes in (("A", LIBRARY_A), ("B", LIBRARY_B), ("C", sorted(LIBRARY_C))):
        records = []
        for number, index in enumerate(indexes, 1):
            record = library_copy(picks[index], library, number, counters)
            if library == "B" and index in SHARED_AB:
                vary_for_b(record, index)
            records.append(record)
        result[library] = records
    return result


def write_iso2709(records: list[pymarc.Record], path: Path) -> None:
    path.write_bytes(b"".join(record.as_marc() for record in records))


def write_marcxml(records: list[pymarc.Record], path: Path) -> None:
    ET.register_namespace("", pymarc.MARC_XML_NS)
    collection = ET.Element(f"{{{pymarc.MARC_XML_NS}}}collection")
    for record in records:
        collection.append(pymarc.record_to_xml_node(record, namespace=True))
    ET.indent(collection)
    path.write_bytes(ET.tostring(collection, encoding="UTF-8", xml_declaration=True) + b"\n")


# -- e-journals in PICA+ ---------------------------------------------------------------------

# title, publisher place, publisher, online ISSN, print ISSN, first year, language, country,
# homepage URL, licence-free. Titles, ISSNs and URLs are the journals' real ones; PPNs, EPNs,
# URNs, call numbers and local data are made up.
JOURNALS = [
    ("Histochemistry and cell biology", "Berlin", "Springer", "1432-119X", "0948-6143", "1995", "eng", "XA-DE",
     "https://link.springer.com/journal/418", False),
    ("PLoS one", "San Francisco, Calif.", "Public Library of Science", "1932-6203", "", "2006", "eng", "XD-US",
     "https://journals.plos.org/plosone/", True),
    ("PLoS biology", "San Francisco, Calif.", "Public Library of Science", "1545-7885", "1544-9173", "2003", "eng",
     "XD-US", "https://journals.plos.org/plosbiology/", True),
    ("BMC bioinformatics", "London", "BioMed Central", "1471-2105", "", "2000", "eng", "XA-GB",
     "https://bmcbioinformatics.biomedcentral.com/", True),
    ("Nucleic acids research", "Oxford", "Oxford Univ. Press", "1362-4962", "0305-1048", "1974", "eng", "XA-GB",
     "https://academic.oup.com/nar", True),
    ("Documenta mathematica", "Bielefeld", "Univ.", "1431-0643", "1431-0635", "1996", "eng", "XA-DE",
     "https://www.math.uni-bielefeld.de/documenta/", True),
    ("Living reviews in relativity", "Potsdam", "Max-Planck-Inst. für Gravitationsphysik", "1433-8351", "", "1998",
     "eng", "XA-DE", "https://link.springer.com/journal/41114", True),
    ("The @electronic journal of combinatorics", "[Atlanta, Ga.]", "[s.n.]", "1077-8926", "", "1994", "eng", "XD-US",
     "https://www.combinatorics.org/", True),
    ("New journal of physics", "Bristol", "IOP Publ.", "1367-2630", "", "1998", "eng", "XA-GB",
     "https://iopscience.iop.org/journal/1367-2630", True),
    ("Atmospheric chemistry and physics", "Katlenburg-Lindau", "Copernicus", "1680-7324", "1680-7316", "2001", "eng",
     "XA-DE", "https://www.atmospheric-chemistry-and-physics.net/", True),
    ("Nature", "London", "Nature Publ. Group", "1476-4687", "0028-0836", "1869", "eng", "XA-GB",
     "https://www.nature.com/nature/", False),
    ("Science", "Washington, DC", "American Association for the Advancement of Science", "1095-9203", "0036-8075",
     "1880", "eng", "XD-US", "https://www.science.org/journal/science", False),
    ("Cell", "Cambridge, Mass.", "Cell Press", "1097-4172", "0092-8674", "1974", "eng", "XD-US",
     "https://www.cell.com/cell/", False),
    ("The @lancet", "London", "Elsevier", "1474-547X", "0140-6736", "1823", "eng", "XA-GB",
     "https://www.thelancet.com/journals/lancet/", False),
    ("Angewandte Chemie", "Weinheim", "Wiley-VCH", "1521-3757", "0044-8249", "1998", "ger", "XA-DE",
     "https://onlinelibrary.wiley.com/journal/15213757", False),
    ("Journal of the American Chemical Society", "Washington, DC", "American Chemical Society", "1520-5126",
     "0002-7863", "1879", "eng", "XD-US", "https://pubs.acs.org/journal/jacsat", False),
    ("Physical review letters", "Ridge, NY", "American Physical Society", "1079-7114", "0031-9007", "1958", "eng",
     "XD-US", "https://journals.aps.org/prl/", False),
    ("Historische Zeitschrift", "München", "Oldenbourg", "2196-680X", "0018-2613", "1859", "ger", "XA-DE",
     "https://www.degruyter.com/journal/key/hzhz/html", False),
    ("Bibliothek, Forschung und Praxis", "Berlin", "De Gruyter Saur", "1865-7648", "0341-4183", "1977", "ger",
     "XA-DE", "https://www.degruyter.com/journal/key/bfup/html", False),
    ("D-Lib magazine", "Reston, Va.", "Corporation for National Research Initiatives", "1082-9873", "", "1995",
     "eng", "XD-US", "http://www.dlib.org/", True),
    ("First Monday", "Chicago, Ill.", "Univ. of Illinois at Chicago", "1396-0466", "", "1996", "eng", "XD-US",
     "https://firstmonday.org/", True),
    ("LIBREAS", "Berlin", "Humboldt-Univ.", "1860-7950", "", "2005", "ger", "XA-DE", "https://libreas.eu/", True),
]

# Holders: library code (sigel) -> ILN, name, proxy prefix for licence-dependent URLs.
HOLDERS = {
    "A": ("901", "Library A", "https://proxy.lib-a.example/login?url="),
    "B": ("902", "Library B", "https://ezproxy.lib-b.example/login?url="),
    "WWW 1": ("900", "Konsortium A-B-C (virtual sigel for all member libraries)", ""),
}


def _issn_ok(issn: str) -> bool:
    digits = issn.replace("-", "")
    total = sum(int(d) * w for d, w in zip(digits[:7], range(8, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return digits[7] == ("X" if check == 10 else str(check))


def _ppn(number: int) -> str:
    """A PICA production number with its mod-11 check character."""
    digits = f"{number:08d}"
    total = sum(int(d) * w for d, w in zip(reversed(digits), range(2, 10), strict=True))
    check = (11 - total % 11) % 11
    return digits + ("X" if check == 10 else str(check))


def _plain(tag: str, *subfields: tuple[str, str]) -> str:
    return tag + " " + "".join(f"${code}{value.replace('$', '$$')}" for code, value in subfields if value)


def ejournal_records() -> list[str]:
    records = []
    for index, (title, place, publisher, issn, print_issn, year, lang, country, url, free) in enumerate(JOURNALS):
        assert _issn_ok(issn) and (not print_issn or _issn_ok(print_issn)), title
        ppn = _ppn(87000000 + 7919 * index)
        day = f"{1 + index % 28:02d}-{1 + index % 12:02d}"
        lines = [
            _plain("001A", ("0", f"1240:{day}-09")),
            _plain("001B", ("0", f"1240:{day}-24"), ("t", f"{8 + index % 10:02d}:{index * 7 % 60:02d}:00.000")),
            _plain("001U", ("0", "utf8")),
            _plain("002@", ("0", "Obvl" if free else "Obvz")),
            _plain("003@", ("0", ppn)),
        ]
        if free:
            lines.append(_plain("004U", ("0", f"urn:nbn:de:0000-sample-{issn.replace('-', '').lower()}")))
        lines += [
            _plain("005A", ("0", issn)),
            _plain("010@", ("a", lang)),
            _plain("011@", ("a", year)),
            _plain("019@", ("a", country)),
            _plain("021A", ("a", title)),
            _plain("031@", ("a", f"{year} -")),
            _plain("031N", ("j", year)),
            _plain("033A", ("p", place), ("n", publisher)),
            _plain("009Q", ("u", url), ("x", "H"), ("z", "LF" if free else "")),
        ]
        if print_issn:
            lines.append(_plain("039D", ("a", "Druckausg."), ("9", _ppn(86000000 + 7919 * index)),
                                ("Y", title.replace("@", "")), ("C", "ISSN"), ("6", print_issn)))
        lines.sort(key=lambda line: line[:4])
        holders = ["A", "WWW 1"] if free else (["A", "B"] if index % 3 else ["A", "B", "WWW 1"])
        for number, sigel in enumerate(holders):
            iln, name, proxy = HOLDERS[sigel]
            epn = _ppn(50000000 + 100 * index + number)
            licence = "Lizenzfrei" if free else ("Konsortiallizenz" if sigel == "WWW 1" else "Campuslizenz")
            lines += [
                _plain("101@", ("a", iln), ("c", sigel)),
                _plain("201B/01", ("0", f"{day}-24"), ("t", "10:00:00.000")),
                _plain("203@/01", ("0", epn)),
                _plain("208@/01", ("a", f"{day}-24"), ("b", "x")),
                *([_plain("209A/01", ("a", "E-Zeitschrift"), ("x", "00"))] if sigel != "WWW 1" else []),
                _plain("209R/01", ("u", (proxy + url) if proxy and not free else url)),
                _plain("209B/01", ("a", f"{year} -" if index % 2 else "Elektronische Zeitschrift"), ("x", "32")),
                _plain("209B/01", ("a", licence), ("x", "43")),
                _plain("247C/01", ("S", sigel), ("a", name)),
            ]
        records.append("\n".join(lines) + "\n")
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="LC Books All 2016 part 01 (UTF-8)")
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write into")
    args = parser.parse_args()
    if not args.source.exists():
        raise SystemExit(f"{args.source} absent: run ../shared/scripts/get-lc-books first")
    libraries = build_libraries(pick_records(args.source))
    write_iso2709(libraries["A"], args.out / "lib-a.mrc")
    write_iso2709(libraries["B"], args.out / "lib-b.mrc")
    write_marcxml(libraries["C"], args.out / "lib-c.xml")
    (args.out / "ejournals.pica").write_text("\n".join(ejournal_records()), encoding="utf-8")
    for name in ("lib-a.mrc", "lib-b.mrc", "lib-c.xml", "ejournals.pica"):
        print(f"{name}: {(args.out / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
