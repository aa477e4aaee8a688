"""KB300 当初賦課ジョブネット: the year's assessment of the NHI tax and its notices.

FK110 assesses every household from the intake datasets (資格 FK020, 住民税所得 FK010), FK120
judges 特別徴収 (年金特徴対象者 FK030), FK130 splits the annual tax into installments with their
納期限; then FK140 writes the 調定 file for the collection ledger (var/outbox/ledger/) and FK150
the print-data file for the print vendor (var/outbox/print/) and the PDFs (納税通知書, 納付書,
特別徴収開始通知書: var/reports/notices/<generation>/). Each step returns its control totals
(件数・金額, RC) as its XCom; the last task logs them as one table.

On the city's calendar: the DAG is scheduled every weekday morning, and a scheduled run goes on
only on the fiscal year's 当初賦課 date (config/municipalities/<code>/fy<YYYY>/run_calendar.yaml
``initial_assessment.run_date``, a closed day moving to the next business day; KB300-CAL). A
manual run (Trigger, with 業務日 = the assessment's business date) always goes on. Wiring only:
the steps are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB300"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB300", doc=__doc__, tags=[Tag.KOKUHO, Tag.ASSESSMENT, Tag.ANNUAL])
