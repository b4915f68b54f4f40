"""Consolidation quality on labelled sets, and consolidation throughput on LC records.

    .venv/bin/python bench/consolidate.py                 # quality table for every labelled set
    .venv/bin/python bench/consolidate.py --sizes 10000,100000,250000   # + throughput
    .venv/bin/python bench/consolidate.py --errors        # + every wrong decision, for tuning

    .venv/bin/python bench/consolidate.py --method components   # the old method (chains), for comparison

Quality is measured on pairs of records: precision = correctly merged pairs / merged pairs,
recall = correctly merged pairs / pairs that should be merged. "doubtful" counts the wrong merges
(by the labels) whose label the records themselves put in doubt, for one of three reasons, each
counted on its own (a pair counts for the first that applies):
- "same": the two records share an identifier (ISBN, ISSN, LCCN, OCLC, national bibliography or
  publisher number), the year and the page count (or one does not state it);
- "split": the labels put them in two groups that hold such a "same" pair between them: the gold
  standard splits one edition over two masters (swissbib's masters come from its own
  clustering: three masters of one ISBN, two masters holding OCLC 891914550), so its "different"
  between those masters says nothing;
- "alike": the records differ in nothing the matcher compares (kind, carrier, language, year,
  title, part, edition, main author, pages, extent, publisher, music format, running time, size;
  each equal or stated by one record only) and every kind of identifier both carry (ISBN, ISSN,
  LCCN, national bibliography number, OCLC) shares a value: no cataloguer could tell them apart
  from what the records say.
"P-same" is precision with only the "same" pairs set aside (the rule until 2026-12-03), "P-aside"
with all doubtful pairs set aside (left out of the merged pairs; they are never in the gold
pairs): correct / (merged - doubtful). Recall is unchanged by either.
"chained" counts merged pairs (two records in one title) that `compare` scores as a non-match,
guard conflicts included: merges made only through third records. It must be 0.
Clusters are those `index.consolidation.clusters.clusters` makes (each record placed in turn,
complete linkage), the same placement the store's loading and full re-consolidation use, with
the default rules of `index.consolidation.match`; `--method components` measures the connected
components used before.

Labelled sets (../shared/data, see its README):
- swissbib gold standard: 435 library records in 159 duplicate groups (slave.json, grouped by the
  master whose 035 lists them) and 596 confirmed non-duplicates (unique.json). Its JSON features are
  turned into MARC (`swissbib_record`) so that the same element extraction runs.
- Melinda: labelled record pairs (`match-detection/index/*`, bibliographic ones), MARC-in-JSON;
  six "no match" labels that do not speak about the records are left out (see
  `_MELINDA_NOT_ABOUT_RECORDS`).
- pride-and-prejudice-fixed.mrc: 383 records of one work from several catalogs. It carries no
  labels; `bench/labels/pride-and-prejudice.tsv` holds ours (which records are the same edition),
  made by reading the records, see that file's head.
- thomas-mann.xml.gz: 352 records of one author's works and their translations in one catalog,
  which holds some editions twice; `bench/labels/thomas-mann.tsv` lists those (read by hand as for
  pride-and-prejudice). The table also counts merges across languages, which must be none.

Throughput (`--sizes`): records/s at each size of loading N LC records into a fresh store with
consolidation on (reading, storing, matching and merging; the index is not built), of a full
re-consolidation of that store (`changed`: titles the full run formed differently from the
incremental one; 0 means the two paths agree), and of clustering the same records in memory
(`block`: the most records one placement compared).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path

import pymarc

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from index.consolidation.clusters import Clustering, clusters, components  # noqa: E402
from index.consolidation.keys import MatchElements, elements  # noqa: E402
from index.consolidation.match import MatchRules, compare  # noqa: E402
from index.records.marc import read_marc21, read_marcxml  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "github"
LABELS = BENCH / "labels"


# -- pairwise scores ---------------------------------------------------------------------------

def pairs_of(groups: Iterable[Iterable]) -> set[tuple]:
    result = set()
    for group in groups:
        result.update(tuple(sorted(pair)) for pair in combinations(sorted(group), 2))
    return result


def score(found: set[tuple], gold: set[tuple], universe: set[tuple] | None = None) -> dict:
    """Pairwise precision/recall; `universe` limits both to labelled pairs (for pair sets)."""
    if universe is not None:
        found = found & universe
    true = len(found & gold)
    return {"merged_pairs": len(found), "gold_pairs": len(gold), "correct": true,
            "precision": true / len(found) if found else 1.0, "recall": true / len(gold) if gold else 1.0}


# -- swissbib ----------------------------------------------------------------------------------

_SURNAME_END = re.compile(r"(?<=[a-zäöüßéèàç'])(?=[A-ZÄÖÜÉ])")
_SWISSBIB_KIND = {"BK01": "aa", "BK02": "am", "CR03": "as", "MU01": "cm", "MU03": "im", "MU04": "jm",
                  "VM01": "gm", "VM02": "gm", "VM03": "gm", "MP01": "em", "CF01": "mm"}


def swissbib_record(doc: dict) -> pymarc.Record:
    """A MARC record carrying a swissbib feature document's data in the fields they came from."""
    from pymarc import Field, Indicators, Subfield

    code = (doc.get("format") or ["BK020000"])[0]
    kind = _SWISSBIB_KIND.get(code[:4], "am")
    online = code.endswith("53")
    record = pymarc.Record(force_utf8=True, leader=f"00000n{kind} a2200000 a 4500")
    dates = (doc.get("exactDate") or doc.get("pubyear") or "").ljust(8)[:8]
    form = "o" if online else " "
    record.add_field(Field(tag="001", data=doc["docid"]))
    if online:
        record.add_field(Field(tag="007", data="cr"))
    record.add_field(Field(tag="008", data=f"000000s{dates}xx {' ' * 5}{form}{' ' * 11}   d"))

    def data(tag: str, subfields: list[tuple[str, str]], ind: str = "  ") -> None:
        subfields = [(c, v) for c, v in subfields if v and v.strip()]
        if subfields:
            record.add_field(Field(tag=tag, indicators=Indicators(*ind),
                                   subfields=[Subfield(c, v) for c, v in subfields]))

    for isbn in doc.get("isbn", []):
        data("022" if len(isbn.replace("-", "")) == 8 and code.startswith("CR") else "020", [("a", isbn)])
    for number in doc.get("035liste", []):
        if number.startswith("(OCoLC)"):
            data("035", [("a", number)])
    # The feature joins several 028 $a into one string ("10425EP 71"): split where a number ends
    # and a label begins.
    for number in re.split(r"(?<=\d)(?=[A-Z])|(?<=\d[a-z])(?=[A-Z])", doc.get("musicid") or ""):
        data("028", [("a", number)], "02")
    # Person names come as surname and forenames run together ("FrischMax"): give back the comma.
    persons = {tag: [_SURNAME_END.sub(", ", name, count=1) for name in names] if tag != "245c" else names
               for tag, names in doc.get("person", {}).items()}
    corporates = doc.get("corporate", {})
    for name in persons.get("100", [])[:1]:
        data("100", [("a", name)], "1 ")
    for name in corporates.get("110", [])[:1]:
        data("110", [("a", name)], "2 ")
    titles = doc.get("ttlfull", {})
    t245 = titles.get("245", [])
    data("245", [("a", t245[0] if t245 else ""), ("b", " : ".join(t245[1:])),
                 ("c", (persons.get("245c") or [""])[0])], "10")
    for title in titles.get("246", []):
        data("246", [("a", title)], "3 ")
    data("250", [("a", doc.get("edition", ""))])
    for publisher in doc.get("pubword", [])[:1]:
        data("264", [("b", publisher), ("c", dates[:4])], " 1")
    for pages in doc.get("pages", [])[:1]:
        data("300", [("a", pages)])
    for part in doc.get("part", [])[:1]:
        data("490", [("a", "Series"), ("v", part)], "0 ")
    for tag in ("700", "800"):
        for name in persons.get(tag, []):
            data(tag, [("a", name)], "1 ")
    for tag in ("710", "810"):
        for name in corporates.get(tag, []):
            data(tag, [("a", name)], "2 ")
    return record


