-- KR900 管理外データ削除: the rows of a ledger table that belong to a staged 通知書 (the notices
-- retention_notices.sql found), on 市区町村コード, 賦課年度 and 通知書番号 (refund_offset has no 対象年度).
-- Template: table (default payment), prefix = the key columns' prefix ("" or "from_"),
-- count (true: count only, the dry run).
-- stage: _purge(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, person_id VARCHAR, household_id VARCHAR)
-- Parameters: none.
-- Returns: the count (count), else nothing (rowcount = the rows deleted).
{% set table = table | default('payment') %}{% set prefix = prefix | default('') %}
{% if count | default(false) %}SELECT count(*) FROM {{ table }}{% else %}DELETE FROM {{ table }}{% endif %} WHERE EXISTS (
    SELECT 1 FROM _purge p WHERE p.municipality_code = {{ table }}.municipality_code
    AND p.levy_year = {{ table }}.{{ prefix }}levy_year AND p.notice_number = {{ table }}.{{ prefix }}notice_number)
