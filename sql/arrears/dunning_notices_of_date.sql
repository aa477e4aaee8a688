-- TN020 督促状作成: the 督促状 issued on a day, in print order (通知書番号, 年度, 期別): a rerun
-- writes the same PDF and print file from them.
-- Parameters: :d 督促状発行日, :m 市区町村コード.
-- Returns: every column of dunning_notice.
SELECT * FROM dunning_notice WHERE issue_date = :d AND municipality_code = :m AND NOT deleted
ORDER BY notice_number, levy_year, installment_no
