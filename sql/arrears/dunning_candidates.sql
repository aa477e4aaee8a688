-- TN010 督促対象抽出: the 督促 candidates of the staged 納期限: 普通徴収 期別 (latest, not deleted) due
-- then with 本税 still unpaid (net of any 不納欠損: a 期別 written off by TN620, e.g. 即時消滅, is not
-- 督促'd), no 督促状 issued (installment.dunning_issued_date, dunning_notice) and no 督促状停止. Holds (速報, 口座振替, 分割納付, 執行停止) are applied by the caller.
-- stage: _due(due_date DATE)
-- Parameters: :m 市区町村コード.
-- Returns: levy_year, target_year, notice_number, installment_no, person_id, household_id,
-- due_date, levy_amount, paid_amount, balance, correction_seq.
SELECT i.levy_year, i.target_year, i.notice_number, i.installment_no, i.person_id, i.household_id,
    COALESCE(i.changed_due_date, i.due_date) AS due_date, i.levy_amount, i.paid_amount,
    i.levy_amount - i.paid_amount - COALESCE(i.write_off_amount, 0) AS balance, i.correction_seq
FROM installment i JOIN _due d ON d.due_date = COALESCE(i.changed_due_date, i.due_date)
WHERE i.municipality_code = :m AND NOT i.deleted AND i.latest_flag AND i.collection_method = '1'
AND i.levy_amount - i.paid_amount - COALESCE(i.write_off_amount, 0) > 0 AND i.write_off_date IS NULL
AND i.dunning_issued_date IS NULL AND i.dunning_stopped_date IS NULL
AND NOT EXISTS (SELECT 1 FROM dunning_notice n WHERE n.municipality_code = i.municipality_code
  AND n.levy_year = i.levy_year AND n.target_year = i.target_year AND n.notice_number = i.notice_number
  AND n.installment_no = i.installment_no)
ORDER BY i.levy_year, i.notice_number, i.installment_no
