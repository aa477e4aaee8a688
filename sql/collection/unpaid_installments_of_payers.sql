-- SN300: the unpaid 期別 (balance after 収納 and 速報) of the staged payers: where a 過誤納 is
-- offset (充当).
-- stage: _op(person_id VARCHAR)
-- Parameters: :m 市区町村コード.
-- Returns: person_id, levy_year, notice_number, installment_no, due_date, balance.
SELECT i.person_id, i.levy_year, i.notice_number, i.installment_no, i.due_date,
    i.levy_amount - i.paid_amount - i.provisional_amount AS balance FROM installment i
JOIN _op ON _op.person_id = i.person_id WHERE i.levy_amount - i.paid_amount - i.provisional_amount > 0
AND NOT i.deleted AND i.municipality_code = :m
