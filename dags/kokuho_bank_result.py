"""KB210 口座振替結果ジョブネット: the bank's 口座振替 result file (全銀 種別91 結果) and its 消込.

The operator triggers this job net after each 振替日 (or any time: if the file is already in
var/inbox/bank/ the wait ends at once), with 業務日 = the day the results are posted. The wait is
a deferrable FileSensor: it holds no worker slot while it waits (the triggerer polls), and it
gives up after 24 hours with the task failed, so a missing bank file is visible in the UI.

SN110 takes in every result file in var/inbox/bank/ (one per bank) and, when it commits, archives
each under its SHA-256 in var/archive/bank/. SN115 posts the 振替済 records to the 収納台帳 (消込) and
records the 振替不能; SN130 marks the requests with their results and writes the 口座振替不能通知書
兼 納付書 (PDF, var/reports/collection/<generation>/) and the dataset debit_results (口座収入確認表).
A rerun posts nothing twice: the ledger knows every posted file by its SHA-256. The steps that
write the ledger run in the Airflow pool ``kokuho_ledger`` (one writer at a time on DuckDB).

The inbox folder comes from the Airflow connection ``kokuho_inbox`` (conn type ``fs``, extra
``{"path": "<var>/inbox"}``), set by the Makefile as the environment variable
AIRFLOW_CONN_KOKUHO_INBOX; production points it at the real drop folder. Wiring only: the steps
are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB210"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB210", doc=__doc__, tags=[Tag.KOKUHO, Tag.COLLECTION, Tag.ON_DEMAND, Tag.FILE_ARRIVAL])
