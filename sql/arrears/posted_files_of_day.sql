-- TN210 / TN310 / TN320 / TN410: the input files of a channel posted on a business date (their
-- records are what the step's lists and print data show, on a rerun too).
-- Parameters: :m 市区町村コード, :d 業務日, :c 区分 (posted_file.channel).
-- Returns: source_sha256, file_name, records.
SELECT source_sha256, file_name, records FROM posted_file
WHERE municipality_code = :m AND business_date = :d AND channel = :c AND NOT deleted
ORDER BY file_name, source_sha256
