"""KB400 収納消込ジョブネット: the day's 調定 registration, the 消込 of every payment channel, the
過誤納 and the 収納日計.

    KB400-CAL 開庁日判定 ─▶ SN100 調定登録 ─┬▶ KB400-WAIT 窓口収納ファイル到着待ち ─▶ SN200 窓口収納データ取込 ─▶ SN205 窓口収納消込 ──────────┐
                                          ├▶ KB400-WAIT コンビニ等収納ファイル到着待ち ─▶ SN210 コンビニ等収納データ取込 ─▶ SN215 コンビニ等収納消込 ─┤
                                          └▶ SN235 年金特徴収納消込 ─────────────────────────────────────────────────────────┤
        ┌────────────────────────────────────────────────────────────────────────────────────────────────────┘
        └▶ SN410 速報未確報チェック ─▶ SN300 過誤納整理 ─▶ SN400 収納日計 ─▶ KB400-END 統制合計表

SN100 registers the 調定 files the assessment job nets wrote (var/outbox/ledger/: FK140 当初,
FK220 更正) in the 収納台帳 and posts the payments that were waiting for their 調定. Then each
channel's file is awaited in its inbox folder: var/inbox/counter/ (窓口・指定金融機関) and
var/inbox/cvs/ (コンビニ・クレジット・スマホ決済, 速報・確報・速報取消). Each wait is a deferrable
FileSensor (no worker slot while it waits) bounded by 3 hours (environment variable
KOKUHO_PAYMENT_FILE_WAIT_MINUTES of the DAG processor overrides it); when no file came it is
**skipped**, not failed (soft_fail), with the intake and the 消込 of that channel: a day without
a file from a channel is normal. SN235 posts the 年金特別徴収 results (dataset
pension_withholding_result; nothing new is RC 0).

The intake steps (SN200, SN210) archive each input file with its SHA-256 in
var/archive/<source>/ after they commit, so the inbox is empty again for the next day's file;
their 消込 steps post every file the ledger has not posted yet, each in one transaction, and a
rerun posts nothing twice (the ledger knows each posted file by its SHA-256).

SN410 (速報 with no 確報 in time), SN300 (過誤納: 充当, 還付, 還付充当通知書, the 総合振込 file in
var/outbox/bank/refund/) and SN400 (収納日計表 CSV and PDF in var/reports/collection/<generation>/,
reconciled with 納付履歴 to the yen) run when the channels before them succeeded or were skipped
(trigger rule none_failed), and not when one of them failed. The last task logs the control
totals of every step (統制合計表). The steps that write the ledger run in the Airflow pool
``kokuho_ledger`` (one writer at a time on the DuckDB ledger).

The scheduled run at 08:30 on weekdays goes on only on a business day (KB400-CAL); a manual run
(Trigger, 業務日 = the business date) always goes on. Wiring only: the steps are in jobs/
(jobs.registry), run through jobs.common.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.defaults import (
    COLLECTION_MORNING_CRON,
    PAYMENT_FILE_WAIT,
    PAYMENT_FILE_WAIT_ENV,
    TIMEZONE,
    file_wait,
    jobnet_args,
)
from _kokuho.steps import business_day_check, job_task, ledger_task
from _kokuho.steps import file_wait as file_wait_task
from _kokuho.tags import Tag
from _kokuho.totals import totals_task
from airflow.sdk import DAG, CronTriggerTimetable

#: Where SN200 / SN210 find their input, relative to the kokuho_inbox connection's path.
COUNTER_GLOB = "counter/*"
CVS_GLOB = "cvs/*"

with DAG(
    dag_id="kokuho_collection",
    dag_display_name="KB400 収納消込ジョブネット",
    description="調定登録・窓口/コンビニ等/年金特徴の収納消込・過誤納整理・収納日計 (開庁日の朝)",
    doc_md=__doc__,
    **jobnet_args(CronTriggerTimetable(COLLECTION_MORNING_CRON, timezone=TIMEZONE)),
    tags=[Tag.KOKUHO, Tag.COLLECTION, Tag.DAILY, Tag.FILE_ARRIVAL],
) as dag:
    wait_for = file_wait(PAYMENT_FILE_WAIT_ENV, PAYMENT_FILE_WAIT)

    check = business_day_check("KB400")
    sn100 = ledger_task("SN100", "調定登録")

    wait_counter = file_wait_task("wait_counter_file", "KB400-WAIT 窓口収納ファイル到着待ち", COUNTER_GLOB,
                                  timeout=wait_for, soft_fail=True)
    sn200 = job_task("SN200", "窓口収納データ取込")
    sn205 = ledger_task("SN205", "窓口収納消込")

    wait_cvs = file_wait_task("wait_cvs_file", "KB400-WAIT コンビニ等収納ファイル到着待ち", CVS_GLOB,
                              timeout=wait_for, soft_fail=True)
    sn210 = job_task("SN210", "コンビニ等収納データ取込")
    sn215 = ledger_task("SN215", "コンビニ等収納消込")

    sn235 = ledger_task("SN235", "年金特徴収納消込")

    # after the channels: run when they succeeded or were skipped (no file), not when one failed
    sn410 = ledger_task("SN410", "速報未確報チェック", trigger_rule="none_failed")
    sn300 = ledger_task("SN300", "過誤納整理", trigger_rule="none_failed")
    sn400 = ledger_task("SN400", "収納日計", trigger_rule="none_failed")

    totals = totals_task("KB400", ["sn100", "sn200", "sn205", "sn210", "sn215", "sn235", "sn410", "sn300", "sn400"])

    check >> sn100 >> [wait_counter, wait_cvs, sn235]
    wait_counter >> sn200 >> sn205
    wait_cvs >> sn210 >> sn215
    [sn205, sn215, sn235] >> sn410 >> sn300 >> sn400 >> totals
