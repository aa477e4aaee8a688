-- TK290 社会保険料控除引継: the 返納 of 年金特徴 — 還付 (還付充当明細, 還付充当区分 1) decided by SN300 過誤納整理
-- from a 期別 that holds 年金特徴 収納 (納付チャネル :channel, 還付充当区分 0): an amount withheld from a pension
-- after the 特別徴収 stopped (a death reported late) and paid back. Per 宛名番号 of the notice (as
-- deduction_withheld.sql), 賦課年度 and 期別 of the refunded 期, 賦課年度 :fy_from to :fy_to.
-- Parameters: :m 市区町村コード, :channel 納付チャネル, :fy_from, :fy_to 賦課年度.
-- Returns: person_id, levy_year, installment_no, amount (yen refunded, positive), refunds.
SELECT n.person_id AS person_id, r.from_levy_year AS levy_year, r.from_installment_no AS installment_no,
       SUM(r.amount) AS amount, COUNT(*) AS refunds
FROM refund_offset r
JOIN notice n ON n.municipality_code = r.municipality_code AND n.levy_year = r.from_levy_year
             AND n.target_year = r.from_levy_year AND n.notice_number = r.from_notice_number
WHERE r.municipality_code = :m AND r.kind = '1' AND r.deleted = false
  AND r.from_levy_year BETWEEN :fy_from AND :fy_to
  AND EXISTS (SELECT 1 FROM payment p
              WHERE p.municipality_code = r.municipality_code AND p.levy_year = r.from_levy_year
                AND p.notice_number = r.from_notice_number AND p.installment_no = r.from_installment_no
                AND p.channel = :channel AND p.refund_offset_kind = '0' AND p.deleted = false)
GROUP BY n.person_id, r.from_levy_year, r.from_installment_no
ORDER BY n.person_id, r.from_levy_year, r.from_installment_no
