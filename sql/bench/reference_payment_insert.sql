-- bench/bench_collection.py per-row reference: one 納付履歴 row of a posted record (executemany).
-- Parameters: :sha, :no, :m, :ly, :nn, :ino, :b, :cm, :amt, :rd, :pd, :pk, :ch, :bank, :branch, :store,
-- :agent, :job, :gen, :od, :ot.
-- Returns: nothing.
INSERT INTO payment (source_sha256, record_no, line_no, municipality_code, levy_year, target_year,
    notice_number, installment_no, business_code, collection_method, latest_flag, refund_offset_kind,
    cash_kind, tax_amount, late_fee_amount, dunning_fee_amount, received_date, paid_date, payment_kind,
    channel, bank_code, branch_code, cvs_store_code, agent_code, job_id, generation, deleted, operator_id,
    operated_date, operated_time) VALUES (:sha, :no, 1, :m, :ly, :ly, :nn, :ino, :b, :cm, TRUE, '0', '1',
    :amt, 0, 0, :rd, :pd, :pk, :ch, :bank, :branch, :store, :agent, :job, :gen, FALSE, :job, :od, :ot)
