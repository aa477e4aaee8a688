-- Adds the staged changes to the 期別: 累計収納額 (paid), 速報額 (prov), and moves the last
-- 領収日 / 収入日 forward (never back). One UPDATE … FROM over the aggregated changes, joined on
-- the whole primary key (a constant or column predicate beside it made DuckDB's UPDATE 20×
-- slower, bench/bench_collection.py).
-- stage: _delta(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER, paid BIGINT, prov BIGINT, paid_date DATE, received_date DATE, municipality_code VARCHAR, target_year INTEGER)
-- Parameters: :op 操作者ID (job id), :od 操作年月日, :ot 操作時刻 (HHMMSS), :rs 処理事由 (job id + run id).
-- Returns: nothing (rowcount = the 期別 updated).
{% include 'ledger/installment_change_set.sqli' +%}
FROM _delta d WHERE installment.municipality_code = d.municipality_code
AND installment.levy_year = d.levy_year AND installment.target_year = d.target_year
AND installment.notice_number = d.notice_number AND installment.installment_no = d.installment_no
