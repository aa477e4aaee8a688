-- bench/bench_collection.py setup check: the 期別 registered, Σ 期別税額 and Σ of the components
-- (they must add up to Σ 期別税額).
-- Parameters: none.
-- Returns: one row: n, s (Σ levy_amount), c (Σ medical + care + support + child, general).
SELECT COUNT(*) AS n, SUM(levy_amount) AS s,
    SUM(medical_general + care_general + support_general + child_general) AS c
FROM installment
