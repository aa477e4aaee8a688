"""KB300 当初賦課ジョブネット: the year's assessment of the NHI tax and its notices.

    KB300-CAL 当初賦課日判定 ─▶ FK110 当初賦課 ─▶ FK120 特別徴収判定 ─▶ FK130 期割・納期限 ─┬▶ FK140 調定ファイル作成 ─┐
                                                                                      └▶ FK150 納税通知書作成 ───┴▶ KB300-END 統制合計表

FK110 assesses every household from the intake datasets (資格 FK020, 住民税所得 FK010), FK120
judges 特別徴収 (年金特徴対象者 FK030), FK130 splits the annual tax into installments with their
納期限; then FK140 writes the 調定 file for the collection ledger (var/outbox/ledger/) and FK150
the print-data file for the print vendor (var/outbox/print/) and the PDFs (納税通知書, 納付書,
特別徴収開始通知書: var/reports/notices/<generation>/). Each step returns its control totals
(件数・金額, RC) as its XCom; the last task logs them as one table.

On the city's calendar: the DAG is scheduled every weekday morning, and a scheduled run goes on
only on the fiscal year's 当初賦課 date (config/municipalities/<code>/fy<YYYY>/calendar.yaml
``initial_assessment.run_date``, a closed day moving to the next business day; KB300-CAL). A
manual run (Trigger, with 業務日 = the assessment's business date) always goes on. Wiring only:
the steps are in jobs/ (jobs.registry), run through jobs.common.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.defaults import ASSESSMENT_MORNING_CRON, TIMEZONE, jobnet_args
from _kokuho.steps import job_task, run_day_check
from _kokuho.tags import Tag
from _kokuho.totals import totals_task
from airflow.sdk import DAG, CronTriggerTimetable

with DAG(
    dag_id="kokuho_initial_assessment",
    dag_display_name="KB300 当初賦課ジョブネット",
    description="当初賦課・特別徴収判定・期割・調定ファイル・納税通知書 (年度の当初賦課日の朝)",
    doc_md=__doc__,
    **jobnet_args(CronTriggerTimetable(ASSESSMENT_MORNING_CRON, timezone=TIMEZONE)),
    tags=[Tag.KOKUHO, Tag.ASSESSMENT, Tag.ANNUAL],
) as dag:
    check = run_day_check("KB300", "当初賦課日判定", rule="initial_assessment")
    fk110 = job_task("FK110", "当初賦課")
    fk120 = job_task("FK120", "特別徴収判定")
    fk130 = job_task("FK130", "期割・納期限")
    fk140 = job_task("FK140", "調定ファイル作成")
    fk150 = job_task("FK150", "納税通知書作成")

    totals = totals_task("KB300", ["fk110", "fk120", "fk130", "fk140", "fk150"])

    check >> fk110 >> fk120 >> fk130 >> [fk140, fk150] >> totals
