-- KR900 管理外データ削除: the 取込済ファイル records (posted_file) of business days before :b.
-- Parameters: :m 市区町村コード, :b the first business date kept.
-- Template: count (true: count only, the dry run).
-- Returns: the count (count), else nothing (rowcount = the rows deleted).
{% if count | default(false) %}SELECT count(*) FROM posted_file{% else %}DELETE FROM posted_file{% endif %} WHERE municipality_code = :m AND business_date < :b
