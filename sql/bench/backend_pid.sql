-- bench/bench_collection.py: the process id of the PostgreSQL server process of this connection, so
-- that the bench can read its CPU time from /proc when the server runs on the same machine (the
-- 消込's server-side CPU, a figure the machine's load does not inflate as it does wall time).
-- DuckDB runs inside the bench's process: NULL.
-- Parameters: none.
-- Returns: one row, one column: the pid (NULL on DuckDB).
{% if dialect == 'postgresql' %}
SELECT pg_backend_pid()
{% else %}
SELECT CAST(NULL AS INTEGER)
{% endif %}
