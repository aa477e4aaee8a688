-- Registers an input file as posted (in the transaction of its postings).
-- Parameters: :s SHA-256, :m 市区町村コード, :f file name, :c channel (levy, debit, counter, cvs,
-- pension, mandate), :j job id, :op 操作者ID, :rs 処理事由, :g generation, :b 業務日, :r records,
-- :a amount (yen), :od 操作年月日, :ot 操作時刻.
-- Returns: nothing.
INSERT INTO posted_file (source_sha256, municipality_code, file_name, channel, job_id, generation,
    business_date, records, amount, deleted, operator_id, operated_date, operated_time,
    operation_reason)
VALUES (:s, :m, :f, :c, :j, :g, :b, :r, :a, FALSE, :op, :od, :ot, :rs)
