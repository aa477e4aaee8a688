-- SN120 口座振替請求: the 期別 (普通徴収, not deleted) due on the 振替日 with a balance and an
-- active mandate (新規・変更) of the payer whose 開始年月 is not after the debit month, with the
-- number of earlier requests of the same 期別 (a re-debit continues the 顧客番号 sequence).
-- Parameters: :month debit month (YYYYMM), :d 振替日 (= 納期限), :m 市区町村コード.
-- Returns: levy_year, notice_number, installment_no, person_id, due_date, amount (the balance),
-- bank_code, branch_code, account_type, account_number, account_holder_kana, prev_seq.
SELECT i.levy_year, i.notice_number, i.installment_no, i.person_id, i.due_date,
    i.levy_amount - i.paid_amount - i.provisional_amount AS amount,
    m.bank_code, m.branch_code, m.account_type, m.account_number, m.account_holder_kana,
    COALESCE(r.seq, 0) AS prev_seq
FROM installment i JOIN debit_mandate m ON m.person_id = i.person_id AND m.latest_flag
AND m.registration_kind IN ('1', '2') AND m.start_month <= :month AND m.municipality_code = i.municipality_code
LEFT JOIN (SELECT levy_year, notice_number, installment_no, COUNT(*) AS seq FROM debit_request
  GROUP BY levy_year, notice_number, installment_no) r ON r.levy_year = i.levy_year
  AND r.notice_number = i.notice_number AND r.installment_no = i.installment_no
WHERE i.due_date = :d AND i.collection_method = '1' AND NOT i.deleted AND i.municipality_code = :m
AND i.levy_amount - i.paid_amount - i.provisional_amount > 0
