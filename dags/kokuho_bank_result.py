"""KB210 口座振替結果ジョブネット: the bank's 口座振替 result file (全銀 種別91 結果).

    KB210-WAIT 振替結果ファイル到着待ち ─▶ SN110 口座振替結果取込

The operator triggers this job net after each 振替日 (or any time: if the file is already in
var/inbox/bank/ the wait ends at once). The wait is a deferrable FileSensor: it holds no
worker slot while it waits (the triggerer polls), and it gives up after 24 hours with the task
failed, so a missing bank file is visible in the UI.

The inbox folder comes from the Airflow connection ``kokuho_inbox`` (conn type ``fs``, extra
``{"path": "<var>/inbox"}``), set by the Makefile as the environment variable
AIRFLOW_CONN_KOKUHO_INBOX; production points it at the real drop folder.
"""

from __future__ import annotations

from datetime import timedelta

from _kokuho.defaults import jobnet_args
from _kokuho.steps import job_task
from _kokuho.tags import Tag
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

#: Where SN110 finds its input, relative to the kokuho_inbox connection's path.
BANK_RESULT_GLOB = "bank/*"

with DAG(
    dag_id="kokuho_bank_result",
    dag_display_name="KB210 口座振替結果ジョブネット",
    description="金融機関からの口座振替結果ファイルの到着を待って取り込む (随時起動)",
    doc_md=__doc__,
    **jobnet_args(None),
    tags=[Tag.KOKUHO, Tag.COLLECTION, Tag.ON_DEMAND, Tag.FILE_ARRIVAL],
) as dag:
    wait = FileSensor(
        task_id="wait_bank_result",
        task_display_name="KB210-WAIT 振替結果ファイル到着待ち",
        fs_conn_id="kokuho_inbox",
        filepath=BANK_RESULT_GLOB,
        deferrable=True,
        poke_interval=60,
        timeout=timedelta(hours=24).total_seconds(),
        execution_timeout=timedelta(hours=25),  # the default 4 h must not cut the 24 h wait short
        retries=0,
    )
    sn110 = job_task("SN110", "口座振替結果取込")

    wait >> sn110
