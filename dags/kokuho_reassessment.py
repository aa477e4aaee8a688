"""KB310 異動賦課ジョブネット: 更正 after 資格 and 住民税 changes, and the 税額変更通知書.

FK210 finds the households whose 資格 or income changed since the current assessment, assesses
them again and corrects their installments (an increase over the open 期, a decrease from the
unpaid ones); FK220 writes the 更正 調定 file (var/outbox/ledger/) and FK230 the print-data file
(var/outbox/print/) and the PDFs of the 税額変更通知書 with their 納付書
(var/reports/notices/<generation>/). Each step returns its control totals as its XCom; the last
task logs them as one table.

On the city's calendar: the DAG is scheduled every weekday morning, and a scheduled run goes on
only on the configured days of the month (config/common/run_calendar.yaml
``reassessment.run_days``, e.g. the 1st and the 16th, a closed day moving to the next business
day), after the fiscal year's 当初賦課 (KB310-CAL). A manual run always goes on. Wiring only: the
steps are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB310"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB310", doc=__doc__, tags=[Tag.KOKUHO, Tag.ASSESSMENT, Tag.MONTHLY])
