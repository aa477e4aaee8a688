-- TN510 月次締め: 納付履歴 per 賦課年度, cumulative to four dates by 収入日: 収入 (還付充当区分 0 収納 and
-- 3 充当先) and 還付 (1 還付 and 2 充当元, 戻出: booked negative, returned positive); 充当先 apart.
-- Parameters: :m 市区町村コード, :d0, :dm, :d1, :dx as in closing/levy_as_of.
-- Returns: levy_year, income_d0, income_dm, income_d1, income_dx, refund_d0, refund_dm, refund_d1,
--   refund_dx, offset_in_dm, offset_in_d1.
SELECT levy_year,
       SUM(CASE WHEN refund_offset_kind IN ('0', '3') AND received_date <= :d0 THEN tax_amount ELSE 0 END) AS income_d0,
       SUM(CASE WHEN refund_offset_kind IN ('0', '3') AND received_date <= :dm THEN tax_amount ELSE 0 END) AS income_dm,
       SUM(CASE WHEN refund_offset_kind IN ('0', '3') AND received_date <= :d1 THEN tax_amount ELSE 0 END) AS income_d1,
       SUM(CASE WHEN refund_offset_kind IN ('0', '3') AND received_date <= :dx THEN tax_amount ELSE 0 END) AS income_dx,
       -SUM(CASE WHEN refund_offset_kind IN ('1', '2') AND received_date <= :d0 THEN tax_amount ELSE 0 END) AS refund_d0,
       -SUM(CASE WHEN refund_offset_kind IN ('1', '2') AND received_date <= :dm THEN tax_amount ELSE 0 END) AS refund_dm,
       -SUM(CASE WHEN refund_offset_kind IN ('1', '2') AND received_date <= :d1 THEN tax_amount ELSE 0 END) AS refund_d1,
       -SUM(CASE WHEN refund_offset_kind IN ('1', '2') AND received_date <= :dx THEN tax_amount ELSE 0 END) AS refund_dx,
       SUM(CASE WHEN refund_offset_kind = '3' AND received_date <= :dm THEN tax_amount ELSE 0 END) AS offset_in_dm,
       SUM(CASE WHEN refund_offset_kind = '3' AND received_date <= :d1 THEN tax_amount ELSE 0 END) AS offset_in_d1
FROM payment WHERE municipality_code = :m AND deleted = false
GROUP BY levy_year ORDER BY levy_year
