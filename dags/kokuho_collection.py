"""KB400 収納消込ジョブネット: the day's 調定 registration, the 消込 of every payment channel, the
過誤納 and the 収納日計.

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
(jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB400"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB400", doc=__doc__, tags=[Tag.KOKUHO, Tag.COLLECTION, Tag.DAILY, Tag.FILE_ARRIVAL])
