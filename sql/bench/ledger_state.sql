-- bench/bench_collection.py post checks: Σ 累計収納額, the 消込データ and 納付履歴 rows, Σ 本税収入額,
-- the files posted.
-- Parameters: none.
-- Returns: one row: paid, recon, pays, pay_sum, files.
SELECT (SELECT COALESCE(SUM(paid_amount), 0) FROM installment) AS paid,
    (SELECT COUNT(*) FROM reconciliation) AS recon, (SELECT COUNT(*) FROM payment) AS pays,
    (SELECT COALESCE(SUM(tax_amount), 0) FROM payment) AS pay_sum,
    (SELECT COUNT(*) FROM posted_file) AS files
