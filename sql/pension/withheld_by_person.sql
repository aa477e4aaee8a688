-- TK290 社会保険料控除 引継: the 国保税 withheld from pensions (納付チャネル :ch, the 年金特徴 channel) and
-- received in a calendar year, per 宛名番号 (the installment's 納税義務者), 世帯番号 and 特別徴収義務者
-- (the payment's agent_code: jobs/collection/channels.py pension). 出納区分 2 (戻出) counts negative.
-- A payment whose installment is not in the ledger gives a row with person_id NULL (reported).
-- Parameters: :m 市区町村コード, :ch the channel, :d_from first day, :d_to last day of the year.
-- Returns: person_id, household_id, payer_code, payments, amount.
SELECT i.person_id, i.household_id, p.agent_code AS payer_code, COUNT(*) AS payments,
       SUM(CASE WHEN p.cash_kind = '2' THEN -p.tax_amount ELSE p.tax_amount END) AS amount
FROM payment p
LEFT JOIN installment i
  ON i.municipality_code = p.municipality_code AND i.levy_year = p.levy_year AND i.target_year = p.target_year
 AND i.notice_number = p.notice_number AND i.installment_no = p.installment_no
WHERE p.municipality_code = :m AND p.channel = :ch AND NOT p.deleted
  AND p.received_date >= :d_from AND p.received_date <= :d_to
GROUP BY i.person_id, i.household_id, p.agent_code
ORDER BY i.person_id, p.agent_code
