-- TK290 社会保険料控除引継: the 国保税 withheld from pensions (納付チャネル :channel, 還付充当区分 0 収納) per
-- 宛名番号 of the notice (通知書情報: the 世帯主, whose pension it is withheld from), 賦課年度 and 期別, of the
-- 賦課年度 :fy_from to :fy_to (the calendar year's pension months lie in two 賦課年度; the step picks them).
-- Parameters: :m 市区町村コード, :channel 納付チャネル, :fy_from, :fy_to 賦課年度.
-- Returns: person_id, levy_year, installment_no, amount, payments.
SELECT n.person_id AS person_id, p.levy_year AS levy_year, p.installment_no AS installment_no,
       SUM(p.tax_amount) AS amount, COUNT(*) AS payments
FROM payment p
JOIN notice n ON n.municipality_code = p.municipality_code AND n.levy_year = p.levy_year
             AND n.target_year = p.target_year AND n.notice_number = p.notice_number
WHERE p.municipality_code = :m AND p.channel = :channel AND p.refund_offset_kind = '0' AND p.deleted = false
  AND p.levy_year BETWEEN :fy_from AND :fy_to
GROUP BY n.person_id, p.levy_year, p.installment_no
ORDER BY n.person_id, p.levy_year, p.installment_no
