-- PostgreSQL: the secondary (not unique) indexes of a ledger table, with their definitions as the
-- catalog gives them (pg_get_indexdef, schema-qualified), so that a bulk load can drop them and
-- build them again after the load, identical (Tx.bulk_load, jobs/ledger/bulk.py). The primary key
-- and unique indexes are never listed: they stay and refuse a record posted twice during the load.
-- DuckDB: no rows (its bulk load keeps its indexes).
-- Parameters: :t the table name (resolved through the search_path).
-- Returns: schema_name, index_name, definition — one row per secondary index, by name.
{% if dialect == 'postgresql' %}
SELECT n.nspname AS schema_name, c.relname AS index_name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = to_regclass(CAST(:t AS TEXT)) AND NOT i.indisunique AND NOT i.indisprimary
ORDER BY c.relname
{% else %}
SELECT CAST(NULL AS VARCHAR) AS schema_name, CAST(NULL AS VARCHAR) AS index_name,
    CAST(NULL AS VARCHAR) AS definition, CAST(:t AS VARCHAR) AS table_name WHERE FALSE
{% endif %}
