"""KB610 催告ジョブネット: 滞納者把握, 催告書作成, 電話催告対象者リスト and 電話催告結果取込 on the 収納台帳.

TN110 sums the 滞納 (督促済 and unpaid 期別) per taxpayer, 現年度 / 過年度, and writes the 管理帳票
(var/reports/arrears/<generation>/: by amount band and age band, config arrears_records.extraction)
and the 分割納付 履行状況. TN120 sends the 現年催告書 (督促済, unpaid, unheld 期別 of the current fiscal
year), or on a 一斉催告 day (``bulk_reminder`` in config/common/run_calendar.yaml) the 一斉催告書 of every
滞納者 with the past years: each 催告 recorded in arrears_reminder (never twice for a day and kind), the
print file var/outbox/print/reminder_<kind>_<generation>.dat and the PDFs with a 納付書 per 期別.
TN130 writes the call centre's 電話催告対象者リスト; TN140 takes the call centre's results
(var/inbox/arrears/denwa*.csv) into the 催告 history with their 約束期日.

Scheduled at 07:00 on weekdays (before KB400 and KB600 of the day: it sees the 督促状 of earlier days);
KB610-CAL lets a scheduled run go on only on the run days of ``reminder`` (the 10th of every month
and the 一斉催告 days, moved to the next business day); a manual run always goes on. Wiring only: the
steps are in jobs/ (jobs.registry), run through jobs.airflow_task.execute_job, in the Airflow pool
``kokuho_ledger``.
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools and schedule: jobs.registry JOBNETS["KB610"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB610", doc=__doc__, tags=[Tag.KOKUHO, Tag.ARREARS, Tag.MONTHLY])
