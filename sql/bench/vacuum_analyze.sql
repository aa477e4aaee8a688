-- bench/bench_collection.py, between its parts on PostgreSQL: VACUUM (ANALYZE) of the tables the
-- setup's bulk registration and the per-row reference (rolled back) wrote — what the autovacuum does
-- after such writes on a server where it runs (this machine's runs with autovacuum = off). Without it
-- the timed 消込 finds the reference's rolled-back row versions in the 期別 pages, the room its
-- UPDATE uses for in-place (HOT) updates. Timed and reported, not part of the 消込. Runs outside a
-- transaction (AUTOCOMMIT). DuckDB: nothing.
-- Parameters: none.
-- Returns: nothing.
{% if dialect == 'postgresql' %}
VACUUM (ANALYZE) installment, levy_history, notice, reconciliation, payment
{% else %}
SELECT 1
{% endif %}