def swissbib() -> tuple[dict, set, set | None]:
    folder = DATA / "swissbib+clustering_metadata"
    masters = [json.loads(line) for line in open(folder / "master.json", encoding="utf-8")]
    owner = {number: m["docid"] for m in masters for number in m["035liste"]}
    profiles, groups = {}, defaultdict(list)
    for name in ("slave", "unique"):
        for line in open(folder / f"{name}.json", encoding="utf-8"):
            doc = json.loads(line)
            key = f"{name}:{doc['docid']}"
            profiles[key] = elements(swissbib_record(doc))
            if name == "slave":
                master = {owner[n] for n in doc["035liste"] if n in owner}
                groups[master.pop()].append(key)
    return profiles, pairs_of(groups.values()), None


# -- Melinda -----------------------------------------------------------------------------------

def marc_in_json(data: dict) -> pymarc.Record:
    from pymarc import Field, Indicators, Subfield

    record = pymarc.Record(force_utf8=True, leader=data["leader"])
    for f in data["fields"]:
        if "value" in f:
            record.add_field(Field(tag=f["tag"], data=f["value"]))
        else:
            subfields = [Subfield(s["code"], s.get("value", "")) for s in f.get("subfields", [])]
            record.add_field(Field(tag=f["tag"], indicators=Indicators(f.get("ind1", " "), f.get("ind2", " ")),
                                   subfields=subfields))
    return record


