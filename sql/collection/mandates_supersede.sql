-- SN020 口座振替登録: the staged payers' current mandates are no longer the latest (the file's
-- records are appended to the history after this).
-- stage: _m(person_id VARCHAR)
-- Parameters: :m 市区町村コード.
-- Returns: nothing.
UPDATE debit_mandate SET latest_flag = FALSE FROM _m WHERE debit_mandate.person_id = _m.person_id
AND debit_mandate.latest_flag AND debit_mandate.municipality_code = :m
