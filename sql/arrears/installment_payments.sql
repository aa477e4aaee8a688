-- 延滞金: the 本税 paid on each staged 期別, per 領収日 (収入日 when no 領収日): 収入 positive, 戻出
-- (還付・充当元) negative — the partial payments late_fee_frame reduces the base by.
-- stage: _keys(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER)
-- Parameters: :m 市区町村コード.
-- Returns: levy_year, notice_number, installment_no, paid_date, amount.
SELECT p.levy_year, p.notice_number, p.installment_no, COALESCE(p.paid_date, p.received_date) AS paid_date,
    SUM(CASE WHEN p.cash_kind = '2' THEN -p.tax_amount ELSE p.tax_amount END) AS amount
FROM payment p JOIN _keys k ON k.levy_year = p.levy_year AND k.notice_number = p.notice_number
AND k.installment_no = p.installment_no
WHERE p.municipality_code = :m AND NOT p.deleted AND COALESCE(p.paid_date, p.received_date) IS NOT NULL
GROUP BY p.levy_year, p.notice_number, p.installment_no, COALESCE(p.paid_date, p.received_date)
