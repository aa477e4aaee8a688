-- 収支保全 (money conservation): the 期別's own stock — 期別税額, 累計収納額 and 不納欠損額 — per 賦課年度,
-- with the 収入未済 (balance > 0) and the 還付未済 (balance < 0) apart.
-- Parameters: :m 市区町村コード.
-- Returns: levy_year, installments, levy, paid, write_off, unpaid, overpaid.
SELECT levy_year, COUNT(*) AS installments, SUM(levy_amount) AS levy, SUM(paid_amount) AS paid,
       SUM(write_off_amount) AS write_off,
       SUM(CASE WHEN levy_amount - paid_amount - write_off_amount > 0
                THEN levy_amount - paid_amount - write_off_amount ELSE 0 END) AS unpaid,
       SUM(CASE WHEN levy_amount - paid_amount - write_off_amount < 0
                THEN paid_amount + write_off_amount - levy_amount ELSE 0 END) AS overpaid
FROM installment WHERE municipality_code = :m AND deleted = false
GROUP BY levy_year ORDER BY levy_year
