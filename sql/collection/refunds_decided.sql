-- SN300 outputs: the day's 還付 decided by the job, by 還付処理番号.
-- Parameters: :p the 還付処理番号 prefix (市区町村コード + 決議日) followed by '%', :j job id.
-- Returns: every column of refund.
SELECT * FROM refund WHERE refund_id LIKE :p AND job_id = :j ORDER BY refund_id
