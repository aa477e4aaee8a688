-- TN410 執行停止登録: the 執行停止 registered from the files posted on :d (the day's 執行停止一覧 is
-- written from these rows, on a rerun too).
-- Parameters: :m 市区町村コード, :d 業務日, :c 区分 (posted_file.channel of the 執行停止 files).
-- Returns: suspension_id, person_id, reason_code, start_date, immediate_extinction, lifted_date, note.
SELECT s.suspension_id, s.person_id, s.reason_code, s.start_date, s.immediate_extinction, s.lifted_date, s.note
FROM posted_file f
JOIN arrears_suspension s ON s.source_sha256 = f.source_sha256 AND s.municipality_code = f.municipality_code
    AND NOT s.deleted
WHERE f.municipality_code = :m AND f.business_date = :d AND f.channel = :c AND NOT f.deleted
ORDER BY s.suspension_id
