-- 督促・催告の保留: the installments held at :as_of by a 分割納付 plan or an 執行停止 (TN010 督促対象抽出
-- leaves them out). Cross-branch contract: arrears-records owns this file and replaces the body
-- with its plan / suspension tables; this stub (from dunning) returns zero rows with the columns.
-- Parameters: :as_of 基準日, :m 市区町村コード.
-- Returns: levy_year, notice_number, installment_no, hold_reason, hold_id.
SELECT i.levy_year, i.notice_number, i.installment_no, CAST(NULL AS VARCHAR) AS hold_reason,
    CAST(NULL AS VARCHAR) AS hold_id
FROM installment i WHERE FALSE AND i.municipality_code = :m AND i.due_date <= :as_of
