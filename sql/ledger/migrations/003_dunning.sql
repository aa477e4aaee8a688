-- Migration 3 (dunning): the 督促状 record (dunning_notice) of the 督促 job net KB600.
-- name: dunning notice (督促状情報)
--
-- One row per installment that got a 督促状 (primary key = the installment's key, so a 督促状 is
-- never issued twice), with the 延滞金 stated on it and, when the 本税 is paid in full, the 延滞金
-- 調定 and 収入 (TN030). The installment's own 督促状発行日 (installment.dunning_issued_date) is set
-- beside it. DDL equal to metadata.create_all of jobs/ledger/models.py DunningNotice
-- (tests/ledger/test_migrations.py compares the catalogs).
-- Parameters: none. Returns: nothing. Statements are separated by a ";" at the end of a line.

CREATE TABLE IF NOT EXISTS dunning_notice (
    dunning_no VARCHAR(20) NOT NULL,
    person_id VARCHAR(10) NOT NULL,
    household_id VARCHAR(10) NOT NULL,
    due_date DATE NOT NULL,
    issue_date DATE NOT NULL,
    pay_by DATE NOT NULL,
    tax_amount BIGINT DEFAULT 0 NOT NULL,
    late_fee_amount BIGINT DEFAULT 0 NOT NULL,
    dunning_fee_amount BIGINT DEFAULT 0 NOT NULL,
    print_file VARCHAR(200) NOT NULL,
    job_id VARCHAR(8) NOT NULL,
    generation VARCHAR(32) NOT NULL,
    completed_date DATE,
    late_fee_levy_date DATE,
    late_fee_levied BIGINT DEFAULT 0 NOT NULL,
    late_fee_received BIGINT DEFAULT 0 NOT NULL,
    municipality_code VARCHAR(6) NOT NULL,
    levy_year INTEGER NOT NULL,
    target_year INTEGER NOT NULL,
    notice_number VARCHAR(11) NOT NULL,
    installment_no INTEGER NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (municipality_code, levy_year, target_year, notice_number, installment_no)
);
