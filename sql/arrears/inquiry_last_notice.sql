-- TN150: per taxpayer the last 催告書 sent (現年催告 / 一斉催告; not a telephone call, not a 照会) up
-- to :d, and the latest 約束期日 given by telephone.
-- Parameters: :m 市区町村コード, :d 基準日.
-- Returns: person_id, last_notice_date, promise_date.
SELECT person_id,
    MAX(CASE WHEN reminder_kind IN ('current', 'bulk') THEN reminder_date END) AS last_notice_date,
    MAX(promise_date) AS promise_date
FROM arrears_reminder
WHERE municipality_code = :m AND reminder_date <= :d AND NOT deleted
GROUP BY person_id
ORDER BY person_id
