-- FK150 / FK230 通知書: the 口座振替 account of each payer as of the business date — the payer's last
-- 口座振替依頼 (highest 履歴番号) received by then, if it is 新規 or 変更 (a 停止 debits nothing) —
-- with its 開始年月: the notice marks the 普通徴収 期 due in or after it as 口座振替 (no 納付書), as
-- SN120 will request them (sql/collection/debit_request_candidates.sql).
-- Parameters: :m 市区町村コード, :d the business date.
-- Returns: person_id, bank_code, branch_code, account_type, account_number, account_holder_kana,
-- start_month.
SELECT d.person_id, d.bank_code, d.branch_code, d.account_type, d.account_number, d.account_holder_kana,
    d.start_month
FROM debit_mandate d JOIN (SELECT person_id, MAX(history_no) AS history_no FROM debit_mandate
  WHERE municipality_code = :m AND NOT deleted AND received_date <= :d GROUP BY person_id) h
  ON h.person_id = d.person_id AND h.history_no = d.history_no
WHERE d.municipality_code = :m AND NOT d.deleted AND d.registration_kind IN ('1', '2')
ORDER BY d.person_id
