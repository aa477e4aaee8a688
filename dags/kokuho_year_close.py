"""KB710 年次ジョブネット: on the 出納閉鎖 day, the 不納欠損, the 滞納繰越 and the 滞納状況 hand-over.

TN620 不納欠損 books the 期別 whose 徴収権 has expired (時効, 執行停止3年, 即時消滅) with their
reason codes and writes the 不納欠損 調書; TN610 出納閉鎖・滞納繰越 makes the closed fiscal year's
収入未済 the next year's 滞納繰越分 調定 (reconciled to the yen) with the 滞納繰越 調書; TN630
滞納状況引継 writes the 滞納 per 世帯 for 国保年金課 (給付).

On the city's calendar: scheduled every weekday morning, a scheduled run goes on only on the
出納閉鎖 day (5/31, or the business day before; config/common/run_calendar.yaml ``year_close``;
KB710-CAL). A manual run always goes on. Wiring only: the steps are in jobs/arrears/year_close.py
(jobs.registry).
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB710"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB710", doc=__doc__, tags=[Tag.KOKUHO, Tag.ARREARS, Tag.ANNUAL])
