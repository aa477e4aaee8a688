-- Adds the staged changes to the 期別 reached by row address (PostgreSQL): the same change as
-- ledger/installment_apply_delta, for the 期別 whose ctid the 消込's lookup of the same transaction
-- found (collection/installments_by_key, _row_at). The staged rows are in table order; with the
-- planner's hash, merge and memoize joins off for the statement (ledger/planner_joins) each row is
-- one TID scan, and the table's pages are rewritten once each, in turn. A hash join of the 10M 期別
-- instead (in batches) rewrote them in random order: 5M full-page images of WAL instead of 0.6M
-- (bench/bench_collection.py, README "消込 on PostgreSQL").
-- The key is checked as well: a row that moved since the lookup (updated by another transaction,
-- its line pointer reused) is not updated, and the caller, seeing fewer rows than staged, rolls
-- this statement back and updates by key (reconcile.apply_installment_delta).
-- DuckDB: not used (it updates by key); the statement only counts the staged rows.
-- stage: _located(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER, paid BIGINT, prov BIGINT, paid_date DATE, received_date DATE, municipality_code VARCHAR, target_year INTEGER, tid VARCHAR)
-- Parameters: :op 操作者ID (job id), :od 操作年月日, :ot 操作時刻 (HHMMSS), :rs 処理事由 (job id + run id).
-- Returns: nothing (rowcount = the 期別 updated).
{% if dialect == 'postgresql' %}
{% include 'ledger/installment_change_set.sqli' +%}
FROM _located d WHERE installment.ctid = CAST(d.tid AS tid)
AND installment.municipality_code = d.municipality_code
AND installment.levy_year = d.levy_year AND installment.target_year = d.target_year
AND installment.notice_number = d.notice_number AND installment.installment_no = d.installment_no
{% else %}
SELECT count(*) AS n FROM _located d WHERE CAST(:op AS VARCHAR) IS NOT NULL OR CAST(:od AS DATE) IS NOT NULL
OR CAST(:ot AS VARCHAR) IS NOT NULL OR CAST(:rs AS VARCHAR) IS NOT NULL
{% endif %}
