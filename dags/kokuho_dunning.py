"""KB600 督促ジョブネット: 督促対象抽出, 督促状作成 and 延滞金調定 on the 収納台帳.

TN010 acts on every 納期限 whose 督促 day has come: 納期限 + ``dunning.days_after_due`` days
(config/common/late_fee.yaml; the statute for 国保税 says 20日以内, the seed's city practice 30日),
moved back to a business day; a missed day is caught up on the next run. It leaves out the 期別
held by a CVS 速報, a pending 口座振替 result, a 分割納付 plan or an 執行停止 (dataset
dunning_candidates, with the reason). TN020 records one 督促状 per 期別 in the ledger (督促状発行日;
never twice) and writes the 督促状 兼 納付書 PDFs (var/reports/dunning/<generation>/) and the print
file for the vendor (var/outbox/print/dunning_notice_<generation>.dat); a rerun writes the same
bytes. TN030 books the 延滞金 of 督促済 期別 whose 本税 is now paid in full, and its 収入.

Scheduled at 12:00 on weekdays, after KB400 has posted the morning's payment files; goes on only
on a business day (KB600-CAL); a manual run always goes on. Wiring only: the steps are in jobs/
(jobs.registry), run through jobs.airflow_task.execute_job, in the Airflow pool ``kokuho_ledger``.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools and schedule: jobs.registry JOBNETS["KB600"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB600", doc=__doc__, tags=[Tag.KOKUHO, Tag.ARREARS, Tag.DAILY])
