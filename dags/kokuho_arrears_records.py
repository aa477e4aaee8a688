"""KB620 滞納記録ジョブネット: 分割納付 (納付誓約), 返戻・公示送達 and 執行停止 on the 収納台帳.

The 収納課's files in var/inbox/arrears/: TN210 registers the 分割納付計画 of bunkatsu*.csv (the
target 期別 are held from 督促 and 催告 while the plan runs) and writes each 回's 納付書 (print file
var/outbox/print/arrears_plan_<generation>.dat, PDF in var/reports/arrears/<generation>/); TN220
checks every active plan (不履行 after ``plan.broken_after_days`` days, 完了) and writes the 履行状況一覧;
TN310 registers the returned 納税通知書 / 督促状 of henrei*.csv; TN320 records the address search of
chousa*.csv (判明: 再送付一覧; 不明: 公示送達対象者一覧, 送達日 = 掲示日 + 7日, 地方税法20条の2);
TN410 registers the 執行停止 of teishi*.csv (地方税法15条の7) with the day the 納付義務 ends. A file is
posted once (by SHA-256); a rerun writes the same bytes.

Scheduled at 11:45 on weekdays, after KB400 has posted the morning's payment files and before KB600
(12:00); goes on only on a business day (KB620-CAL); a manual run always goes on. Wiring only: the
steps are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job, in the Airflow pool
``kokuho_ledger``.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools and schedule: jobs.registry JOBNETS["KB620"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB620", doc=__doc__, tags=[Tag.KOKUHO, Tag.ARREARS, Tag.DAILY])
