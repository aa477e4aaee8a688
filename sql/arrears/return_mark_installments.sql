-- TN310 / TN320: write the 返戻日 and the 公示日 of the staged returns to their installments
-- (納税通知書返戻日 / 督促状返戻日, 納税通知書公示日 / 督促状公示日). Installment 0 means every
-- installment of the notice (a returned 納税通知書).
-- stage: _ret(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER, document_kind VARCHAR, returned_date DATE, posting_date DATE)
-- Parameters: :m 市区町村コード, :reason 処理事由.
-- Returns: nothing.
UPDATE installment SET
    notice_returned_date = COALESCE((SELECT MAX(r.returned_date) FROM _ret r WHERE r.document_kind = '1'
        AND r.levy_year = installment.levy_year AND r.notice_number = installment.notice_number
        AND r.installment_no IN (0, installment.installment_no)), notice_returned_date),
    dunning_returned_date = COALESCE((SELECT MAX(r.returned_date) FROM _ret r WHERE r.document_kind = '2'
        AND r.levy_year = installment.levy_year AND r.notice_number = installment.notice_number
        AND r.installment_no IN (0, installment.installment_no)), dunning_returned_date),
    notice_public_date = COALESCE((SELECT MAX(r.posting_date) FROM _ret r WHERE r.document_kind = '1'
        AND r.levy_year = installment.levy_year AND r.notice_number = installment.notice_number
        AND r.installment_no IN (0, installment.installment_no)), notice_public_date),
    dunning_public_notice_date = COALESCE((SELECT MAX(r.posting_date) FROM _ret r WHERE r.document_kind = '2'
        AND r.levy_year = installment.levy_year AND r.notice_number = installment.notice_number
        AND r.installment_no IN (0, installment.installment_no)), dunning_public_notice_date),
    operation_reason = :reason
WHERE municipality_code = :m AND EXISTS (SELECT 1 FROM _ret r WHERE r.levy_year = installment.levy_year
    AND r.notice_number = installment.notice_number AND r.installment_no IN (0, installment.installment_no))
