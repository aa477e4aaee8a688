-- bench/bench_collection.py: the DuckDB checkpoint after a 消込 (the committed rows written from the
-- write-ahead log into the database file), timed as part of it: with a large checkpoint_threshold
-- DuckDB leaves it to the next checkpoint (at the latest when the file is closed, the end of the step).
-- PostgreSQL: nothing (its checkpoints are the server's).
-- Parameters: none.
-- Returns: nothing.
{% if dialect == 'duckdb' %}
CHECKPOINT
{% else %}
SELECT 1
{% endif %}
