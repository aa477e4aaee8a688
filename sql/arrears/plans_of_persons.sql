-- TN210: the plans (any status) of the staged taxpayers: an active one refuses a second plan.
-- stage: _pp(person_id VARCHAR)
-- Parameters: :m 市区町村コード.
-- Returns: plan_id, person_id, status, source_sha256.
SELECT p.plan_id, p.person_id, p.status, p.source_sha256 FROM arrears_plan p
JOIN _pp ON _pp.person_id = p.person_id
WHERE p.municipality_code = :m AND NOT p.deleted
ORDER BY p.plan_id
