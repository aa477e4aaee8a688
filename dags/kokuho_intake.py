"""KB100 取込ジョブネット: the business-day intake of counterparty files.

    KB100-CAL 開庁日判定 ─▶ FK020 国保資格取込 ─┬▶ FK010 住民税所得取込 ─────┐
                                              └▶ FK030 年金特徴対象者取込 ─┴▶ KB100-END 統制合計表

Each step reads its files from var/inbox/<source>/, writes a dataset generation and its error
list, and returns its control totals (件数・金額, RC) as the task's XCom; the last task logs them
all as one table (統制合計表) and warns about every step that ended with RC 4 (警告終了). The
scheduled run at 06:30 on weekdays goes on only on a business day (KB100-CAL). The 口座振替依頼書
(SN010, var/inbox/koufuri/) is not taken in here but by KB410 口座振替請求 (kokuho_direct_debit),
only on the days a file comes, right before its registration (SN020). Wiring only: the steps
are in jobs/ (jobs.registry), run through jobs.common.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.defaults import BUSINESS_MORNING_CRON, TIMEZONE, jobnet_args
from _kokuho.steps import business_day_check, job_task
from _kokuho.tags import Tag
from _kokuho.totals import totals_task
from airflow.sdk import DAG, CronTriggerTimetable

with DAG(
    dag_id="kokuho_intake",
    dag_display_name="KB100 取込ジョブネット",
    description="資格・住民税所得・年金特徴対象者の取込 (開庁日の朝)",
    doc_md=__doc__,
    **jobnet_args(CronTriggerTimetable(BUSINESS_MORNING_CRON, timezone=TIMEZONE)),
    tags=[Tag.KOKUHO, Tag.INTAKE, Tag.DAILY],
) as dag:
    check = business_day_check("KB100")
    fk020 = job_task("FK020", "国保資格取込")
    fk010 = job_task("FK010", "住民税所得取込")
    fk030 = job_task("FK030", "年金特徴対象者取込")

    totals = totals_task("KB100", ["fk020", "fk010", "fk030"])

    check >> fk020 >> [fk010, fk030] >> totals
