"""KB410 口座振替請求ジョブネット: new 口座振替 mandates, then the request files to the banks.

    KB410-CAL 開庁日判定 ─▶ KB410-WAIT 口座振替依頼書ファイル到着待ち ─▶ SN010 口座振替依頼書取込
        ─▶ SN020 口座振替登録 ─▶ SN120 口座振替請求 ─▶ KB410-END 統制合計表

SN010 takes in a 口座振替依頼書 file (new, changed and stopped mandates) from var/inbox/koufuri/
only if one is there: the wait is a deferrable FileSensor bounded by 15 minutes (environment
variable KOKUHO_MANDATE_FILE_WAIT_MINUTES of the DAG processor overrides it), and on a day
without a file it is **skipped** (soft_fail) with SN010; the rest still runs (trigger rule
none_failed). SN010 archives the file with its SHA-256 in var/archive/koufuri/ when it commits.
SN020 registers every mandate file not registered yet in the 収納台帳's 口座振替情報.

SN120 makes, for each 振替日 (= 納期限) whose request day (``collection.direct_debit.
request_business_days_before`` business days before it) is today, one 全銀 種別91 request file
per bank in var/outbox/bank/<bank code>/ and the 口座振替請求者リスト (dataset debit_requests); on
other days there is nothing to do and it ends with RC 0. The requests are recorded in the ledger
first, so a rerun writes the same files byte for byte and requests nothing twice. The bank's
results come back through KB210 (kokuho_bank_result). The steps that write the ledger run in the
Airflow pool ``kokuho_ledger``.

The scheduled run at 09:00 on weekdays, after KB400 has registered the day's 調定 (SN100), goes on
only on a business day (KB410-CAL); a manual run always goes on. Wiring only: the steps are in
jobs/ (jobs.registry), run through jobs.common.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.defaults import (
    DIRECT_DEBIT_MORNING_CRON,
    MANDATE_FILE_WAIT,
    MANDATE_FILE_WAIT_ENV,
    TIMEZONE,
    file_wait,
    jobnet_args,
)
from _kokuho.steps import business_day_check, job_task, ledger_task
from _kokuho.steps import file_wait as file_wait_task
from _kokuho.tags import Tag
from _kokuho.totals import totals_task
from airflow.sdk import DAG, CronTriggerTimetable

#: Where SN010 finds its input, relative to the kokuho_inbox connection's path.
MANDATE_GLOB = "koufuri/*"

with DAG(
    dag_id="kokuho_direct_debit",
    dag_display_name="KB410 口座振替請求ジョブネット",
    description="口座振替依頼書の取込・登録と、金融機関への口座振替請求ファイルの作成 (開庁日の朝)",
    doc_md=__doc__,
    **jobnet_args(CronTriggerTimetable(DIRECT_DEBIT_MORNING_CRON, timezone=TIMEZONE)),
    tags=[Tag.KOKUHO, Tag.COLLECTION, Tag.DAILY, Tag.FILE_ARRIVAL],
) as dag:
    check = business_day_check("KB410")
    wait = file_wait_task("wait_mandate_file", "KB410-WAIT 口座振替依頼書ファイル到着待ち", MANDATE_GLOB,
                          timeout=file_wait(MANDATE_FILE_WAIT_ENV, MANDATE_FILE_WAIT), soft_fail=True)
    sn010 = job_task("SN010", "口座振替依頼書取込")
    sn020 = ledger_task("SN020", "口座振替登録", trigger_rule="none_failed")  # also on a day without a file
    sn120 = ledger_task("SN120", "口座振替請求")

    totals = totals_task("KB410", ["sn010", "sn020", "sn120"])

    check >> wait >> sn010 >> sn020 >> sn120 >> totals
