-- kokuho audit --summary: the rows of one ledger table per 操作者ID, and how many of them carry
-- no 処理事由 (a change that cannot be traced to a run).
-- Template: table (a ledger table with the audit columns; default installment).
-- Parameters: none.
-- Returns: operator_id, row_count, without_reason.
{% set table = table | default('installment') %}
SELECT operator_id, COUNT(*) AS row_count,
    SUM(CASE WHEN operation_reason IS NULL OR operation_reason = '' THEN 1 ELSE 0 END) AS without_reason
FROM {{ table }} GROUP BY operator_id ORDER BY operator_id
