-- bench/bench_closing.py baseline: the whole ledger's figures of the money conservation as plain SUMs
-- (no 調定履歴, no as-of dates), and the month's 収入, to compare with closing.compute to the yen.
-- Parameters: :m 市区町村コード, :d_lo the month's first day, :d_hi its last day.
-- Returns: one row: levy (Σ 期別税額), income (Σ 収入: 区分 0, 3), refund (Σ 還付: 区分 1, 2, positive),
--   write_off (Σ 不納欠損, not cancelled), stock (Σ 期別税額 − 累計収納額 − 不納欠損額), income_month.
SELECT
  (SELECT SUM(levy_amount) FROM installment WHERE municipality_code = :m AND deleted = false) AS levy,
  (SELECT SUM(tax_amount) FROM payment WHERE municipality_code = :m AND deleted = false
     AND refund_offset_kind IN ('0', '3')) AS income,
  (SELECT -SUM(tax_amount) FROM payment WHERE municipality_code = :m AND deleted = false
     AND refund_offset_kind IN ('1', '2')) AS refund,
  (SELECT SUM(tax_amount) FROM write_off WHERE municipality_code = :m AND deleted = false
     AND cancelled_date IS NULL) AS write_off,
  (SELECT SUM(levy_amount - paid_amount - write_off_amount) FROM installment
     WHERE municipality_code = :m AND deleted = false) AS stock,
  (SELECT SUM(tax_amount) FROM payment WHERE municipality_code = :m AND deleted = false
     AND refund_offset_kind IN ('0', '3') AND received_date >= :d_lo AND received_date <= :d_hi) AS income_month
