-- PostgreSQL: the planner's estimate of the rows a ledger table holds (pg_class.reltuples, kept
-- by ANALYZE, VACUUM and index builds; 0 for a table never analyzed), without counting them:
-- Tx.bulk_load compares it with the rows about to be loaded. DuckDB: the rows counted.
-- Parameters: :t the table name (resolved through the search_path on PostgreSQL).
-- Returns: rows (BIGINT), one row.
{% if dialect == 'postgresql' %}
SELECT CAST(GREATEST(c.reltuples, 0) AS BIGINT) AS rows FROM pg_class c WHERE c.oid = to_regclass(CAST(:t AS TEXT))
{% else %}
SELECT CAST(estimated_size AS BIGINT) AS rows FROM duckdb_tables() WHERE table_name = CAST(:t AS VARCHAR)
{% endif %}
