-- TN130 / TN110: per taxpayer the last 催告 up to :as_of (its day and kind), the number of 催告,
-- and the latest 約束期日 given. A 財産調査照会 (kind 'inquiry', TN150) is not a 催告: not counted.
-- Parameters: :m 市区町村コード, :as_of 基準日.
-- Returns: person_id, reminders, last_reminder_date, last_reminder_kind, promise_date.
SELECT r.person_id, COUNT(*) AS reminders, MAX(r.reminder_date) AS last_reminder_date,
    MAX(CASE WHEN r.reminder_date = x.last_date THEN r.reminder_kind END) AS last_reminder_kind,
    MAX(r.promise_date) AS promise_date
FROM arrears_reminder r
JOIN (SELECT person_id, MAX(reminder_date) AS last_date FROM arrears_reminder
      WHERE municipality_code = :m AND reminder_date <= :as_of AND NOT deleted
          AND reminder_kind <> 'inquiry' GROUP BY person_id) x
    ON x.person_id = r.person_id
WHERE r.municipality_code = :m AND r.reminder_date <= :as_of AND NOT r.deleted AND r.reminder_kind <> 'inquiry'
GROUP BY r.person_id
ORDER BY r.person_id
