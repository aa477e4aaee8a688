"""The allow-list of DAG tags (tests/dags checks every DAG uses only these).

Tags are what operators filter on in the Airflow UI, so they are Japanese. Add a tag here first,
then use it in a DAG.
"""

from __future__ import annotations

from enum import StrEnum


class Tag(StrEnum):
    KOKUHO = "国保"          # every DAG of this project
    INTAKE = "取込"          # intake of counterparty files (資格, 住民税, 年金, 口座)
    ASSESSMENT = "賦課"
    COLLECTION = "収納"
    ARREARS = "滞納"
    DAILY = "日次"           # runs every business day
    MONTHLY = "月次"
    ANNUAL = "年次"
    ON_DEMAND = "随時"       # manual trigger
    FILE_ARRIVAL = "ファイル到着"  # waits for a counterparty file
    RETENTION = "保存期間"   # 管理外データ削除 (KB900)


ALLOWED_TAGS: frozenset[str] = frozenset(t.value for t in Tag)