# Melinda cases whose "no match" label is not a statement about the records: 06 and 07 test one
# feature on records that lack it (the records are otherwise identical), 08, 10, 12 and 23 turn on
# Melinda's local SID field (two records of one source database never match there).
_MELINDA_NOT_ABOUT_RECORDS = {"06", "07", "08", "10", "12", "23"}


def melinda() -> tuple[dict, set, set]:
    folder = DATA / "NatLibFi+melinda-record-matching-js" / "test-fixtures" / "match-detection" / "index"
    profiles, gold, universe = {}, set(), set()
    for case in sorted(folder.iterdir()):
        meta = json.loads((case / "metadata.json").read_text())
        if meta.get("options", {}).get("strategy", {}).get("type") != "bib" or case.name in _MELINDA_NOT_ABOUT_RECORDS:
            continue
        a = json.loads((case / "recordA.json").read_text())
        b = json.loads((case / "recordB.json").read_text())
        expected = meta["expectedResults"]
        others = b if isinstance(b, list) else [b]
        results = expected if isinstance(expected, list) else [expected]
        profiles[f"{case.name}:A"] = elements(marc_in_json(a))
        for number, (other, result) in enumerate(zip(others, results, strict=True)):
            key = f"{case.name}:B{number}"
            profiles[key] = elements(marc_in_json(other))
            pair = tuple(sorted((f"{case.name}:A", key)))
            universe.add(pair)
            if result["match"]:
                gold.add(pair)
    return profiles, gold, universe


# -- MARC files --------------------------------------------------------------------------------

def _read(path: Path, xml: bool = False) -> list[pymarc.Record]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    items = read_marcxml(data) if xml else read_marc21(data)
    return [item.record for item in items if hasattr(item, "record")]


