-- bench/bench_collection.py per-row reference: one 消込データ row (executemany).
-- Parameters: :sha, :no, :m, :b 業務詳細コード, :cm 徴収方法区分, :ly 賦課年度 (= 対象年度), :nn, :ino,
-- :la 調定額, :amt, :pd, :rd, :pk, :ch, :kind, :bank, :branch, :store, :agent, :barcode, :rc,
-- :dk 重複判定キー, :st status, :reason, :file, :off, :bd 処理日, :job, :gen, :od, :ot.
-- Returns: nothing.
INSERT INTO reconciliation (source_sha256, record_no, municipality_code, business_code,
    collection_method, levy_year, target_year, notice_number, installment_no, latest_flag, levy_amount,
    amount, paid_date, received_date, payment_kind, channel, kind, bank_code, branch_code, cvs_store_code,
    agent_code, barcode, result_code, dedup_key, status, reason, source_file, byte_offset, raw_hex,
    business_date, job_id, generation, deleted, operator_id, operated_date, operated_time) VALUES
(:sha, :no, :m, :b, :cm, :ly, :ly, :nn, :ino, TRUE, :la, :amt, :pd, :rd, :pk, :ch, :kind, :bank,
    :branch, :store, :agent, :barcode, :rc, :dk, :st, :reason, :file, :off, NULL, :bd, :job, :gen, FALSE,
    :job, :od, :ot)
