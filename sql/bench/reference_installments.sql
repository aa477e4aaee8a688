-- bench/bench_collection.py per-row reference: every 期別 (not deleted), loaded into a dict.
-- Parameters: none.
-- Returns: levy_year, notice_number, installment_no, levy_amount, collection_method.
SELECT levy_year, notice_number, installment_no, levy_amount, collection_method FROM installment
WHERE NOT deleted
