"""滞納 (arrears): everything after the 納期限.

督促 and 延滞金, 催告 and the 電話催告 list, 分割納付, 返戻・公示送達, 執行停止, the 滞納者 base table,
月次締め, 出納閉鎖・滞納繰越, 不納欠損 and the 決算帳票. Sits above jobs.assessment and
jobs.collection (it reads and writes their ledger rows) and beside jobs.pension.
"""
