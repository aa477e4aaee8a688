"""KB310 異動賦課ジョブネット: 更正 after 資格 and 住民税 changes, and the 税額変更通知書.

    KB310-CAL 異動賦課日判定 ─▶ FK210 異動賦課 ─┬▶ FK220 異動調定ファイル作成 ─┐
                                              └▶ FK230 変更通知書作成 ───────┴▶ KB310-END 統制合計表

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
steps are in jobs/ (jobs.registry), run through jobs.common.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.defaults import ASSESSMENT_MORNING_CRON, TIMEZONE, jobnet_args
from _kokuho.steps import job_task, run_day_check
from _kokuho.tags import Tag
from _kokuho.totals import totals_task
from airflow.sdk import DAG, CronTriggerTimetable

with DAG(
    dag_id="kokuho_reassessment",
    dag_display_name="KB310 異動賦課ジョブネット",
    description="異動賦課・異動調定ファイル・税額変更通知書 (毎月の異動賦課日の朝)",
    doc_md=__doc__,
    **jobnet_args(CronTriggerTimetable(ASSESSMENT_MORNING_CRON, timezone=TIMEZONE)),
    tags=[Tag.KOKUHO, Tag.ASSESSMENT, Tag.MONTHLY],
) as dag:
    check = run_day_check("KB310", "異動賦課日判定", rule="reassessment")
    fk210 = job_task("FK210", "異動賦課")
    fk220 = job_task("FK220", "異動調定ファイル作成")
    fk230 = job_task("FK230", "変更通知書作成")

    totals = totals_task("KB310", ["fk210", "fk220", "fk230"])

    check >> fk210 >> [fk220, fk230] >> totals
