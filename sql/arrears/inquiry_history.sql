-- TN150: the 財産調査照会 already recorded (arrears_reminder kind 'inquiry', 催告番号 = '4' + 照会日
-- (8) + 宛名番号 (10) + 金融機関コード (4)), so that a bank is not asked twice about a 滞納者.
-- Parameters: :m 市区町村コード, :d 基準日 (the business date; later rows are ignored).
-- Returns: reminder_id, person_id, bank_code, reminder_date.
SELECT reminder_id, person_id, SUBSTR(reminder_id, 20, 4) AS bank_code, reminder_date
FROM arrears_reminder
WHERE municipality_code = :m AND reminder_kind = 'inquiry' AND reminder_date <= :d AND NOT deleted
ORDER BY person_id, reminder_date, reminder_id
