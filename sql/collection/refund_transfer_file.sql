-- SN300: the staged 口座還付 name their 総合振込 file and 支払日.
-- stage: _tf(refund_id VARCHAR)
-- Parameters: :f transfer file name, :t 振込日.
-- Returns: nothing.
UPDATE refund SET transfer_file = :f, payment_date = :t FROM _tf
WHERE refund.refund_id = _tf.refund_id
