-- Migration 2: 処理事由 (operation_reason) beside 操作者ID on every table.
-- name: operation reason (処理事由) on every table
--
-- 操作者ID (operator_id) now holds who started the run (the Airflow user, "scheduler", or the
-- login at `kokuho run`) instead of the job id; operation_reason names the run that wrote the
-- row: "<job id> <run id>" (jobs/ledger/audit.py). Rows written before stay NULL (their
-- operator_id is the job id). The column comes last in each table, as the Audit mixin of
-- jobs/ledger/models.py declares it (tests/ledger/test_migrations.py compares the catalogs).
-- Parameters: none. Returns: nothing. Statements are separated by a ";" at the end of a line.

ALTER TABLE card_applicant ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE debit_mandate ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE debit_request ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE installment ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE levy_history ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE notice ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE payment ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE posted_file ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE reconciliation ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE refund ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE refund_offset ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
ALTER TABLE write_off ADD COLUMN IF NOT EXISTS operation_reason VARCHAR(100);
