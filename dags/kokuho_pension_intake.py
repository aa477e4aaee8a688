"""KB500 年金特徴受信ジョブネット: the 年金保険者' files through the 経由機関 (国保連合会).

On the run days of config run_calendar ``pension_intake`` (KB500-CAL), it waits for a Z2*.dta file
in var/inbox/nenkin/ (soft: a day without one skips TK110 after KOKUHO_NENKIN_FILE_WAIT_MINUTES),
then TK110 checks and routes each file by its 通知内容コード (30 捕捉, 02/32 Z23, 22 Z24, 42/62 各種異動)
into the tokucho_* datasets. Wiring only: the step is jobs.pension.intake (jobs.registry).
"""

from __future__ import annotations

from _kokuho.jobnet import jobnet_dag
from _kokuho.tags import Tag

# The graph, names, pools, file waits and schedule: jobs.registry JOBNETS["KB500"] (the Airflow DAG is built from it).
dag = jobnet_dag("KB500", doc=__doc__, tags=[Tag.KOKUHO, Tag.INTAKE, Tag.MONTHLY, Tag.FILE_ARRIVAL])
