-- TN610 出納閉鎖・滞納繰越: per 期別 of 賦課年度 ≤ :fy (the fiscal year closed), its 収入未済 as of the
-- 出納閉鎖 date :d — 調定 (the 調定履歴 row valid at :d) − 収入 + 還付 (納付履歴 received by :d, 還付・
-- 充当元 booked negative) − 不納欠損 (決裁 by :d, not cancelled) — with the 調定's components at :d.
-- A 期別 whose first 調定 is after :d has no row. Balance < 0 is a 還付未済.
-- Parameters: :m 市区町村コード, :fy the fiscal year closed (N), :d the 出納閉鎖 date (05-31 of N+1).
-- Returns: levy_year, target_year, notice_number, installment_no, person_id, household_id, due_date,
--   levy, paid, write_off, balance, medical, support, care, child.
WITH h AS (
    SELECT levy_year, target_year, notice_number, installment_no, levy_amount,
           medical_general + medical_retired AS medical, support_general + support_retired AS support,
           care_general + care_retired AS care, child_general AS child,
           ROW_NUMBER() OVER (PARTITION BY levy_year, target_year, notice_number, installment_no
                              ORDER BY correction_date DESC, correction_seq DESC, source_sha256 DESC,
                                       record_no DESC) AS last_row
    FROM levy_history
    WHERE municipality_code = :m AND deleted = false AND levy_year <= :fy AND correction_date <= :d
), p AS (
    SELECT levy_year, target_year, notice_number, installment_no, SUM(tax_amount) AS paid
    FROM payment WHERE municipality_code = :m AND deleted = false AND levy_year <= :fy AND received_date <= :d
    GROUP BY levy_year, target_year, notice_number, installment_no
), w AS (
    SELECT levy_year, target_year, notice_number, installment_no, SUM(tax_amount) AS write_off
    FROM write_off WHERE municipality_code = :m AND deleted = false AND cancelled_date IS NULL
        AND levy_year <= :fy AND COALESCE(approved_date, drafted_date) <= :d
    GROUP BY levy_year, target_year, notice_number, installment_no
)
SELECT i.levy_year, i.target_year, i.notice_number, i.installment_no, i.person_id, i.household_id, i.due_date,
       h.levy_amount AS levy, COALESCE(p.paid, 0) AS paid, COALESCE(w.write_off, 0) AS write_off,
       h.levy_amount - COALESCE(p.paid, 0) - COALESCE(w.write_off, 0) AS balance,
       h.medical, h.support, h.care, h.child
FROM installment i
JOIN h ON h.levy_year = i.levy_year AND h.target_year = i.target_year AND h.notice_number = i.notice_number
    AND h.installment_no = i.installment_no AND h.last_row = 1
LEFT JOIN p ON p.levy_year = i.levy_year AND p.target_year = i.target_year AND p.notice_number = i.notice_number
    AND p.installment_no = i.installment_no
LEFT JOIN w ON w.levy_year = i.levy_year AND w.target_year = i.target_year AND w.notice_number = i.notice_number
    AND w.installment_no = i.installment_no
WHERE i.municipality_code = :m AND i.deleted = false AND i.levy_year <= :fy
ORDER BY i.levy_year, i.notice_number, i.installment_no, i.target_year
