"""KB700 月次締めジョブネット: the month before closed, its conservation checked, its book written.

TN510 月次締め sums the previous month's 調定, 収入, 還付・充当, 不納欠損 and 収入未済 per 年度区分 and
component from the ledger, checks Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済 to the yen (RC 8
otherwise: nothing is closed) and locks the month (a later posting dated in it is refused, or
moved to the next month: config/common/closing.yaml). TN520 決算帳票 writes the book as CSV and
PDF with its charts (var/reports/closing/<generation>/).

On the city's calendar: scheduled every weekday morning, a scheduled run goes on only on the first
business day of the month (config/common/run_calendar.yaml ``month_close``; KB700-CAL). A manual
run always goes on. Wiring only: the steps are in jobs/arrears/closing.py (jobs.registry).
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB700"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB700", doc=__doc__, tags=[Tag.KOKUHO, Tag.MONTHLY])
