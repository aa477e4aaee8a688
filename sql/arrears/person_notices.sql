-- TN310 返戻登録: the 期別 of the ledger per 宛名番号 (a returned 納税通知書 or 督促状 must be one of
-- the taxpayer's), with the 督促状発行日.
-- Parameters: :m 市区町村コード.
-- Returns: person_id, levy_year, notice_number, installment_no, dunning_issued_date.
SELECT i.person_id, i.levy_year, i.notice_number, i.installment_no, i.dunning_issued_date
FROM installment i
WHERE i.municipality_code = :m AND NOT i.deleted
ORDER BY i.person_id, i.levy_year, i.notice_number, i.installment_no
