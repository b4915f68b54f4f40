"""Relevance ranking measured: known-item searches on real LC records, before and after.

A known-item search is what a reader types for a book they know: words of its title, or a few
title words and the author's surname. The set is drawn from the first `--size` LC records
(bench/common.py lc_subset) with a fixed seed: a record is taken when its title proper (245 $a)
has at least two words; half the queries (when the record has a 100 $a) are the first 1–3
title words and the surname (100 $a before its comma), the others the first 2–5 title words.
A leading article the 245 second indicator skips is left out, as readers leave it out; the words
are as normalized (lower case, no punctuation), typed into the web page's search box
(`zserver.web.page.build_query`: every word in any field) and ranked by relevance, the web
page's default order. The wanted record's rank is the first position of any record of the same
work (same normalized 245 $a $b and 100 $a: LC holds several editions of one title, which no
query can tell apart); its reciprocal rank is 0 when it is not among the first 1,000.

Reports the mean reciprocal rank, success@1 and success@10 for each engine and each code
version: "after" is this checkout, "before" the code of `--before` (a `git worktree` of the
commit before the change). One home is loaded (store and search-key files, this checkout's
code); each (code, engine) gets an index built from those key files by that code
(`unikat index --from-keys`), so only the ranking differs. Index size and build time of each
are reported too.

    .venv/bin/python bench/relevance.py --size 100000 --before /work/before-rel
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.argv[1:2] != ["measure"]:   # measuring runs the code of PYTHONPATH (before or after)
    sys.path.insert(0, str(HERE.parent))

ENGINES = ("postings", "whoosh")
DEPTH = 1000   # ranks looked at; a wanted record further down counts as not found
ARTICLES = frozenset({"the", "a", "an"})


# --- the known-item set ------------------------------------------------------------------------

def _work_key(record) -> tuple[str, str]:
    from index.searchkeys.normalize import normalize

    f245, f100 = record.get("245"), record.get("100")
    title = normalize(" ".join(f245.get_subfields("a", "b"))) if f245 is not None else ""
    author = normalize(f100.get("a") or "") if f100 is not None else ""
    return title, author


def _title_words(record) -> list[str]:
    from index.searchkeys.normalize import normalize

    f245 = record["245"]
    text = f245.get("a") or ""
    skip = int(f245.indicator2) if (f245.indicator2 or "").isdigit() else 0
    words = normalize(text[skip:]).split()
    if words and words[0] in ARTICLES:
        words = words[1:]
    return words


def known_items(records: Path, count: int, seed: int) -> list[dict]:
    """`count` known-item searches drawn from `records` with `seed`: each a query and the 001s
    of every record of the wanted work."""
    import pymarc

    from index.searchkeys.normalize import normalize

    candidates, works = [], {}
    with open(records, "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            if record is None or record.get("001") is None:
                continue
            number = record["001"].data.strip()
            works.setdefault(_work_key(record), []).append(number)
            if record.get("245") is not None and len(_title_words(record)) >= 2:
                surname = normalize((record["100"].get("a") or "").split(",")[0]) if record.get("100") else ""
                candidates.append((number, _title_words(record), surname.split()[0] if surname else "",
                                   _work_key(record)))
    rng = random.Random(seed)
    items = []
    for number, words, surname, work in rng.sample(candidates, min(count, len(candidates))):
        if surname and rng.random() < 0.5:
            kind, query = "title+author", " ".join(words[:rng.randint(1, 3)] + [surname])
        else:
            kind, query = "title", " ".join(words[:rng.randint(2, 5)])
        items.append({"kind": kind, "query": query, "wanted": number, "work": works[work]})
    return items


# --- measuring (run with the code under test on PYTHONPATH) -------------------------------------

def measure(home: Path, items: list[dict]) -> dict:
    """Run every known-item query on `home` as the web page does; reciprocal ranks and timing."""
    from index.engines.base import RELEVANCE
    from index.home import Home
    from index.query import Structure, Term
    from index.search import Catalog
    from zserver.web.page import build_query

    catalog = Catalog(Home(home))
    database = catalog.database(catalog.config.database)

    def isns_of(numbers: list[str]) -> set[int]:
        found = set()
        for number in numbers:
            hits = catalog.search(Term("local_number", number, structure=Structure.KEY), database)
            found.update(hits.isns(0, 5))
        return found

    ranks, seconds = [], []
    for item in items:
        wanted = isns_of(item["work"])
        started = time.perf_counter()
        result = catalog.search(build_query(item["query"]), database, sort=[RELEVANCE])
        isns = result.isns(0, DEPTH)
        seconds.append(time.perf_counter() - started)
        rank = next((at for at, isn in enumerate(isns, 1) if isn in wanted), None)
        ranks.append({"query": item["query"], "kind": item["kind"], "hits": result.size, "rank": rank})
    catalog.close()
    return {"ranks": ranks, "seconds": seconds}


def summary(ranks: list[dict]) -> dict:
    """MRR, success@1 and @10 of all the queries and of each kind."""
    kinds = sorted({r["kind"] for r in ranks})
    return {**_summary(ranks), "by_kind": {kind: _summary([r for r in ranks if r["kind"] == kind]) for kind in kinds}}


def _summary(ranks: list[dict]) -> dict:
    reciprocal = [1 / r["rank"] if r["rank"] else 0.0 for r in ranks]
    count = max(len(ranks), 1)
    return {"queries": len(ranks), "mrr": round(sum(reciprocal) / count, 3),
            "success_at_1": round(sum(1 for r in ranks if r["rank"] == 1) / count, 3),
            "success_at_10": round(sum(1 for r in ranks if r["rank"] and r["rank"] <= 10) / count, 3),
            "not_found": sum(1 for r in ranks if not r["rank"])}


# --- homes ----------------------------------------------------------------------------------------

def _run(command: list[str], log: Path, src: Path | None = None) -> float:
    environment = {**os.environ, "PYTHONPATH": str(src)} if src else None
    started = time.perf_counter()
    with open(log, "ab") as out:
        # cwd: `python -m` puts the working directory first on sys.path
        subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=src)
    return time.perf_counter() - started


def base_home(root: Path, size: int) -> Path:
    """The loaded home (this checkout's code): store and search-key files every index is built from."""
    from common import REPO, lc_subset, unikat_home

    base = root / "base"
    if (base / "loaded").exists():
        return base
    unikat_home(base)
    _run([str(REPO / ".venv" / "bin" / "unikat"), "--home", str(base), "load", "--library", "LC", str(lc_subset(size))],
         root / "load.log")
    (base / "loaded").write_text("yes\n")
    return base


def variant_home(root: Path, base: Path, code: str, src: Path, engine: str) -> dict:
    """A home sharing `base`'s store and key files, with an index of `engine` built by the code
    in `src`; returns its build time and index size."""
    from common import REPO, directory_size_mb

    home = root / f"{code}-{engine}"
    stamp = home / "built.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    home.mkdir(parents=True, exist_ok=True)
    (home / "unikat.toml").write_text((base / "unikat.toml").read_text().replace('engine = "postings"',
                                                                                   f'engine = "{engine}"'))
    for name in ("catalog.sqlite", "searchkeys"):
        if not (home / name).exists():
            (home / name).symlink_to(base / name)
    seconds = _run([str(REPO / ".venv" / "bin" / "python"), "-m", "zserver", "--home", str(home), "index",
                    "--from-keys"], root / f"{code}-{engine}.log", src)
    built = {"build_seconds": round(seconds, 1), "index_mb": round(directory_size_mb(home / engine), 1)}
    stamp.write_text(json.dumps(built))
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--codes", default="after,before", help="which code versions to measure")
    args = parser.parse_args()
    from common import OUT, REPO, lc_subset

    root = OUT / f"relevance-{args.size}"
    root.mkdir(parents=True, exist_ok=True)
    items_path = root / f"items-{args.seed}-{args.queries}.json"
    if not items_path.exists():
        items_path.write_text(json.dumps(known_items(lc_subset(args.size), args.queries, args.seed), indent=1))
    base = base_home(root, args.size)
    codes = {"after": REPO, **({"before": args.before.resolve()} if args.before else {})}
    codes = {code: src for code, src in codes.items() if code in args.codes.split(",")}
    results = {"size": args.size, "queries": args.queries, "seed": args.seed, "runs": []}
    for code, src in codes.items():
        for engine in args.engines.split(","):
            built = variant_home(root, base, code, src, engine)
            output = root / f"{code}-{engine}-ranks.json"
            subprocess.run([str(REPO / ".venv" / "bin" / "python"), __file__, "measure", str(root / f"{code}-{engine}"),
                            str(items_path), str(output)], check=True, env={**os.environ, "PYTHONPATH": str(src)})
            measured = json.loads(output.read_text())
            seconds = sorted(measured["seconds"])
            row = {"code": code, "engine": engine, **built, **summary(measured["ranks"]),
                   "median_ms": round(1000 * seconds[len(seconds) // 2], 1) if seconds else None}
            results["runs"].append(row)
            print(json.dumps(row), flush=True)
    (root / f"runs-{args.codes.replace(',', '-')}-{args.engines.replace(',', '-')}.json").write_text(
        json.dumps(results, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["measure"]:
        home, items, output = sys.argv[2:5]
        Path(output).write_text(json.dumps(measure(Path(home), json.loads(Path(items).read_text()))))
    else:
        main()
