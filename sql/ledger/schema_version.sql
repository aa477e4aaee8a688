-- The ledger's schema version: the highest migration applied (0 on a new ledger).
-- Parameters: none.
-- Returns: one row, one column: the version (integer).
SELECT COALESCE(MAX(version), 0) FROM schema_migrations
