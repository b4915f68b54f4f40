-- Librarians' corrections of consolidation and the title numbers that merges retired
-- (index/store/corrections.py). Kept apart from schema.sql: they belong to consolidation.
CREATE TABLE IF NOT EXISTS cluster_overrides (
    id         INTEGER PRIMARY KEY,
    action     TEXT NOT NULL,                   -- split, merge, keep-apart, pin
    isns       TEXT NOT NULL,                   -- JSON: the titles named when it was made
    note       TEXT NOT NULL DEFAULT '',
    made_by    TEXT NOT NULL,
    made       TEXT NOT NULL DEFAULT (datetime('now')),
    verdicts   TEXT NOT NULL DEFAULT '{}',      -- JSON: the matcher's word on its pairs then
    undone     TEXT,                            -- time it was undone (kept for the record)
    undone_by  TEXT
);
CREATE TABLE IF NOT EXISTS cluster_override_members (   -- by maintenance key: survives reloads
    override_id    INTEGER NOT NULL REFERENCES cluster_overrides(id),
    side           INTEGER NOT NULL,            -- 0, or 1 for the other side of split/keep-apart
    library        TEXT NOT NULL,
    source_system  TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    version        TEXT NOT NULL DEFAULT '',    -- the record's version when the override was made
    isn            INTEGER                      -- its title then (undo gives numbers back)
);
CREATE INDEX IF NOT EXISTS cluster_override_members_id ON cluster_override_members(override_id);
CREATE TABLE IF NOT EXISTS title_redirects (     -- a title merged away answers as its successor
    old   INTEGER PRIMARY KEY,
    new   INTEGER NOT NULL,
    made  TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS title_redirects_new ON title_redirects(new);
