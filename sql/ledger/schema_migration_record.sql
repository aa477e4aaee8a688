-- Records an applied migration (in the migration's own transaction).
-- Parameters: :v version (integer), :n name (the file's "-- name:" line), :t applied_at (ISO text).
-- Returns: nothing.
INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)
