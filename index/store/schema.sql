-- The catalog store: the truth. Search-key files and the Whoosh index are rebuilt from it.
-- A title (ISN) is what users see: one or more member records (one per library delivery),
-- of which one is the master; its display record is the merged record served to clients.
PRAGMA foreign_keys = ON;

CREATE TABLE IF NOT EXISTS titles (
    isn       INTEGER PRIMARY KEY,
    master    INTEGER,               -- records.id of the record shown
    bibtype   TEXT NOT NULL,         -- leader/06-07: matching stays inside one type
    display   BLOB NOT NULL,         -- ISO 2709, UTF-8: the record served to clients
    changed   TEXT NOT NULL DEFAULT (datetime('now'))
);

-- one delivery of one library (before `records`, which refer to it)
CREATE TABLE IF NOT EXISTS loads (
    id            INTEGER PRIMARY KEY,
    library       TEXT NOT NULL,
    source_system TEXT NOT NULL,
    file          TEXT NOT NULL,
    format        TEXT NOT NULL,
    started       TEXT NOT NULL DEFAULT (datetime('now')),
    finished      TEXT,
    read          INTEGER NOT NULL DEFAULT 0,
    new           INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    deleted       INTEGER NOT NULL DEFAULT 0,
    rejected      INTEGER NOT NULL DEFAULT 0,
    merged        INTEGER NOT NULL DEFAULT 0,   -- new records that joined an existing title
    problems      TEXT NOT NULL DEFAULT '{}'    -- light problems: JSON {kind: count}
);

CREATE TABLE IF NOT EXISTS records (           -- one library's contribution (a member record)
    id            INTEGER PRIMARY KEY,
    isn           INTEGER NOT NULL REFERENCES titles(isn),
    library       TEXT NOT NULL,
    source_system TEXT NOT NULL,
    source_id     TEXT NOT NULL,               -- the record's id in its system (001)
    marc          BLOB NOT NULL,               -- ISO 2709, UTF-8, as normalized on load
    version       TEXT NOT NULL DEFAULT '',    -- 005 of the delivered record
    quality       INTEGER NOT NULL DEFAULT 0,
    load_id       INTEGER REFERENCES loads(id),
    profile       TEXT,                        -- consolidation short form (MatchElements JSON)
    UNIQUE (library, source_system, source_id) -- the maintenance key
);
CREATE INDEX IF NOT EXISTS records_isn ON records(isn);

-- Consolidation: the blocking keys of each member record. Only records sharing a key are
-- compared, so matching a new record costs a few index look-ups, not a scan of the catalog.
CREATE TABLE IF NOT EXISTS match_keys (
    key        TEXT NOT NULL,
    record_id  INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS match_keys_key ON match_keys(key);
CREATE INDEX IF NOT EXISTS match_keys_record ON match_keys(record_id);

-- The authority file (MELVYL's heading file). Authority records are titles of bibtype `z`
-- (their member record keeps the maintenance key); these tables list their headings and
-- identifiers, and the headings every bibliographic title uses, so a change in the authority
-- file finds the titles to re-link without reading them.
CREATE TABLE IF NOT EXISTS authority_headings (
    isn      INTEGER NOT NULL,     -- the authority record's title
    form     TEXT NOT NULL,        -- a: established (1XX), x: see-from (4XX), r: see-also (5XX)
    kind     TEXT NOT NULL,        -- personal, corporate, meeting, title, topical, geographic, genre
    key      TEXT NOT NULL,        -- normalized heading
    heading  TEXT NOT NULL         -- as catalogued
);
CREATE INDEX IF NOT EXISTS authority_headings_key ON authority_headings(kind, key);
CREATE INDEX IF NOT EXISTS authority_headings_isn ON authority_headings(isn);
CREATE TABLE IF NOT EXISTS authority_ids (
    id    TEXT NOT NULL,           -- normalized: (003)001, 001, 010, 035, 024
    isn   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS authority_ids_id ON authority_ids(id);
CREATE INDEX IF NOT EXISTS authority_ids_isn ON authority_ids(isn);
CREATE TABLE IF NOT EXISTS title_headings (
    isn   INTEGER NOT NULL,        -- a bibliographic title
    kind  TEXT NOT NULL,
    key   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS title_headings_key ON title_headings(kind, key);
CREATE INDEX IF NOT EXISTS title_headings_isn ON title_headings(isn);

CREATE TABLE IF NOT EXISTS holdings (          -- MELVYL's local data file
    id          INTEGER PRIMARY KEY,
    record_id   INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    library     TEXT NOT NULL,
    location    TEXT NOT NULL DEFAULT '',
    call_number TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    copies      INTEGER NOT NULL DEFAULT 1,
    lendable    INTEGER NOT NULL DEFAULT 1,
    source_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS holdings_record ON holdings(record_id);
-- the holding libraries are read by skipping from one code to the next (`holding_libraries`),
-- which a server does after every commit to the store: microseconds, not a scan of all holdings
CREATE INDEX IF NOT EXISTS holdings_library ON holdings(library);


CREATE TABLE IF NOT EXISTS rejects (
    id        INTEGER PRIMARY KEY,
    load_id   INTEGER NOT NULL REFERENCES loads(id),
    position  INTEGER NOT NULL,
    "offset"  INTEGER NOT NULL,   -- quoted: a reserved word in PostgreSQL
    reason    TEXT NOT NULL,
    raw       BLOB NOT NULL
);

-- Titles whose search keys must be rewritten (written in the same transaction as the change,
-- so a crash between store and index loses nothing: the next index run picks them up).
CREATE TABLE IF NOT EXISTS pending (
    isn      INTEGER PRIMARY KEY,
    deleted  INTEGER NOT NULL DEFAULT 0
);

-- No longer written: offered keys wait in the side file `catalog.handover.sqlite` (`index.store.handover`),
-- so they leave no free pages here. Kept so older stores and their readers find the table.
-- Search keys a load worked out for a title's display record as it was then (`index.loading.handover`),
-- kept until the title's pending mark is cleared. The index phase takes them instead of parsing the
-- display record again when `digest` (of the display record and the holdings) still matches; a
-- title whose display or holdings changed since is parsed and extracted as always. Written in the
-- same transaction as the title, so a crash leaves no keys without their title.
CREATE TABLE IF NOT EXISTS pending_keys (
    isn     INTEGER PRIMARY KEY,
    digest  BLOB NOT NULL,
    keys    BLOB NOT NULL
);

-- Titles deleted, with the time: OAI-PMH reports them (deletedRecord persistent) and dumps
-- "changed since" list them. A deleted title's number is never given to a new title
-- (`CatalogStore.add_title` counts past it), so an old link never finds another book.
CREATE TABLE IF NOT EXISTS deleted_titles (
    isn      INTEGER PRIMARY KEY,
    deleted  TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
