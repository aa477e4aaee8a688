-- SN120: the 納期限 (普通徴収) after the business date: the 振替日 a request file may be due for.
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: due_date (distinct).
SELECT DISTINCT due_date FROM installment WHERE collection_method = '1' AND due_date > :d
AND municipality_code = :m
