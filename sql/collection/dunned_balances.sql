-- 消込 (督促状 barcode, reconcile._split_dunned): the staged 期別 that have a 督促状, with their 本税 balance now
-- (期別税額 − 累計収納額) and what is still open of the 延滞金 and 督促手数料 stated on the 督促状 (stated
-- less what 納付書 already received of each: 収入 plus, 戻出 minus). A 収納代行 payment of such a 期別
-- goes to 本税 first up to the balance, then to 延滞金, then to 督促手数料 (地方税法: 本税 first). Driven
-- by the 督促状 of the staged keys, so 期別 without one cost nothing beyond that join.
-- stage: _keys(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER, municipality_code VARCHAR, target_year INTEGER)
-- Parameters: none.
-- Returns: levy_year, notice_number, installment_no, balance, late_fee_open, dunning_fee_open.
WITH d AS (
  SELECT n.municipality_code, n.levy_year, n.target_year, n.notice_number, n.installment_no,
      n.late_fee_amount, n.dunning_fee_amount
  FROM dunning_notice n JOIN _keys k ON n.municipality_code = k.municipality_code AND n.levy_year = k.levy_year
  AND n.target_year = k.target_year AND n.notice_number = k.notice_number AND n.installment_no = k.installment_no
  WHERE NOT n.deleted
), p AS (
  SELECT q.municipality_code, q.levy_year, q.target_year, q.notice_number, q.installment_no,
      SUM(CASE WHEN q.cash_kind = '2' THEN -q.late_fee_amount ELSE q.late_fee_amount END) AS late_fee,
      SUM(CASE WHEN q.cash_kind = '2' THEN -q.dunning_fee_amount ELSE q.dunning_fee_amount END) AS dunning_fee
  FROM payment q JOIN d ON q.municipality_code = d.municipality_code AND q.levy_year = d.levy_year
  AND q.target_year = d.target_year AND q.notice_number = d.notice_number AND q.installment_no = d.installment_no
  WHERE NOT q.deleted
  GROUP BY q.municipality_code, q.levy_year, q.target_year, q.notice_number, q.installment_no
)
SELECT i.levy_year, i.notice_number, i.installment_no, i.levy_amount - i.paid_amount AS balance,
    d.late_fee_amount - COALESCE(p.late_fee, 0) AS late_fee_open,
    d.dunning_fee_amount - COALESCE(p.dunning_fee, 0) AS dunning_fee_open
FROM d JOIN installment i ON i.municipality_code = d.municipality_code AND i.levy_year = d.levy_year
AND i.target_year = d.target_year AND i.notice_number = d.notice_number AND i.installment_no = d.installment_no
LEFT JOIN p ON p.municipality_code = d.municipality_code AND p.levy_year = d.levy_year
AND p.target_year = d.target_year AND p.notice_number = d.notice_number AND p.installment_no = d.installment_no
WHERE NOT i.deleted
