-- TN510 月次締め: 調定 per 賦課年度 as of four dates, from 調定履歴 (the row of each 期別 valid at the
-- date: the latest 更正年月日 on or before it), with its components at :d1.
-- Parameters: :m 市区町村コード, :d0 the day before the fiscal year, :dm the day before the month,
--   :d1 the month's last day, :dx the last day of all (the whole ledger, for the money conservation).
-- Returns: levy_year, levy_d0, levy_dm, levy_d1, levy_dx, medical_d1, support_d1, care_d1, child_d1.
WITH h AS (
    -- the last record of each 期別 and day (a day's later 更正 wins)
    SELECT levy_year, notice_number, installment_no, correction_date, levy_amount,
           medical_general + medical_retired AS medical, support_general + support_retired AS support,
           care_general + care_retired AS care, child_general AS child,
           ROW_NUMBER() OVER (PARTITION BY levy_year, notice_number, installment_no, correction_date
                              ORDER BY correction_seq DESC, source_sha256 DESC, record_no DESC) AS last_of_day
    FROM levy_history WHERE municipality_code = :m AND deleted = false
), w AS (
    -- valid from its day to the next record's day
    SELECT levy_year, correction_date, levy_amount, medical, support, care, child,
           LEAD(correction_date) OVER (PARTITION BY levy_year, notice_number, installment_no
                                       ORDER BY correction_date) AS valid_to
    FROM h WHERE last_of_day = 1
)
SELECT levy_year,
       SUM(CASE WHEN correction_date <= :d0 AND (valid_to IS NULL OR valid_to > :d0) THEN levy_amount ELSE 0 END) AS levy_d0,
       SUM(CASE WHEN correction_date <= :dm AND (valid_to IS NULL OR valid_to > :dm) THEN levy_amount ELSE 0 END) AS levy_dm,
       SUM(CASE WHEN correction_date <= :d1 AND (valid_to IS NULL OR valid_to > :d1) THEN levy_amount ELSE 0 END) AS levy_d1,
       SUM(CASE WHEN correction_date <= :dx AND (valid_to IS NULL OR valid_to > :dx) THEN levy_amount ELSE 0 END) AS levy_dx,
       SUM(CASE WHEN correction_date <= :d1 AND (valid_to IS NULL OR valid_to > :d1) THEN medical ELSE 0 END) AS medical_d1,
       SUM(CASE WHEN correction_date <= :d1 AND (valid_to IS NULL OR valid_to > :d1) THEN support ELSE 0 END) AS support_d1,
       SUM(CASE WHEN correction_date <= :d1 AND (valid_to IS NULL OR valid_to > :d1) THEN care ELSE 0 END) AS care_d1,
       SUM(CASE WHEN correction_date <= :d1 AND (valid_to IS NULL OR valid_to > :d1) THEN child ELSE 0 END) AS child_d1
FROM w GROUP BY levy_year ORDER BY levy_year
