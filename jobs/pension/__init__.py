"""年金特別徴収 (pension withholding): the file cycle with the pension insurers (特別徴収義務者).

Z21 対象者 and 捕捉 intake, the 介護保険 台帳 intake the 2分の1 test reads, Z22 特別徴収依頼 /
追加依頼 / 各種異動 (Z2A) sends, Z23 依頼処理結果 and Z24 特別徴収結果 applied to 賦課 and 収納, and the
yearly hand-over of the withheld amounts to the 市民税課. Sits above jobs.assessment and
jobs.collection (it drives both) and beside jobs.arrears.
"""