def _label_groups(name: str) -> set[tuple]:
    groups = defaultdict(list)
    for line in (LABELS / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            number, group = line.split("\t")[:2]
            groups[group].append(int(number))
    return pairs_of(groups.values())


def pride_and_prejudice() -> tuple[dict, set, set | None]:
    records = _read(DATA / "marc4j+marc4j" / "pride-and-prejudice-fixed.mrc")
    profiles = {number: elements(record) for number, record in enumerate(records)}
    return profiles, _label_groups("pride-and-prejudice.tsv"), None


def thomas_mann() -> tuple[dict, set, set | None]:
    records = _read(DATA / "pkiraly+qa-catalogue" / "thomas-mann.xml.gz", xml=True)
    profiles = {number: elements(record) for number, record in enumerate(records)}
    return profiles, _label_groups("thomas-mann.tsv"), None


SETS = {"swissbib": swissbib, "melinda": melinda, "pride-and-prejudice": pride_and_prejudice,
        "thomas-mann": thomas_mann}


METHODS = {"clusters": clusters, "components": components}


def evaluate(rules: MatchRules, show_errors: bool, method: str = "clusters") -> list[dict]:
    rows = []
    for name, loader in SETS.items():
        profiles, gold, universe = loader()
        groups = METHODS[method](profiles, rules)
        found = pairs_of(g for g in groups if len(g) > 1)
        row = {"set": name, "records": len(profiles), "clusters": len(groups), **score(found, gold, universe),
               "cross_language": sum(1 for a, b in found if _languages_differ(profiles[a], profiles[b]))}
        wrong = (found & universe if universe is not None else found) - gold
        group = _label_group(gold)
        doubts = [reason for pair in wrong if (reason := _doubt(pair, profiles, group))]
        row.update({f"doubtful_{reason}": doubts.count(reason) for reason in DOUBTS}, doubtful=len(doubts))
        row["precision_same"] = _precision_aside(row, row["doubtful_same"])
        row["precision_aside"] = _precision_aside(row, row["doubtful"])
        row["chained"] = sum(1 for a, b in found if not compare(profiles[a], profiles[b], rules).matched)
        rows.append(row)
        if show_errors:
            _errors(name, profiles, found, gold, universe, rules)
    return rows


DOUBTS = ("same", "split", "alike")
_COMPARED = ("kind", "carrier", "language", "year", "title", "part", "edition", "author", "pages", "extent",
             "publisher", "music_format", "minutes", "size")


def _precision_aside(row: dict, doubtful: int) -> float:
    kept = row["merged_pairs"] - doubtful
    return row["correct"] / kept if kept else 1.0


def _label_group(gold: set[tuple]) -> dict:
    """Each labelled record's group (the records the labels put with it, itself included)."""
    group: dict = {}
    for a, b in gold:
        merged = group.get(a, {a}) | group.get(b, {b})
        for key in merged:
            group[key] = merged
    return group


def _doubt(pair: tuple, profiles: dict, group: dict) -> str:
    """Why the label of a wrong merge is in doubt (see the module's doc), "" when it is not."""
    a, b = (profiles[key] for key in pair)
    if _same_manifestation(a, b):
        return "same"
    if any(_same_manifestation(profiles[x], profiles[y])
           for x in group.get(pair[0], {pair[0]}) for y in group.get(pair[1], {pair[1]})):
        return "split"
    if _alike(a, b):
        return "alike"
    return ""


def _alike(a: MatchElements, b: MatchElements) -> bool:
    """No compared element differs (each equal, or stated by one record only), and each kind of
    identifier both carry shares a value."""
    unstated = ("", None, ())
    for name in _COMPARED:
        x, y = getattr(a, name), getattr(b, name)
        if x not in unstated and y not in unstated and x != y:
            return False
    return all(not x or not y or set(x) & set(y)
               for x, y in zip(a.strong_ids.values(), b.strong_ids.values(), strict=True))


def _same_manifestation(a: MatchElements, b: MatchElements) -> bool:
    """A shared identifier, the same year and the same (or an unstated) page count: a wrong merge
    by the labels that the records themselves contradict (the label is in doubt, not the merge)."""
    shared = any(set(x) & set(y) for x, y in zip(a.strong_ids.values(), b.strong_ids.values(), strict=True))
    shared = shared or bool({p.split("|")[0] for p in a.pubnum} & {p.split("|")[0] for p in b.pubnum})
    return shared and a.year == b.year and (a.pages is None or b.pages is None or a.pages == b.pages)


def _languages_differ(a: MatchElements, b: MatchElements) -> bool:
    return bool(a.language and b.language and a.language != b.language)


def _errors(name: str, profiles: dict, found: set, gold: set, universe: set | None, rules: MatchRules) -> None:
    found = found & universe if universe is not None else found
    for kind, pairs in (("wrong merge", found - gold), ("missed", gold - found)):
        for a, b in sorted(pairs, key=str)[:200]:
            verdict = compare(profiles[a], profiles[b], rules)
            print(f"[{name}] {kind}: {a} / {b}: {verdict.explain()}")
            for key in (a, b):
                p: MatchElements = profiles[key]
                print(f"      {key}: {p.kind} {p.carrier} {p.language} y={p.year} t='{p.title[:60]}' part='{p.part}'"
                      f" ed='{p.edition}' au='{p.author}' pp={p.pages}/{p.extent} pub='{p.publisher}' isbn={p.isbn[:2]}")


# -- throughput --------------------------------------------------------------------------------

def throughput(size: int) -> dict:
    """Records/s of consolidation on `size` LC records, three ways: loading into a fresh store with
    consolidation on (reading, storing, matching, merging; no index), re-consolidating that store
    from scratch, and clustering in memory (match elements + components)."""
    import shutil

    from common import OUT, lc_subset

    from index.home import Home
    from index.loading.load import load_file
    from index.store.catalog import CatalogStore
    from index.titles import reconsolidate

    path = lc_subset(size)
    root = OUT / f"consolidate-{size}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "unikat.toml").write_text('[catalog]\nname = "bench"\n[libraries.LC]\nsource_system = "LC"\n'
                                      'holdings = "record"\n')
    home = Home(root)
    store = CatalogStore(home.store_path)
    try:
        started = time.perf_counter()
        report = load_file(home, store, home.config().libraries["LC"], path)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        with store.transaction():
            counts = reconsolidate(store, home.config().consolidation.rules)
        rebuilt = time.perf_counter() - started
    finally:
        store.close()
    records = [item.record for item in read_marc21(path.read_bytes()) if hasattr(item, "record")]
    started = time.perf_counter()
    clustering = Clustering()
    for number, record in enumerate(records):
        clustering.add(number, elements(record))
    groups = clustering.groups()
    in_memory = time.perf_counter() - started
    return {"records": report.counts["read"], "load_s": round(loaded, 1), "load_per_s": round(size / loaded),
            "merged_on_load": report.counts["merged"], "rebuild_s": round(rebuilt, 1),
            "rebuild_per_s": round(size / rebuilt), "clusters": counts["clusters"],
            "changed_by_rebuild": counts["titles_changed"],
            "memory_s": round(in_memory, 1), "memory_per_s": round(len(records) / in_memory),
            "memory_clusters": sum(1 for g in groups if len(g) > 1), "largest_block": clustering.largest_block}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="", help="LC record counts for throughput, e.g. 10000,100000,250000")
    parser.add_argument("--errors", action="store_true", help="print every wrong decision")
    parser.add_argument("--method", choices=sorted(METHODS), default="clusters",
                        help="clusters: complete linkage (what unikat does); components: the old chaining method")
    args = parser.parse_args()
    rows = evaluate(MatchRules(), args.errors, args.method)
    print(f"method: {args.method}")
    print(f"{'set':22} {'records':>7} {'clusters':>8} {'merged':>7} {'gold':>6} {'precision':>9} {'recall':>7}"
          f" {'x-lang':>6} {'doubtful (same/split/alike)':>27} {'P-same':>6} {'P-aside':>7} {'chained':>7}")
    for r in rows:
        doubtful = f"{r['doubtful']} ({'/'.join(str(r[f'doubtful_{d}']) for d in DOUBTS)})"
        print(f"{r['set']:22} {r['records']:7} {r['clusters']:8} {r['merged_pairs']:7} {r['gold_pairs']:6}"
              f" {r['precision']:9.3f} {r['recall']:7.3f} {r['cross_language']:6} {doubtful:>27}"
              f" {r['precision_same']:6.3f} {r['precision_aside']:7.3f} {r['chained']:7}")
    print("merged/gold: record pairs; x-lang: merged pairs across languages; doubtful: wrong merges by the"
          " labels that the records put in doubt (same: they share an identifier, the year and the page"
          " count; split: the labels split two records that are 'same' between their groups; alike: nothing"
          " the matcher compares differs); P-same: precision with the 'same' pairs set aside; P-aside: with"
          " all doubtful pairs set aside; chained: merged pairs the matcher scores as a non-match")
    if args.sizes:
        print(f"\n{'LC records':>10} | {'load s':>7} {'rec/s':>6} {'merged':>6} | {'rebuild s':>9} {'rec/s':>6}"
              f" {'clusters':>8} {'changed':>7} | {'memory s':>8} {'rec/s':>6} {'clusters':>8} {'block':>5}")
        for size in (int(s) for s in args.sizes.split(",")):
            t = throughput(size)
            print(f"{t['records']:10} | {t['load_s']:7} {t['load_per_s']:6} {t['merged_on_load']:6} |"
                  f" {t['rebuild_s']:9} {t['rebuild_per_s']:6} {t['clusters']:8} {t['changed_by_rebuild']:7} |"
                  f" {t['memory_s']:8} {t['memory_per_s']:6} {t['memory_clusters']:8} {t['largest_block']:5}", flush=True)
        print("block: the most records one placement compared (candidates sharing a key, and members of"
              " the titles it could join)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
