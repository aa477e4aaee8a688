-- TN030 延滞金調定: 延滞金収入額 of each 督促状 record = the 延滞金 of its 期別's 納付履歴 (収入 plus,
-- 戻出 minus), where it changed.
-- Parameters: :m 市区町村コード, :op 操作者ID, :od 操作年月日, :ot 操作時刻 (HHMMSS), :rs 処理事由.
-- Returns: nothing (rowcount = the 督促状 updated).
UPDATE dunning_notice SET late_fee_received = p.received, operator_id = :op, operated_date = :od,
    operated_time = :ot, operation_reason = :rs
FROM (SELECT municipality_code, levy_year, target_year, notice_number, installment_no,
    SUM(CASE WHEN cash_kind = '2' THEN -late_fee_amount ELSE late_fee_amount END) AS received
  FROM payment WHERE municipality_code = :m AND NOT deleted
  GROUP BY municipality_code, levy_year, target_year, notice_number, installment_no) p
WHERE dunning_notice.municipality_code = p.municipality_code AND dunning_notice.levy_year = p.levy_year
AND dunning_notice.target_year = p.target_year AND dunning_notice.notice_number = p.notice_number
AND dunning_notice.installment_no = p.installment_no AND dunning_notice.late_fee_received <> p.received
