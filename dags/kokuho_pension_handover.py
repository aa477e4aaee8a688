"""KB530 社会保険料控除引継ジョブネット: the yearly hand-over to the 市民税課 of the 国保税 withheld from pensions.

TK290 社会保険料控除引継 sums, per person (宛名番号), the 国保税 withheld from the pensions paid in the
calendar year before (the 収納台帳's 年金特徴 postings of SN235; the February pension of the 賦課年度 before
and April–December of the year's own) and writes var/outbox/shiminzei/NENKIN_KOJO_<year>.dat
(layouts/pension_deduction_handover.yaml, with its .sha256) for the 社会保険料控除 of the 住民税. No
個人番号 on the file. The ledger's yen are checked against the insurers' Z24 results (KKB509W).

On the city's calendar: scheduled every weekday at 13:00, a scheduled run goes on only on the run day of
config/common/run_calendar.yaml ``pension_deduction_handover`` (January 20th, the next business day when
closed: the day KB520 and KB400 post the December pension that morning). A manual run always goes on.
Wiring only: the steps are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB530"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB530", doc=__doc__, tags=[Tag.KOKUHO, Tag.COLLECTION, Tag.ANNUAL])
