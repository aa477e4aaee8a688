-- A server setting for the rest of this transaction only (SET LOCAL): the deployment's
-- collection.ledger.postgresql settings (work_mem for the hash joins of a 消込's lookups,
-- …), set by Ledger.transaction on PostgreSQL. DuckDB takes its settings with the connection
-- (collection.ledger.duckdb): there the statement only returns the value.
-- Parameters: :name the setting, :value its value (text).
-- Returns: the value as set.
{% if dialect == 'postgresql' %}
SELECT set_config(:name, :value, true)
{% else %}
SELECT CAST(:value AS VARCHAR) AS value, CAST(:name AS VARCHAR) AS name
{% endif %}
