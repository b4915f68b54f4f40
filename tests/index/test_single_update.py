"""One record applied as a load applies it (index.loading.single), as the Z39.50 Update does:
the maintenance key, the loader's checks, consolidation, pending marks for the index, the load
log; who may change what. And `[users.NAME] library` in unikat.toml."""

from __future__ import annotations

import pytest
from updatedata import iso2709, marcxml, record

from index.config import ConfigError, parse_config
from index.loading.single import Action, Refusal, UpdateRefused, apply_update
from index.store.catalog import CatalogStore

ISBN = "9783161484100"


@pytest.fixture()
def store(home):
    opened = CatalogStore.of(home)
    yield opened
    opened.close()


def update(home, store, library: str, action: Action, data: bytes | None, **options):
    config = home.config()
    return apply_update(store, config, config.libraries[library], action, data, user="tester", **options)


def refused(home, store, library: str, action: Action, data: bytes | None, **options) -> UpdateRefused:
    with pytest.raises(UpdateRefused) as caught:
        update(home, store, library, action, data, **options)
    return caught.value


def test_insert_replace_delete_follow_the_maintenance_key(home, store):
    done = update(home, store, "A", Action.INSERT, iso2709(record("a-1", "Erster Band", isbn=ISBN)))
    assert (done.outcome, done.library, done.source_id) == ("new", "A", "a-1")
    assert store.pending() == ([done.isn], [])
    assert refused(home, store, "A", Action.INSERT, iso2709(record("a-1", "Again"))).reason is Refusal.CONFLICT
    replaced = update(home, store, "A", Action.REPLACE, marcxml(record("a-1", "Erster Band, neu", isbn=ISBN)))
    assert (replaced.outcome, replaced.isn) == ("updated", done.isn)
    assert b"neu" in store.find_record("A", "A-ILS", "a-1").marc
    assert update(home, store, "A", Action.UPSERT, marcxml(record("a-1", "Erster Band, neu", isbn=ISBN))
                  ).outcome == "unchanged"
    deleted = update(home, store, "A", Action.DELETE, None, record_id="a-1")
    assert (deleted.outcome, deleted.isn) == ("deleted", done.isn)
    assert store.find_record("A", "A-ILS", "a-1") is None and store.pending()[1] == [done.isn]
    gone = refused(home, store, "A", Action.DELETE, None, record_id="a-1")
    assert gone.reason is Refusal.CONFLICT and "has no record a-1 to delete" in gone.message


def test_another_librarys_record_is_not_changed_but_its_own_copy_consolidates(home, store):
    theirs = update(home, store, "A", Action.INSERT, iso2709(record("x-7", "Gemeinsamer Titel", isbn=ISBN)))
    for action in (Action.REPLACE, Action.DELETE):
        refusal = refused(home, store, "B", action, iso2709(record("x-7", "Übernommen", library="B")))
        assert refusal.reason is Refusal.NOT_OWNER
        assert refusal.message == "record x-7 is library A's, not B's: a library changes and deletes only its own records"
    assert b"Gemeinsamer Titel" in store.find_record("A", "A-ILS", "x-7").marc
    # B's own record with the same number and ISBN is B's contribution: it joins A's title
    own = update(home, store, "B", Action.UPSERT, iso2709(record("x-7", "Gemeinsamer Titel", isbn=ISBN)))
    assert own.outcome == "merged" and own.isn == theirs.isn


def test_refusals_are_logged_like_a_loads_rejects(home, store):
    problem = refused(home, store, "C", Action.INSERT, iso2709(record("c-1", "Ohne Bestand", holdings=False)))
    assert problem.reason is Refusal.INVALID and problem.message == "record refused: no holdings of library C"
    empty = b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader></record>'
    assert refused(home, store, "A", Action.INSERT, empty).message.startswith("record refused: no control number")
    assert "neither MARC21" in refused(home, store, "A", Action.INSERT, b"plain text").message   # not logged: no load
    wrong = refused(home, store, "A", Action.INSERT, iso2709(record("a-2", "Titel")), record_id="a-3")
    assert wrong.message == "the record id 'a-3' is not the record's control number (001 'a-2')"
    assert "needs a record" in refused(home, store, "A", Action.REPLACE, None, record_id="a-2").message
    loads = store.loads()
    last = loads[-1]
    assert (last["library"], last["file"], last["read"], last["rejected"]) == ("A", "z3950 update replace by tester", 1, 1)
    reasons = [row[0] for row in store.db.execute("SELECT reason FROM rejects ORDER BY id")]
    assert reasons[0] == "record refused: no holdings of library C" and len(reasons) == 4
    assert store.pending() == ([], [])


def test_an_older_005_does_not_replace_a_newer_record(home, store):
    update(home, store, "A", Action.INSERT, iso2709(record("a-5", "Neu", version="20260101000000.0")))
    older = refused(home, store, "A", Action.REPLACE, iso2709(record("a-5", "Alt", version="20200101000000.0")))
    assert older.reason is Refusal.CONFLICT and "older than the stored record" in older.message


USER = """
[libraries.A]
source_system = "A-ILS"
[users.alib]
password_hash = "scrypt$16384$8$1$3mCIv7FvoQPv4eBtefEHkA$k59NMNd6c2ETigyh8xV236E1R7OJoKWlN54XZHWbEIs"
library = "{library}"
"""


def test_a_user_maintains_a_configured_library():
    assert parse_config(USER.format(library="A")).user_libraries == {"alib": "A"}
    with pytest.raises(ConfigError, match=r"\[users.alib\] library: 'Q' is not a \[libraries.CODE\] \(known: A\)"):
        parse_config(USER.format(library="Q"))
