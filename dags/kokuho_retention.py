"""KB900 管理外データ削除ジョブネット: KR900 deletes what is past its retention.

特定個人情報保護評価書 (管理外データ退避及び削除): the datasets, received files (archive), print
files, reports and 収納台帳 rows past the retention of their kind (config/common/retention.yaml:
the years, the legal basis, whether the figure is verified). Manual trigger only, by a 管理
(admin) user, after reviewing the list of ``kokuho purge --dry-run``; the run writes a purge
report (var/reports/retention/) and an access-log line with the 宛名番号 of the notices deleted.

Wiring only: the step is jobs.ledger.retention:purge_step (jobs.registry), run through
jobs.airflow_task.execute_job; it writes the ledger, so it runs in the pool ``kokuho_ledger``.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools and schedule: jobs.registry JOBNETS["KB900"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB900", doc=__doc__, tags=[Tag.KOKUHO, Tag.RETENTION, Tag.ON_DEMAND])
