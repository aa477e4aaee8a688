-- 執行停止の時効 (地方税法15条の7 第4項・第5項), for the closing branch's 不納欠損: per unpaid
-- installment of a taxpayer under an unlifted suspension, the day the 納付義務 is extinguished —
-- the start date + :years years (config arrears.suspension.extinction_years), or the start
-- date itself when 即時消滅 (第5項) — and whether that day has come by :as_of (candidate).
-- Parameters: :m 市区町村コード, :as_of 基準日, :years 消滅までの年数.
-- Returns: suspension_id, person_id, reason_code, start_date, immediate_extinction, levy_year,
--   notice_number, installment_no, balance, extinction_date, candidate.
SELECT x.*, x.extinction_date <= :as_of AS candidate FROM (
    SELECT s.suspension_id, s.person_id, s.reason_code, s.start_date, s.immediate_extinction,
        i.levy_year, i.notice_number, i.installment_no, i.levy_amount - i.paid_amount AS balance,
        CASE WHEN s.immediate_extinction THEN s.start_date
{% if dialect == 'duckdb' %}
             ELSE CAST(s.start_date + to_years(CAST(:years AS INTEGER)) AS DATE) END AS extinction_date
{% else %}
             ELSE CAST(s.start_date + make_interval(years => CAST(:years AS INTEGER)) AS DATE) END AS extinction_date
{% endif %}
    FROM arrears_suspension s
    JOIN installment i ON i.municipality_code = s.municipality_code AND i.person_id = s.person_id
        AND NOT i.deleted AND i.write_off_date IS NULL
    WHERE s.municipality_code = :m AND NOT s.deleted AND s.lifted_date IS NULL AND s.start_date <= :as_of
        AND i.levy_amount - i.paid_amount > 0
) x
ORDER BY x.person_id, x.levy_year, x.notice_number, x.installment_no
