-- KR900 管理外データ削除: the 通知書 whose retention is over — 賦課年度 at most :y, and either paid in
-- full on every 期別 (累計収納額 >= 調定額) or written off (不納欠損, not cancelled). An unpaid notice
-- stays: its 時効 may have been renewed (差押え, 交付要求, 納付誓約), which the ledger does not hold.
-- Parameters: :m 市区町村コード, :y the newest 賦課年度 past its retention.
-- Returns: municipality_code, levy_year, target_year, notice_number, person_id, household_id.
SELECT n.municipality_code, n.levy_year, n.target_year, n.notice_number, n.person_id, n.household_id
FROM notice n
WHERE n.municipality_code = :m AND n.levy_year <= :y
AND (NOT EXISTS (SELECT 1 FROM installment i WHERE i.municipality_code = n.municipality_code
        AND i.levy_year = n.levy_year AND i.target_year = n.target_year AND i.notice_number = n.notice_number
        AND i.paid_amount < i.levy_amount)
    OR EXISTS (SELECT 1 FROM write_off w WHERE w.municipality_code = n.municipality_code
        AND w.levy_year = n.levy_year AND w.target_year = n.target_year AND w.notice_number = n.notice_number
        AND w.cancelled_date IS NULL AND NOT w.deleted))
ORDER BY n.levy_year, n.notice_number
