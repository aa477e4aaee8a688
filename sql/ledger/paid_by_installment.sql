-- FK210 異動賦課: what was paid on each 期別 of the staged 通知書 at the start of the business
-- date: Σ 本税 of its 納付履歴 (収納 +, 還付・充当元 −, 充当先 +, 訂正 −; the rows whose sum is the
-- 累計収納額) posted by a run of an earlier business date (the date of the row's 世代
-- m<団体>_fy<年度>_d<YYYYMMDD>), so a rerun reads the same whatever KB400 posted since. Every
-- 期別 of those 通知書 in the ledger is returned (paid 0 when nothing was paid): a 通知書 absent
-- here was never registered (SN100). 速報 (CVS, not confirmed) is not paid.
-- stage: _n(notice_number VARCHAR)
-- Parameters: :m 市区町村コード, :y 賦課年度, :d the business date as YYYYMMDD.
-- Returns: notice_number, installment_no, collection_method, paid.
SELECT i.notice_number, i.installment_no, i.collection_method, COALESCE(SUM(p.tax_amount), 0) AS paid
FROM installment i JOIN _n ON _n.notice_number = i.notice_number
LEFT JOIN payment p ON p.municipality_code = i.municipality_code AND p.levy_year = i.levy_year
AND p.target_year = i.target_year AND p.notice_number = i.notice_number
AND p.installment_no = i.installment_no AND RIGHT(p.generation, 8) < :d
WHERE i.municipality_code = :m AND i.levy_year = :y AND NOT i.deleted
GROUP BY i.notice_number, i.installment_no, i.collection_method
ORDER BY i.notice_number, i.installment_no
