"""KB100 取込ジョブネット: the business-day intake of counterparty files.

Each step reads its files from var/inbox/<source>/, writes a dataset generation and its error
list, and returns its control totals (件数・金額, RC) as the task's XCom; the last task logs them
all as one table (統制合計表) and warns about every step that ended with RC 4 (警告終了). The
scheduled run at 06:30 on weekdays goes on only on a business day (KB100-CAL). The 口座振替依頼書
(SN010, var/inbox/koufuri/) is not taken in here but by KB410 口座振替請求 (kokuho_direct_debit),
only on the days a file comes, right before its registration (SN020). Wiring only: the steps
are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB100"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB100", doc=__doc__, tags=[Tag.KOKUHO, Tag.INTAKE, Tag.DAILY])
