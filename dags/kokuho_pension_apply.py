"""KB520 年金特徴結果反映ジョブネット: the pension insurers' answers applied to the year's 特別徴収.

TK310 reads the 依頼処理結果 (Z23, September) and TK320 the 特別徴収結果 (Z24, odd months) that KB500
received; a request not accepted and a 失権・差止・年金額不足・他制度中止 stop the household's
特別徴収: TK330 moves its remaining 特別徴収 期 to the open 普通徴収 期 (new 納期限), TK340 writes the
更正 調定 file (var/outbox/ledger/, registered by SN100) and TK350 the 税額変更通知書 with 納付書
(var/outbox/print/, var/reports/notices/<generation>/). TK320 writes the amounts withheld as the
dataset pension_withholding_result, which SN235 年金特徴収納消込 in KB400 posts the same morning
(one posting path, reconciled to the yen with the file's trailer); amounts withheld after a stop
become 過誤納 and SN300 offsets or refunds them (返納).

On the city's calendar: scheduled every weekday at 08:00, a scheduled run goes on only on the run
days of config/common/run_calendar.yaml ``pension_apply`` (KB520-CAL). A manual run always goes on.
Wiring only: the steps are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB520"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB520", doc=__doc__, tags=[Tag.KOKUHO, Tag.ASSESSMENT, Tag.COLLECTION, Tag.MONTHLY])
