"""KB410 口座振替請求ジョブネット: new 口座振替 mandates, then the request files to the banks.

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
jobs/ (jobs.registry), run through jobs.airflow_task.execute_job.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB410"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB410", doc=__doc__, tags=[Tag.KOKUHO, Tag.COLLECTION, Tag.DAILY, Tag.FILE_ARRIVAL])
