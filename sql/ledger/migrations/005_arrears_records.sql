-- Migration 5 (arrears-records): the tables of 催告・分割納付・返戻公示送達・執行停止 (jobs/arrears).
-- name: arrears records (催告履歴, 分割納付, 返戻・公示送達, 執行停止)
--
-- New tables only (arrears_*), as jobs/ledger/models.py declares them under the marker
-- "催告・分割・返戻・執行停止" (tests/ledger/test_migrations.py compares the catalogs). Each
-- statement is self-contained (CREATE TABLE IF NOT EXISTS), so the lead may renumber the file.
-- Parameters: none. Returns: nothing. Statements are separated by a ";" at the end of a line.

CREATE TABLE IF NOT EXISTS arrears_plan (
    plan_id VARCHAR(24) NOT NULL,
    municipality_code VARCHAR(6) NOT NULL,
    person_id VARCHAR(10) NOT NULL,
    household_id VARCHAR(10),
    registered_date DATE NOT NULL,
    first_due_date DATE NOT NULL,
    last_due_date DATE NOT NULL,
    plan_amount BIGINT DEFAULT 0 NOT NULL,
    installment_count INTEGER NOT NULL,
    paid_at_registration BIGINT DEFAULT 0 NOT NULL,
    status VARCHAR(10) NOT NULL,
    status_date DATE,
    source_sha256 VARCHAR(64) NOT NULL,
    job_id VARCHAR(8) NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (plan_id)
);
CREATE TABLE IF NOT EXISTS arrears_plan_installment (
    plan_id VARCHAR(24) NOT NULL,
    plan_no INTEGER NOT NULL,
    due_date DATE NOT NULL,
    amount BIGINT DEFAULT 0 NOT NULL,
    slip_levy_year INTEGER NOT NULL,
    slip_notice_number VARCHAR(11) NOT NULL,
    slip_installment_no INTEGER NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (plan_id, plan_no)
);
CREATE TABLE IF NOT EXISTS arrears_plan_target (
    plan_id VARCHAR(24) NOT NULL,
    levy_year INTEGER NOT NULL,
    notice_number VARCHAR(11) NOT NULL,
    installment_no INTEGER NOT NULL,
    municipality_code VARCHAR(6) NOT NULL,
    due_date DATE NOT NULL,
    balance BIGINT DEFAULT 0 NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (plan_id, levy_year, notice_number, installment_no)
);
CREATE TABLE IF NOT EXISTS arrears_reminder (
    reminder_id VARCHAR(40) NOT NULL,
    municipality_code VARCHAR(6) NOT NULL,
    person_id VARCHAR(10) NOT NULL,
    household_id VARCHAR(10),
    reminder_kind VARCHAR(8) NOT NULL,
    reminder_date DATE NOT NULL,
    amount BIGINT DEFAULT 0 NOT NULL,
    installments INTEGER DEFAULT 0 NOT NULL,
    oldest_due_date DATE,
    promise_date DATE,
    note VARCHAR(200),
    job_id VARCHAR(8) NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (reminder_id)
);
CREATE TABLE IF NOT EXISTS arrears_reminder_item (
    reminder_id VARCHAR(40) NOT NULL,
    levy_year INTEGER NOT NULL,
    notice_number VARCHAR(11) NOT NULL,
    installment_no INTEGER NOT NULL,
    due_date DATE NOT NULL,
    balance BIGINT DEFAULT 0 NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (reminder_id, levy_year, notice_number, installment_no)
);
CREATE TABLE IF NOT EXISTS arrears_return (
    return_id VARCHAR(40) NOT NULL,
    municipality_code VARCHAR(6) NOT NULL,
    person_id VARCHAR(10) NOT NULL,
    document_kind VARCHAR(1) NOT NULL,
    levy_year INTEGER NOT NULL,
    notice_number VARCHAR(11) NOT NULL,
    installment_no INTEGER NOT NULL,
    returned_date DATE NOT NULL,
    return_reason VARCHAR(40),
    search_result VARCHAR(10) NOT NULL,
    search_date DATE,
    new_postal_code VARCHAR(7),
    new_address VARCHAR(200),
    reissue_date DATE,
    posting_date DATE,
    effective_date DATE,
    source_sha256 VARCHAR(64) NOT NULL,
    record_no BIGINT NOT NULL,
    job_id VARCHAR(8) NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (return_id)
);
CREATE TABLE IF NOT EXISTS arrears_suspension (
    suspension_id VARCHAR(40) NOT NULL,
    municipality_code VARCHAR(6) NOT NULL,
    person_id VARCHAR(10) NOT NULL,
    reason_code VARCHAR(1) NOT NULL,
    start_date DATE NOT NULL,
    immediate_extinction BOOLEAN DEFAULT false NOT NULL,
    lifted_date DATE,
    note VARCHAR(200),
    source_sha256 VARCHAR(64) NOT NULL,
    record_no BIGINT NOT NULL,
    job_id VARCHAR(8) NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (suspension_id)
);
