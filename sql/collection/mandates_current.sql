-- SN020 口座振替登録: the current (latest) mandate of each staged payer, with its account (a
-- 停止 record without account fields keeps the account then in force).
-- stage: _m(person_id VARCHAR)
-- Parameters: :m 市区町村コード.
-- Returns: person_id, history_no, bank_code, branch_code, account_type, account_number, account_holder_kana.
SELECT d.person_id, d.history_no, d.bank_code, d.branch_code, d.account_type, d.account_number,
    d.account_holder_kana FROM debit_mandate d JOIN _m ON d.person_id = _m.person_id
WHERE d.latest_flag AND d.municipality_code = :m
