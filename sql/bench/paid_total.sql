-- bench/bench_collection.py reference: Σ 累計収納額 of every 期別 (before and after the loop).
-- Parameters: none.
-- Returns: one row, one column: the sum (0 on an empty ledger).
SELECT COALESCE(SUM(paid_amount), 0) FROM installment
