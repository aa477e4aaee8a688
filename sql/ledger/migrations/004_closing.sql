-- Migration 4 (closing): 月次締め — the month lock of the 収納 ledger.
-- name: closing_month (月次締め)
--
-- One row per closed month (YYYYMM) of a municipality, written by TN510 月次締め with the month's
-- closing totals; jobs/ledger/closing_lock.py reads it when 納付履歴 / 調定履歴 rows are inserted
-- (a row dated in a closed month is refused, or booked to the next open month, per
-- late_posting_rule). Equal to what jobs/ledger/models.py ClosingMonth makes (metadata.create_all).
-- Parameters: none. Returns: nothing. Statements are separated by a ";" at the end of a line.

CREATE TABLE IF NOT EXISTS closing_month (
    municipality_code VARCHAR(6) NOT NULL,
    closing_month VARCHAR(6) NOT NULL,
    fiscal_year INTEGER NOT NULL,
    closed_date DATE NOT NULL,
    late_posting_rule VARCHAR(10) NOT NULL,
    levy_total BIGINT DEFAULT 0 NOT NULL,
    income_total BIGINT DEFAULT 0 NOT NULL,
    refund_total BIGINT DEFAULT 0 NOT NULL,
    write_off_total BIGINT DEFAULT 0 NOT NULL,
    unpaid_total BIGINT DEFAULT 0 NOT NULL,
    current_levy_total BIGINT DEFAULT 0 NOT NULL,
    current_income_total BIGINT DEFAULT 0 NOT NULL,
    job_id VARCHAR(8) NOT NULL,
    deleted BOOLEAN DEFAULT false NOT NULL,
    operator_id VARCHAR(16) NOT NULL,
    operated_date DATE NOT NULL,
    operated_time VARCHAR(6) NOT NULL,
    operation_reason VARCHAR(100),
    PRIMARY KEY (municipality_code, closing_month)
);
