"""`unikat clusters split|merge|keep-apart|pin|overrides|undo`: a librarian corrects consolidation.

    unikat clusters split 12 345 346 --note "the 2006 video is another release" --by anna
    unikat clusters merge 12 40 --note "same edition, ISBN misprinted"
    unikat clusters keep-apart 12 40
    unikat clusters pin 12
    unikat clusters overrides            # in force, each with what later deliveries changed
    unikat clusters overrides --all      # undone ones too
    unikat clusters undo 3

`split ISN RECORD...` takes record numbers (as `unikat clusters ISN` lists them), the others take
title numbers. Each change re-forms the titles involved, refreshes them and brings the index up to
date; what it means is `index.consolidation.overrides`.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from index.consolidation import overrides
from index.home import Home
from index.loading import indexing
from index.store import corrections
from index.titles import refresh_title

__all__ = ["COMMANDS", "CORRECTIONS", "run"]

CORRECTIONS = ("split", "merge", "keep-apart", "pin", "undo")   # they change titles: one at a time with loads
COMMANDS = (*CORRECTIONS, "overrides")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):   # no name for this uid (a container)
        return "unknown"


def _numbers(words: list[str]) -> list[int]:
    # ASCII digits below 2**63: int() takes "²" for a digit and refuses it, SQLite refuses more
    if not all(w.isascii() and w.isdigit() and len(w) <= 18 for w in words):
        raise overrides.OverrideError(f"expected numbers, got {' '.join(words)!r}")
    return [int(w) for w in words]


def run(args: argparse.Namespace, home: Home, store, procs: int) -> int:
    """Run `args.words` (command first); prints the outcome, returns the exit status."""
    command, words = args.words[0], args.words[1:]
    rules = home.config().consolidation.rules
    by = args.by or _user()
    try:
        if command == "overrides":
            return _list(store, rules, with_undone=args.all)
        numbers = _numbers(words)
        if command == "undo":
            if len(numbers) != 1:
                raise overrides.OverrideError("undo takes one override number (see 'unikat clusters overrides')")
            with store.transaction():
                touched = overrides.undo(store, rules, numbers[0], by)
                _refresh(store, touched)
            message = f"override {numbers[0]} undone by {by}"
        else:
            isns, records = (numbers[:1], numbers[1:]) if command == "split" else (numbers, [])
            with store.transaction():
                number, touched = overrides.apply(store, rules, command, isns, records, args.note or "", by)
                _refresh(store, touched)
            message = f"override {number}: {command} {' '.join(words)} by {by}"
    except overrides.OverrideError as error:
        print(f"unikat: clusters {command}: {error}", file=sys.stderr)
        return 2
    indexing.update(home, store, procs=procs)
    print(f"{message}; titles now: " + ", ".join(_shape(store, isn) for isn in touched))
    return 0


def _refresh(store, isns: list[int]) -> None:
    for isn in isns:
        if store.display(isn) is not None:
            refresh_title(store, isn)


def _shape(store, isn: int) -> str:
    members = store.records_of_title(isn)
    if not members:
        moved = corrections.redirect(store, isn)
        return f"{isn} (now {moved})" if moved else f"{isn} (gone)"
    return f"{isn} [{' '.join(str(m.id) for m in members)}]"


def _list(store, rules, *, with_undone: bool) -> int:
    found = corrections.overrides(store, with_undone=with_undone)
    if not found:
        print("no overrides" + ("" if with_undone else " in force"))
        return 0
    for override in found:
        state = f"undone {override.undone} by {override.undone_by}" if override.undone else "in force"
        sides = [" ".join(f"{m.library}/{m.source_id}" for m in override.side(n)) for n in (0, 1)]
        named = sides[0] + (f" | {sides[1]}" if sides[1] else "")
        print(f"{override.id}: {override.action} {' '.join(map(str, override.isns))} by {override.made_by}"
              f" {override.made} ({state}): {override.note or '-'}")
        print(f"    records: {named}")
        if not override.undone:
            for problem in overrides.status(store, rules, override).problems:
                print(f"    ! {problem}")
    return 0
