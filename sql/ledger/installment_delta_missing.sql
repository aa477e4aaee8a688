-- The staged 期別 changes (ledger/installment_apply_delta's _delta) whose 期別 the ledger does not
-- hold: the update by key changed fewer rows than it was given (reconcile.apply_installment_delta
-- then refuses the posting, KKB428E). The first by key, and how many there are.
-- stage: _delta(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER, paid BIGINT, prov BIGINT, paid_date DATE, received_date DATE, municipality_code VARCHAR, target_year INTEGER)
-- Parameters: none.
-- Returns: levy_year, notice_number, installment_no (the first missing 期別), n (all missing).
SELECT d.levy_year, d.notice_number, d.installment_no, COUNT(*) OVER () AS n
FROM _delta d
WHERE NOT EXISTS (SELECT 1 FROM installment i WHERE i.municipality_code = d.municipality_code
  AND i.levy_year = d.levy_year AND i.target_year = d.target_year
  AND i.notice_number = d.notice_number AND i.installment_no = d.installment_no)
ORDER BY d.levy_year, d.notice_number, d.installment_no
LIMIT 1
