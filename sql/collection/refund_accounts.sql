-- SN300: the 口座振替 account (active mandate) of the staged payers: a 還付 is paid there.
-- stage: _op(person_id VARCHAR)
-- Parameters: none.
-- Returns: person_id, bank_code, branch_code, account_type, account_number, account_holder_kana.
SELECT m.person_id, m.bank_code, m.branch_code, m.account_type, m.account_number,
    m.account_holder_kana FROM debit_mandate m JOIN _op ON _op.person_id = m.person_id
WHERE m.latest_flag AND m.registration_kind IN ('1', '2')
