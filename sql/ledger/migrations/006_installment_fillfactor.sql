-- Migration 6 (installment-fillfactor): more room for in-place (HOT) updates of the 期別 on PostgreSQL.
-- name: installment fillfactor 70 (PostgreSQL)
--
-- A 消込 rewrites the 期別 it pays (累計収納額, 最終領収日, 操作者…): with fillfactor 85 the new
-- version of most rows did not fit on their page, went elsewhere and took a new primary-key entry
-- (36% HOT when half of 2M 期別 were paid at once); with 70, 84% stayed on their page and the
-- same UPDATE … FROM took half the time (80 s vs 164 s side by side, EXPLAIN ANALYZE, README
-- "消込 on PostgreSQL, what changed"). The table is about 20% larger. Pages written from now on
-- (the next 当初 registration) take it; an existing ledger's pages keep theirs until the table is
-- rewritten (VACUUM FULL installment in a maintenance window). DuckDB has no fillfactor: a no-op
-- statement (every migration has one per dialect), the version recorded all the same.
-- Parameters: none. Returns: nothing. Statements are separated by a ";" at the end of a line.
{% if dialect == 'postgresql' %}
ALTER TABLE installment SET (fillfactor = 70);
{% else %}
SELECT 1;
{% endif %}
