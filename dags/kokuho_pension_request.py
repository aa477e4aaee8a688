"""KB510 年金特徴依頼ジョブネット: what the city sends to the pension insurers (through the 経由機関).

TK210 特別徴収依頼 writes, once a year in July, the Z22 特別徴収依頼 (通知内容 01: the 仮徴収 / 本徴収
amounts of each pension month) of FK120's withheld persons; TK220 追加依頼 answers each 追加候補者 (捕捉,
通知内容 30) file KB500 received in an even month with the 追加依頼 (31) of those who qualify; TK230
各種異動 sends every month the Z2A 資格喪失等 (41: 死亡, 転出, 特別事情, 適用除外) and 仮徴収額変更 (61) of
the persons already requested. One file per 経由機関 and kind in var/outbox/nenkin/ with its .sha256;
what was sent is a dataset per step, so nothing is sent twice, and a file already delivered with other
bytes is never replaced (KKB523E).

On the city's calendar: scheduled every weekday at 08:00, a scheduled run goes on only on the run
days of config/common/run_calendar.yaml ``pension_send`` (KB510-CAL); each step then sends only in the
months of its own rule (pension_request_z22, pension_request_addition, pension_request_change). A
manual run always goes on.
Wiring only: the steps are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB510"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB510", doc=__doc__, tags=[Tag.KOKUHO, Tag.ASSESSMENT, Tag.MONTHLY])
