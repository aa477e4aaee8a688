-- The table of applied migrations (jobs/ledger/migrations.py), created before anything else.
-- One row per migration: version (the file's number), name (its "-- name:" line), applied_at
-- (ISO timestamp, seconds).
-- Parameters: none. Returns: nothing.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL,
    name VARCHAR(100) NOT NULL,
    applied_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (version)
)
