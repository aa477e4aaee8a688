"""The job-step catalogue (ジョブ一覧) and the job nets (ジョブネット): the one statement of both.

A job id is mainframe style: two letters for the business area (FK 賦課, SN 収納, TN 滞納 ...)
and three digits. The Japanese name is what operators see (``FK010 住民税所得取込``). Each
``JobSpec`` states a step once: id, name, function, inputs and outputs, predecessors (``after``),
whether it writes the 収納台帳 (the ledger pool), its trigger rule and its file-arrival wait. Each
``JobNet`` states a DAG once: id, dag_id, name, description, schedule, entry check and steps.

The DAGs derive from it (``dags/_kokuho/jobnet.py``: task ids, display names, pools, trigger
rules, sensors and edges, from ``tasks``); a step runs with ``kokuho run <job-id>`` or from
Airflow, both through ``jobs.runner.run_job``.

Importing this module is cheap (the DAG processor does it at parse time): a step's function is
a lazy ``"module:function"`` reference, imported when the step first runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from jobs.common.jobspec import (
    CHECK,
    DATASET_WAIT,
    NONE_FAILED,
    STEP,
    TOTALS,
    WAIT,
    DatasetWait,
    EntryCheck,
    FileWait,
    JobNet,
    JobSpec,
    TaskNode,
)

__all__ = ["JOBS", "JOBNETS", "DatasetWait", "EntryCheck", "FileWait", "JobNet", "JobSpec", "TaskNode", "get", "jobnet",
           "register", "tasks", "intake_dataset_name", "edges", "diagram"]


def _intake(job_id: str, name_ja: str, *, inbox: str, layout: str, record_types: tuple[str, ...],
            pattern: str = "*", extra_outputs: tuple[str, ...] = (), after: tuple[str, ...] = (),
            inputs: tuple[str, ...] = (), options: Mapping[str, Any] | None = None,
            wait: FileWait | None = None, description: str = "") -> JobSpec:
    ds = {rt: intake_dataset_name(layout, rt) for rt in record_types}
    return JobSpec(
        job_id=job_id, name_ja=name_ja, func="jobs.intake:intake_step",  # the one generic intake step
        inbox=inbox, layout=layout, pattern=pattern,
        inputs=inputs, outputs=tuple(ds.values()) + extra_outputs, datasets=MappingProxyType(ds),
        after=after, options=MappingProxyType(dict(options or {})), wait=wait, description=description,
    )


def intake_dataset_name(layout: str, record_type: str) -> str:
    """Data records → ``<layout>``; other record types → ``<layout>_<record_type>``."""
    return layout if record_type == "data" else f"{layout}_{record_type}"


# --- file-arrival waits ------------------------------------------------------------------------

#: KB400: how long it waits for the day's counter / CVS file before that channel is skipped.
PAYMENT_FILE_WAIT_ENV = "KOKUHO_PAYMENT_FILE_WAIT_MINUTES"
PAYMENT_FILE_WAIT = timedelta(hours=3)

#: KB410: how long it waits for a 口座振替依頼書 file before SN010 is skipped (most days have none).
MANDATE_FILE_WAIT_ENV = "KOKUHO_MANDATE_FILE_WAIT_MINUTES"
MANDATE_FILE_WAIT = timedelta(minutes=15)

#: KB210: the bank's result file; a missing one fails after a day, visibly.
BANK_RESULT_FILE_WAIT = timedelta(hours=24)


# --- waits for another job net's output (issue 12; jobs/common/dataset_waits.py) ------------------

#: KB300 FK110: how long it waits for the fiscal year's 住民税 当初 intake (KB100 FK010) before it fails.
RESIDENT_TAX_WAIT_ENV = "KOKUHO_RESIDENT_TAX_WAIT_MINUTES"
RESIDENT_TAX_WAIT = timedelta(hours=3)
#: KB410 SN120: how long it waits for the day's 調定登録 (KB400 SN100) before it fails.
LEVY_REGISTRATION_WAIT_ENV = "KOKUHO_LEVY_REGISTRATION_WAIT_MINUTES"
LEVY_REGISTRATION_WAIT = timedelta(hours=2)
#: the dataset SN100 writes each run (the files it registered): what SN120 waits for
LEVY_REGISTRATION = "levy_registration"
#: KB310 FK210: how long it waits, on a 住民税 異動 due day, for that day's 住民税 intake (KB100 FK010).
RESIDENT_TAX_CHANGE_WAIT_ENV = "KOKUHO_RESIDENT_TAX_CHANGE_WAIT_MINUTES"
RESIDENT_TAX_CHANGE_WAIT = timedelta(hours=2)
#: KB400 SN100: how long it waits, on a run day of KB300/KB310/KB520, for that net's 調定 file of the
#: day; then it registers what is there (KKB179W) and the payments are posted all the same (a late 調定
#: file is registered by the next day's SN100, which takes every file not yet registered).
LEVY_FILE_WAIT_ENV = "KOKUHO_LEVY_FILE_WAIT_MINUTES"
LEVY_FILE_WAIT = timedelta(hours=2)
#: KB600 TN010, KB620 TN220 and KB530 TK290: how long each waits for the day's 収納消込 (KB400's last
#: step SN400) before it fails: TN010 must not dun, TN220 must not find a plan broken, TK290 must not hand
#: over a year short of the December pension, for want of a payment KB400 posts that morning.
COLLECTION_WAIT_ENV = "KOKUHO_COLLECTION_WAIT_MINUTES"
COLLECTION_WAIT = timedelta(hours=2)
_WAITS = "jobs.common.dataset_waits"

RESIDENT_TAX_INCOME_WAIT = DatasetWait(
    "wait_resident_tax_income", "住民税所得取込待ち", "resident_tax_income", f"{_WAITS}:resident_tax_initial",
    RESIDENT_TAX_WAIT, timeout_env=RESIDENT_TAX_WAIT_ENV, source="KB100 FK010")
LEVY_REGISTRATION_WAIT_SPEC = DatasetWait(
    "wait_levy_registration", "調定登録待ち", LEVY_REGISTRATION, f"{_WAITS}:same_business_date",
    LEVY_REGISTRATION_WAIT, timeout_env=LEVY_REGISTRATION_WAIT_ENV, source="KB400 SN100")
RESIDENT_TAX_CHANGE_WAIT_SPEC = DatasetWait(
    "wait_resident_tax_change", "住民税異動取込待ち", "resident_tax_income", f"{_WAITS}:resident_tax_change",
    RESIDENT_TAX_CHANGE_WAIT, timeout_env=RESIDENT_TAX_CHANGE_WAIT_ENV, source="KB100 FK010")
LEVY_FILE_WAIT_SPEC = DatasetWait(
    "wait_levy_files", "賦課調定ファイル待ち", "levy_file", f"{_WAITS}:assessment_levy_files",
    LEVY_FILE_WAIT, timeout_env=LEVY_FILE_WAIT_ENV, source="KB300 FK140 / KB310 FK220 / KB520 TK340", go_on=True)
COLLECTION_WAIT_SPEC = DatasetWait(
    "wait_daily_collection", "収納消込待ち", "daily_collection", f"{_WAITS}:same_business_date",
    COLLECTION_WAIT, timeout_env=COLLECTION_WAIT_ENV, source="KB400 SN400")


def _intake_jobs() -> list[JobSpec]:
    return [
        _intake(
            "FK020", "国保資格取込", inbox="shikaku", layout="nhi_qualification",
            record_types=("header", "data", "trailer"), extra_outputs=("person_key",),
            options={"secrets": "register", "person_field": "person_id"},
            description="資格システムの被保険者ファイルを取り込み、宛名番号と個人番号(HMAC)の対応 person_key を更新する",
        ),
        _intake(
            "FK010", "住民税所得取込", inbox="juminzei", layout="resident_tax_income",
            record_types=("header", "data", "trailer"), after=("FK020",), inputs=("person_key",),
            options={"secrets": "verify", "person_field": "person_id"},
            description="住民税システムの所得情報ファイルを取り込み、個人番号を person_key と照合する",
        ),
        _intake(
            "FK030", "年金特徴対象者取込", inbox="nenkin", layout="tokucho_z21", pattern="Z21*.dta",
            record_types=("lead_in", "header", "data", "trailer"), after=("FK020",),  # KB100: after 資格
            description="経由機関からの国保特別徴収対象者情報 (Z21, 通知内容 00) を取り込む",
        ),
        _intake(
            "SN010", "口座振替依頼書取込", inbox="koufuri", layout="direct_debit_mandate",
            record_types=("header", "data", "trailer"),
            wait=FileWait("wait_mandate_file", "口座振替依頼書ファイル到着待ち", MANDATE_FILE_WAIT, soft_fail=True,
                          timeout_env=MANDATE_FILE_WAIT_ENV),
            description="口座振替依頼書 (申込) データを取り込む",
        ),
        _intake(
            "SN110", "口座振替結果取込", inbox="bank", layout="zengin_91_result",
            record_types=("header", "data", "trailer", "end"),
            wait=FileWait("wait_bank_result", "振替結果ファイル到着待ち", BANK_RESULT_FILE_WAIT, soft_fail=False),
            description="金融機関からの口座振替結果ファイル (全銀 種別91) を取り込む",
        ),
        _intake(
            "SN200", "窓口収納データ取込", inbox="counter", layout="counter_payment",
            record_types=("header", "data", "trailer"), after=("SN100",),  # KB400: after the day's 調定登録
            wait=FileWait("wait_counter_file", "窓口収納ファイル到着待ち", PAYMENT_FILE_WAIT, soft_fail=True,
                          timeout_env=PAYMENT_FILE_WAIT_ENV),
            description="指定金融機関・窓口で納付書により納付された収納データを取り込む",
        ),
        _intake(
            "SN210", "コンビニ等収納データ取込", inbox="cvs", layout="cvs_payment",
            record_types=("header", "data", "trailer"), after=("SN100",),  # KB400: after the day's 調定登録
            wait=FileWait("wait_cvs_file", "コンビニ等収納ファイル到着待ち", PAYMENT_FILE_WAIT, soft_fail=True,
                          timeout_env=PAYMENT_FILE_WAIT_ENV),
            description="収納代行会社からのコンビニ・クレジットカード・スマホ決済の速報・確報データを取り込む",
        ),
    ]


def _assessment_jobs() -> list[JobSpec]:
    """賦課: 当初賦課 (FK110–FK140) and 異動賦課 (FK210–FK220); see jobs/assessment/steps.py."""
    m = "jobs.assessment.steps"
    return [
        JobSpec("FK110", "当初賦課", f"{m}:initial_assessment",
                inputs=("nhi_qualification", "resident_tax_income"), outputs=("assessment", "assessment_members"),
                after=("FK020", "FK010"), dataset_wait=RESIDENT_TAX_INCOME_WAIT,
                description="資格・所得から世帯ごとの国保税 (医療・支援・介護・子ども分) を計算し assessment を作る"),
        JobSpec("FK120", "特別徴収判定", f"{m}:withholding_judgment",
                inputs=("assessment", "assessment_members", "nhi_qualification", "tokucho_z21"),
                outputs=("withholding",), after=("FK110", "FK030"),
                description="年金からの特別徴収の対象世帯を判定し、仮徴収・本徴収・普通徴収の額を決める"),
        JobSpec("FK130", "期割・納期限", f"{m}:installment_split",
                inputs=("assessment", "withholding"), outputs=("installments",), after=("FK120",),
                description="年税額を期別に割り、納期限を付ける (普通徴収・特別徴収、区分別の内訳)"),
        JobSpec("FK140", "調定ファイル作成", f"{m}:initial_levy_file",
                inputs=("assessment", "installments", "withholding"), after=("FK130",),
                description="当初調定ファイル (layouts/levy_file) を var/outbox/ledger/ に作る"),
        JobSpec("FK210", "異動賦課", f"{m}:reassessment_step",
                inputs=("assessment", "assessment_members", "installments", "nhi_qualification",
                        "resident_tax_income"),
                outputs=("assessment", "assessment_members", "installments", "corrections", "change_notices"),
                after=("FK020", "FK010"), dataset_wait=RESIDENT_TAX_CHANGE_WAIT_SPEC,
                description="資格・住民税の異動があった世帯を再計算し、期別に更正する (変更通知書データ)"),
        JobSpec("FK220", "異動調定ファイル作成", f"{m}:correction_levy_file",
                inputs=("corrections", "change_notices", "installments", "withholding"), after=("FK210",),
                description="更正分の調定ファイル (layouts/levy_file) を var/outbox/ledger/ に作る"),
    ]


def _notice_jobs() -> list[JobSpec]:
    """通知書: FK150 (当初) and FK230 (異動); see jobs/assessment/notice_steps.py. Output paths and the
    PDF split are config (notice_output.*)."""
    m = "jobs.assessment.notice_steps"
    return [
        JobSpec("FK150", "納税通知書作成", f"{m}:tax_notices",
                inputs=("assessment", "installments", "withholding", "nhi_qualification"), after=("FK130",),
                description="納税通知書・納付書・特別徴収開始通知書の印刷データ (var/outbox/print/) と PDF "
                            "(var/reports/notices/<世代>/) を作る"),
        JobSpec("FK230", "変更通知書作成", f"{m}:change_notices",
                inputs=("change_notices", "corrections", "assessment", "installments", "nhi_qualification"),
                after=("FK210",),
                description="税額変更通知書・納付書の印刷データ (var/outbox/print/) と PDF "
                            "(var/reports/notices/<世代>/) を作る"),
    ]


def _collection_jobs(intake: Mapping[str, JobSpec]) -> list[JobSpec]:
    """収納: 調定登録 and 消込 per channel; see jobs/collection/steps.py. Every step here writes the
    収納台帳 (``writes_ledger``: the ledger pool)."""
    steps, debit, refund, report = ("jobs.collection.steps", "jobs.collection.debit_steps",
                                    "jobs.collection.refund_steps", "jobs.collection.report_steps")

    def source_of(spec: JobSpec) -> Mapping[str, str]:
        """The archived inbound file a step reads beside its dataset: the intake step's inbox, layout, id."""
        return MappingProxyType({"inbox": spec.inbox, "layout": spec.layout, "job_id": spec.job_id})

    def post(job_id: str, name: str, channel: str, source: JobSpec | str, after: tuple[str, ...], text: str) -> JobSpec:
        """A 消込 step of ``channel``: it posts the data dataset of the intake step ``source`` (its
        ``options["source"]``: that step's inbox, layout and job id), or a dataset by name."""
        options: dict[str, Any] = {"channel": channel}
        if isinstance(source, JobSpec):
            options["source"] = source_of(source)
            dataset = source.datasets["data"]
        else:
            dataset = source
        return JobSpec(job_id, name, f"{steps}:post_channel", inputs=(dataset,), outputs=(f"reconciliation_{channel}",),
                       after=after, options=MappingProxyType(options), description=text, writes_ledger=True)

    return [
        JobSpec("SN020", "口座振替登録", f"{debit}:register_mandates", inputs=("direct_debit_mandate",),
                after=("SN010",), writes_ledger=True, trigger_rule=NONE_FAILED,  # also on a day without a file
                description="口座振替依頼書 (新規・変更・停止) を収納台帳の口座振替情報に登録する"),
        JobSpec("SN120", "口座振替請求", f"{debit}:request_debits", outputs=("debit_requests",),
                after=("SN020", "SN100"), writes_ledger=True, dataset_wait=LEVY_REGISTRATION_WAIT_SPEC,
                description="振替日の所定営業日前に、金融機関ごとの口座振替請求ファイル (全銀 種別91) を "
                            "var/outbox/bank/ に作り、口座振替請求者リストを残す"),
        JobSpec("SN130", "口座振替結果確認", f"{debit}:debit_results", outputs=("debit_results",),
                after=("SN115",), inputs=("nhi_qualification",), writes_ledger=True,
                description="口座振替結果を請求に記録し、振替不能の口座振替不能通知書兼納付書 (PDF) を作る"),
        # after the channels: run when they succeeded or were skipped (no file), not when one failed
        JobSpec("SN300", "過誤納整理", f"{refund}:overpayments", outputs=("refund_decisions",),
                inputs=("nhi_qualification",), after=("SN115", "SN205", "SN215", "SN235", "SN410"),
                writes_ledger=True, trigger_rule=NONE_FAILED,
                description="過誤納を検出し、未納の期へ充当 (古い順)、残りを還付加算金とともに還付決議する。"
                            "還付充当通知書 (PDF) と還付の総合振込ファイルを作る"),
        JobSpec("SN410", "速報未確報チェック", f"{report}:lapse_provisionals", after=("SN205", "SN215", "SN235"),
                writes_ledger=True, trigger_rule=NONE_FAILED,
                options=MappingProxyType({"source": source_of(intake["SN210"])}),  # the 速報 came in by SN210
                description="確報が所定営業日を過ぎても届かないコンビニ速報を一覧にし、督促保留を解除する"),
        JobSpec("SN400", "収納日計", f"{report}:daily_report", outputs=("daily_collection",),
                after=("SN115", "SN205", "SN215", "SN235", "SN300", "SN410"), writes_ledger=True,
                trigger_rule=NONE_FAILED,
                description="その日の収納をチャネル・種別ごとに集計し、納付履歴と照合した収納日計表 (CSV・PDF) を作る"),
        JobSpec("SN100", "調定登録", f"{steps}:register_levy", after=("FK140",), writes_ledger=True,
                outputs=(LEVY_REGISTRATION,), dataset_wait=LEVY_FILE_WAIT_SPEC,
                description="賦課の調定ファイル (var/outbox/ledger/) を収納台帳の通知書・期別・調定履歴に登録し、"
                            "調定待ちの保留納付を消込する"),
        post("SN115", "口座振替結果消込", "debit", intake["SN110"], ("SN110", "SN100"),
             "口座振替結果 (振替済) を消込し、振替不能を記録する"),
        post("SN205", "窓口収納消込", "counter", intake["SN200"], ("SN200", "SN100"),
             "窓口・指定金融機関の収納データを通知書番号・期別で消込する"),
        post("SN215", "コンビニ等収納消込", "cvs", intake["SN210"], ("SN210", "SN100"),
             "コンビニ・クレジット・スマホ決済の速報 (督促保留)・確報 (消込)・速報取消を処理する"),
        post("SN235", "年金特徴収納消込", "pension", "pension_withholding_result", ("SN100",),
             "年金特別徴収の徴収結果 (pension_withholding_result) を消込する"),
    ]


def _retention_jobs() -> list[JobSpec]:
    return [
        JobSpec("KR900", "管理外データ削除", "jobs.ledger.retention:purge_step",
                writes_ledger=True,
                description="保存期間 (config/common/retention.yaml) を過ぎたデータセット・受信ファイル原本・印刷データ・"
                            "帳票と、完納・不納欠損の通知書の収納台帳の行を削除し、削除記録 (var/reports/retention/) と"
                            "アクセス記録を残す。事前に kokuho purge --dry-run で削除予定を確認する"),
    ]


#: KB100: how long it waits for the monthly 介護保険 被保険者台帳 before FK035 is skipped (most days have none).
KAIGO_FILE_WAIT_ENV = "KOKUHO_KAIGO_FILE_WAIT_MINUTES"
KAIGO_FILE_WAIT = timedelta(minutes=15)

#: KB500: how long it waits for a pension insurer's file (Z23/Z24/捕捉/異動) before TK110 is skipped.
NENKIN_FILE_WAIT_ENV = "KOKUHO_NENKIN_FILE_WAIT_MINUTES"
NENKIN_FILE_WAIT = timedelta(hours=2)

#: 年金保険者 → 市町村 files received by TK110 (通知内容コード → dataset); FORMATS.md §2.3
TOKUCHO_DATASETS: Mapping[str, str] = MappingProxyType({
    "capture": "tokucho_capture",                # 30 追加候補者 (捕捉)
    "request_result": "tokucho_request_result",  # 02 / 32 依頼処理結果 (Z23)
    "result": "tokucho_result",                  # 22 特別徴収結果 (Z24)
    "change": "tokucho_change",                  # 42 / 62 / 82 各種異動 (処理結果)
})


def _pension_intake_jobs() -> list[JobSpec]:
    """年金特徴: 介護保険台帳取込 (FK035) と年金保険者ファイルの受信 (TK1nn)."""
    ltc = {"header": "ltc_ledger_header", "data": "ltc_premium", "trailer": "ltc_ledger_trailer"}
    return [
        JobSpec(
            "FK035", "介護保険台帳取込", "jobs.intake:intake_step", inbox="kaigo", layout="ltc_ledger",
            pattern="*.dat", outputs=tuple(ltc.values()), datasets=MappingProxyType(ltc), after=("FK020",),
            inputs=("person_key",), options=MappingProxyType({"secrets": "verify", "person_field": "person_id"}),
            wait=FileWait("wait_kaigo_file", "介護保険台帳ファイル到着待ち", KAIGO_FILE_WAIT, soft_fail=True,
                          timeout_env=KAIGO_FILE_WAIT_ENV),
            description="介護保険システムの被保険者台帳 (毎月末) を取り込み、介護保険料 年額・特別徴収の有無と"
                        "年金を宛名番号ごとの ltc_premium にする (特別徴収判定 FK120 の2分の1判定に使う)",
        ),
        JobSpec(
            "TK110", "年金特徴ファイル受信", "jobs.pension.intake:receive_step", inbox="nenkin",
            layout="tokucho_500", pattern="Z2*.dta", outputs=tuple(TOKUCHO_DATASETS.values()),
            wait=FileWait("wait_nenkin_file", "年金特徴ファイル到着待ち", NENKIN_FILE_WAIT, soft_fail=True,
                          timeout_env=NENKIN_FILE_WAIT_ENV),
            description="経由機関からの年金特徴ファイル (追加候補者 30・依頼処理結果 02/32・特別徴収結果 22・"
                        "各種異動 42/62/82) を通知内容コードで振り分け、件数・金額・月を検査して取り込む",
        ),
    ]


def _pension_request_jobs() -> list[JobSpec]:
    """年金特徴: 特別徴収依頼・追加依頼・各種異動の送信 (TK2nn); see jobs/pension/request_steps.py. Each step
    sends only in the months of its own rule (run_calendar pension_request_*; other months RC 0, nothing
    sent) into var/outbox/nenkin/ with a .sha256 beside each file."""
    m = "jobs.pension.request_steps"
    return [
        JobSpec("TK210", "特別徴収依頼", f"{m}:request_withholding",
                inputs=("withholding", "installments", "tokucho_z21"), outputs=("pension_request_z22",),
                description="特別徴収判定 (FK120) の対象者の特別徴収依頼 (Z22, 通知内容 01: 仮徴収額・本徴収額) を"
                            "経由機関ごとに var/outbox/nenkin/ に作る (年1回、7月)"),
        JobSpec("TK220", "追加依頼", f"{m}:request_addition",
                inputs=("tokucho_capture", "assessment", "assessment_members", "nhi_qualification", "ltc_premium",
                        "pension_request_z22"),
                outputs=("pension_request_addition",), after=("TK210",), trigger_rule=NONE_FAILED,
                description="追加候補者 (捕捉, 通知内容 30) のうち特別徴収の対象となる者の追加依頼 (通知内容 31) を作る "
                            "(偶数月、捕捉ファイルごとに1回)"),
        JobSpec("TK230", "各種異動", f"{m}:request_changes",
                inputs=("pension_request_z22", "pension_request_addition", "nhi_qualification", "installments",
                        "assessment", "pension_request_stops", "pension_result_stops"),
                outputs=("pension_request_change",), after=("TK220",), trigger_rule=NONE_FAILED,
                description="送信済みの特別徴収対象者の資格喪失等 (Z2A 通知内容 41: 死亡・転出・特別事情・適用除外) と "
                            "仮徴収額変更 (61) を作る (毎月)"),
        # reads the ledger only; in the ledger pool all the same: the DuckDB file takes one process at a time
        JobSpec("TK290", "社会保険料控除引継", "jobs.pension.handover:deduction_handover",
                inputs=("pension_withholding_result",), outputs=("pension_deduction_handover",),
                writes_ledger=True, dataset_wait=COLLECTION_WAIT_SPEC,
                description="前年 (暦年) に年金から特別徴収した国保税を個人 (宛名番号) ごとに集計し、社会保険料控除のための"
                            "引継ファイルを市民税課へ var/outbox/shiminzei/ に作る (年1回、1月; 個人番号は載せない)"),
    ]


def _pension_apply_jobs() -> list[JobSpec]:
    """年金特徴: 依頼処理結果・特別徴収結果の反映 (TK3nn); see jobs/pension/apply.py. TK340/TK350 are
    FK220/FK230 again (the same functions, through apply.py's guards) on TK330's 更正."""
    m = "jobs.pension.apply"
    return [
        JobSpec("TK310", "依頼結果反映", f"{m}:request_results",
                inputs=("tokucho_request_result", "withholding"), outputs=("pension_request_stops",),
                description="特別徴収依頼処理結果 (Z23, 通知内容 02/32) を照合し、受理されなかった世帯を"
                            "特別徴収中止 (残りの期は普通徴収) の対象にする"),
        JobSpec("TK315", "追加依頼受理反映", f"{m}:addition_results",
                inputs=("tokucho_request_result", "pension_request_addition"), outputs=("pension_request_starts",),
                after=("TK310",), trigger_rule=NONE_FAILED,
                description="追加依頼処理結果 (Z23, 通知内容 32) を送信済みの追加依頼 (31) と照合し、受理された世帯を"
                            "開始月 (31 の各種年月日) からの特別徴収開始の対象にする (TK330 が期割を変更)"),
        JobSpec("TK320", "特別徴収結果反映", f"{m}:withholding_results",
                inputs=("tokucho_result", "withholding", "installments", "pension_request_starts"),
                outputs=("pension_withholding_result", "pension_result_stops"), after=("TK315",),
                trigger_rule=NONE_FAILED,
                description="特別徴収結果 (Z24, 通知内容 22) をトレイラと照合し、徴収額を年金特徴の消込データ "
                            "pension_withholding_result (SN235 が消込) に、失権・差止・年金額不足・他制度中止を"
                            "特別徴収中止の対象にする。中止後に徴収された額は返納 (SN300 過誤納整理) に回る"),
        JobSpec("TK325", "各種異動結果反映", f"{m}:change_results",
                inputs=("tokucho_change", "pension_request_change", "installments"),
                outputs=("pension_change_stops", "pension_change_results"), after=("TK320",),
                trigger_rule=NONE_FAILED,
                description="各種異動処理結果 (Z2A, 通知内容 42/62) を送信済みの各種異動 (41/61) と照合し、受理された"
                            "資格喪失等の残りの特別徴収を中止の対象に、受理された仮徴収額変更を期別税額と照合する。"
                            "不受理はエラーリスト (RC 4)"),
        JobSpec("TK330", "特徴中止期割変更", f"{m}:stop_withholding",
                inputs=("pension_request_stops", "pension_result_stops", "pension_change_stops",
                        "pension_request_starts", "assessment", "installments"),
                outputs=("assessment", "installments", "corrections", "change_notices"), after=("TK325",),
                description="特別徴収を中止する世帯の残りの特別徴収の期を普通徴収の開いている期に移し (新しい納期限)、"
                            "追加依頼が受理された世帯は開始月からの年金月を特別徴収にして開始月以降の普通徴収を減らし、"
                            "更正と税額変更通知書のデータを作る。同じ業務日に FK210 異動賦課が動いていれば中止する"),
        JobSpec("TK340", "特徴中止調定ファイル作成", f"{m}:correction_levy_file",
                inputs=("corrections", "change_notices", "installments", "withholding"), after=("TK330",),
                description="TK330 の更正分の調定ファイル (FK220 と同じ処理) を var/outbox/ledger/ に作る "
                            "(KB400 の SN100 が登録)"),
        JobSpec("TK350", "特徴中止変更通知書作成", f"{m}:change_notices",
                inputs=("change_notices", "corrections", "assessment", "installments", "nhi_qualification"),
                after=("TK330",),
                description="TK330 の税額変更通知書・納付書 (FK230 と同じ処理) の印刷データと PDF を作る"),
    ]


def _dunning_jobs() -> list[JobSpec]:
    """滞納: 督促・延滞金 (TN0nn); see jobs/arrears/dunning_steps.py. Every step here reads or
    writes the 収納台帳 (the ledger pool)."""
    m = "jobs.arrears.dunning_steps"
    return [
        JobSpec("TN010", "督促対象抽出", f"{m}:select_targets", outputs=("dunning_candidates",), writes_ledger=True,
                dataset_wait=COLLECTION_WAIT_SPEC,
                description="督促日 (納期限後 dunning.days_after_due 日) が来た納期限の未納の普通徴収期別から、"
                            "コンビニ速報・口座振替結果待ち・分割納付・執行停止を保留として除き、督促対象を抽出する"),
        JobSpec("TN020", "督促状作成", f"{m}:issue_notices", inputs=("dunning_candidates", "nhi_qualification"),
                after=("TN010",), writes_ledger=True,
                description="督促対象に督促状を発行し (収納台帳に督促状発行日、二重発行なし)、指定期限までの延滞金と"
                            "督促手数料を含む督促状 兼 納付書 (PDF) と印刷データ (var/outbox/print/) を作る"),
        JobSpec("TN030", "延滞金調定", f"{m}:book_late_fees", after=("TN020",), writes_ledger=True,
                description="督促済で本税が完納となった期別の延滞金 (完納日まで) を調定し、延滞金の収入を記録する"),
    ]


def _arrears_records_jobs() -> list[JobSpec]:
    """滞納: 催告・分割納付・返戻公示・執行停止・滞納者把握 (TN1nn–TN4nn)."""
    rs = "jobs.arrears.record_steps"
    rem = "jobs.arrears.reminder_steps"
    return [
        JobSpec("TN110", "滞納者把握", f"{rem}:grasp_arrears", inputs=("nhi_qualification",),
                outputs=("arrears_taxpayers",), writes_ledger=True,
                description="督促済で未納の期別 (滞納) を納税者ごとに現年度・過年度で集計し、滞納者一覧と滞納額・経過日数別の"
                            "管理帳票 (CSV・PDF)、分割納付の履行状況を var/reports/arrears/ に作る"),
        JobSpec("TN120", "催告書作成", f"{rem}:issue_reminders", inputs=("nhi_qualification",), after=("TN110",),
                writes_ledger=True,
                description="督促済で未納の現年度の期別 (分割納付・執行停止を除く) に現年催告書を、一斉催告日には過年度分を"
                            "含む全滞納者に一斉催告書を作り (催告履歴に記録、同じ日と種別で二重なし)、印刷データと PDF "
                            "(本税の納付書・バーコード、指定期限までの延滞金を記載) を作る"),
        JobSpec("TN130", "電話催告対象者リスト", f"{rem}:phone_list", inputs=("nhi_qualification",),
                after=("TN120", "TN140"),
                writes_ledger=True,
                description="滞納額と最終催告からの日数 (config arrears_records.phone) でコールセンター向けの電話催告対象者"
                            "リスト (CSV、個人番号なし) を作る (TN140 が取り込んだ約束期日の前の人は除く)"),
        JobSpec("TN140", "電話催告結果取込", f"{rem}:phone_results", after=("TN110",), writes_ledger=True,
                description="コールセンターの電話催告結果 (var/inbox/arrears/denwa*.csv) を催告履歴 (電話催告・約束期日) に"
                            "登録する。不備の行はエラーリスト、再送のファイルは取り込まない"),
        JobSpec("TN150", "財産調査照会", "jobs.arrears.inquiry_steps:property_inquiry", inputs=("nhi_qualification",),
                after=("TN130",), writes_ledger=True,
                description="滞納額と最終催告書からの日数 (config arrears_records.property_inquiry) で選んだ滞納者 "
                            "(分割納付・執行停止・約束期日前を除く) について、照会先金融機関に預貯金等の照会書 (PDF、"
                            "国税徴収法141条・地方税法728条7項、個人番号なし) と照会一覧 (CSV) を作り、催告履歴 "
                            "(種別 inquiry) に記録する (同じ滞納者・金融機関には repeat_after_days 日間再照会しない)"),
        # --- 分割納付・返戻公示・執行停止 (KB620; jobs/arrears/record_steps.py)
        JobSpec("TN210", "分割納付計画登録", f"{rs}:register_plans", inputs=("nhi_qualification",),
                writes_ledger=True, dataset_wait=COLLECTION_WAIT_SPEC,
                description="分割納付計画ファイル (var/inbox/arrears/bunkatsu*.csv) を検査して分割納付計画・対象期別・"
                            "各回を登録し (督促・催告を保留)、各回の分割納付 納付書 (印刷データ・PDF、"
                            "バーコードは最も古い未納の期別) を作る"),
        JobSpec("TN220", "履行状況確認", f"{rs}:check_plans", after=("TN210",), writes_ledger=True,
                description="履行中の分割納付計画の各回の納付を確認し、納付期日から plan.broken_after_days 日を過ぎても"
                            "不足する計画を不履行 (保留解除)、対象期別が完納の計画を完了にして、履行状況一覧 (CSV・PDF) を作る"),
        JobSpec("TN310", "返戻登録", f"{rs}:register_returns", writes_ledger=True,
                description="返戻ファイル (var/inbox/arrears/henrei*.csv: 納税通知書・督促状の返戻) を検査して"
                            "返戻 (調査中) を登録する"),
        JobSpec("TN320", "住所調査結果・公示送達", f"{rs}:record_searches", inputs=("nhi_qualification",),
                after=("TN310",), writes_ledger=True,
                description="住所調査結果 (var/inbox/arrears/chousa*.csv) を返戻に記録し、判明は再送付一覧、不明は"
                            "公示送達 (掲示日・送達日 = 掲示日 + 7日、地方税法20条の2) の対象者一覧 (CSV・PDF) を作る"),
        JobSpec("TN410", "執行停止登録", f"{rs}:register_suspensions", writes_ledger=True,
                dataset_wait=COLLECTION_WAIT_SPEC,
                description="執行停止ファイル (var/inbox/arrears/teishi*.csv) を検査して滞納処分の執行停止 (地方税法15条の7、"
                            "即時消滅・取消を含む) を登録し、納付義務の消滅日を付けた執行停止一覧 (CSV・PDF) を作る"),
    ]


def _closing_jobs() -> list[JobSpec]:
    """滞納: 月次締め・出納閉鎖/滞納繰越・不納欠損・決算帳票 (TN5nn, TN6nn)."""
    closing = "jobs.arrears.closing"
    year = "jobs.arrears.year_close"
    return [
        JobSpec("TN510", "月次締め", f"{closing}:close_month", outputs=("closing_month_books",),
                writes_ledger=True,
                description="前月の調定・収入・還付・充当・不納欠損・収入未済を年度区分 (現年度/滞納繰越分) と"
                            "区分 (医療・支援・介護・子ども) ごとに集計し、収支保全 (Σ調定−Σ収入+Σ還付−Σ不納欠損="
                            "Σ収入未済) を円単位で確認して、その月を締める (締め後の計上は拒否または翌月計上)"),
        JobSpec("TN520", "決算帳票", f"{closing}:month_books",
                outputs=("closing_books",), after=("TN510",),
                description="月次・年度累計の決算帳票 (調定額・収入済額・還付未済額・不納欠損額・収入未済額・収納率) を"
                            "CSV と PDF (収納率の前年比較・滞納繰越の年度別残高のグラフ付き) で var/reports/closing/ に作る"),
        # TN530 is TN630 again (the same function) after each month closing: 滞納状況 "都度" (issue 11)
        JobSpec("TN530", "月次滞納状況引継", f"{year}:handover", outputs=("arrears_handover",), after=("TN520",),
                writes_ledger=True,
                description="月次締めの後に TN630 と同じ処理で世帯ごとの滞納 (期数・金額・最古納期限・1年以上滞納) を"
                            "国保年金課 (給付) に引き継ぐ CSV (個人番号なし) を var/outbox/kyufu/ に作る"),
        JobSpec("TN610", "出納閉鎖・滞納繰越", f"{year}:carry_over", outputs=("carry_over_schedule",),
                after=("TN620",), writes_ledger=True,
                description="出納閉鎖日 (翌年度5月31日) の前年度以前の期別の収入未済を翌年度の滞納繰越分 調定とし "
                            "(期別の繰越年度・繰越調定額)、台帳の集計と円単位で照合して滞納繰越 調書 (CSV・PDF) を作る"),
        JobSpec("TN620", "不納欠損", f"{year}:write_off", outputs=("write_off_schedule",), writes_ledger=True,
                description="徴収権が時効 (法定納期限の翌日から5年、督促・納付・納付誓約で更新) で消滅した期別と、"
                            "執行停止が3年継続・即時消滅の期別を不納欠損とし (不納欠損情報・事由コード)、"
                            "不納欠損 調書 (CSV・PDF) を作る"),
        JobSpec("TN630", "滞納状況引継", f"{year}:handover", outputs=("arrears_handover",), after=("TN610",),
                writes_ledger=True,
                description="世帯ごとの滞納 (期数・金額・最古納期限・1年以上滞納) を国保年金課 (給付) に引き継ぐ "
                            "CSV (個人番号なし) を var/outbox/kyufu/ に作る"),
    ]


def _loops_jobs() -> list[JobSpec]:
    """収納→異動賦課 (FK210 の納付) と口座振替世帯の通知 (no new job net)."""
    return []


def _build() -> dict[str, JobSpec]:
    intake = _intake_jobs()
    specs = (intake + _assessment_jobs() + _notice_jobs() + _collection_jobs({s.job_id: s for s in intake})
             + _retention_jobs() + _pension_intake_jobs() + _pension_request_jobs()
             + _pension_apply_jobs() + _dunning_jobs() + _arrears_records_jobs() + _closing_jobs() + _loops_jobs())
    return {s.job_id: s for s in specs}


JOBS: dict[str, JobSpec] = _build()


# --- the job nets (one DAG each) ---------------------------------------------------------------

#: Weekday mornings in jobs.common.tz.TIMEZONE. Holidays and 年末年始 are skipped by the entry
#: check (jobs.common.bizcal), not by the cron: the calendar is data in config/.
BUSINESS_MORNING_CRON = "30 6 * * 1-5"

#: The assessment job nets (KB300 当初賦課, KB310 異動賦課): weekday mornings an hour after the
#: intake (KB100), whose datasets they read. Their entry check goes on only on a run day of the
#: configured 業務日程 (jobs.common.runcalendar; config/, not the cron).
ASSESSMENT_MORNING_CRON = "30 7 * * 1-5"

#: KB400 収納消込: weekday mornings after KB100 (06:30) and after the assessment job nets (07:30),
#: so a 調定 file written that morning is registered (SN100) the same day. Its entry check is the
#: business-day check; the channels' files are then awaited up to PAYMENT_FILE_WAIT.
COLLECTION_MORNING_CRON = "30 8 * * 1-5"

#: KB410 口座振替請求: weekday mornings after KB400 has registered the day's 調定 (SN100), so the
#: request files hold every installment of the 振替日. SN120 decides which 振替日 are due today.
DIRECT_DEBIT_MORNING_CRON = "0 9 * * 1-5"

_BASE_NETS: tuple[JobNet, ...] = (
    JobNet("KB100", "kokuho_intake", "取込ジョブネット",
           "資格・住民税所得・年金特徴対象者の取込 (開庁日の朝)",
           BUSINESS_MORNING_CRON, EntryCheck(), ("FK020", "FK010", "FK030", "FK035")),
    JobNet("KB210", "kokuho_bank_result", "口座振替結果ジョブネット",
           "金融機関からの口座振替結果ファイルの到着を待って取り込み、消込して振替不能通知書を作る (随時起動)",
           None, None, ("SN110", "SN115", "SN130")),
    JobNet("KB300", "kokuho_initial_assessment", "当初賦課ジョブネット",
           "当初賦課・特別徴収判定・期割・調定ファイル・納税通知書 (年度の当初賦課日の朝)",
           ASSESSMENT_MORNING_CRON, EntryCheck("当初賦課日判定", rule="initial_assessment"),
           ("FK110", "FK120", "FK130", "FK140", "FK150")),
    JobNet("KB310", "kokuho_reassessment", "異動賦課ジョブネット",
           "異動賦課・異動調定ファイル・税額変更通知書 (毎月の異動賦課日の朝)",
           ASSESSMENT_MORNING_CRON, EntryCheck("異動賦課日判定", rule="reassessment"),
           ("FK210", "FK220", "FK230")),
    JobNet("KB400", "kokuho_collection", "収納消込ジョブネット",
           "調定登録・窓口/コンビニ等/年金特徴の収納消込・過誤納整理・収納日計 (開庁日の朝)",
           COLLECTION_MORNING_CRON, EntryCheck(),
           ("SN100", "SN200", "SN205", "SN210", "SN215", "SN235", "SN410", "SN300", "SN400")),
    JobNet("KB410", "kokuho_direct_debit", "口座振替請求ジョブネット",
           "口座振替依頼書の取込・登録と、金融機関への口座振替請求ファイルの作成 (開庁日の朝)",
           DIRECT_DEBIT_MORNING_CRON, EntryCheck(), ("SN010", "SN020", "SN120")),
    JobNet("KB900", "kokuho_retention", "管理外データ削除ジョブネット",
           "保存期間を過ぎたデータの削除 (管理 (admin) が kokuho purge --dry-run の一覧を確認してから随時起動)",
           None, None, ("KR900",)),
)

#: 年金特徴 受信 (KB500): on the run days of config run_calendar pension_intake (even months for
#: 捕捉・依頼処理結果・異動, odd months for 特別徴収結果); the insurers' files are awaited up to NENKIN_FILE_WAIT.
PENSION_INTAKE_CRON = "0 7 * * 1-5"

_PENSION_INTAKE_NETS: tuple[JobNet, ...] = (
    JobNet("KB500", "kokuho_pension_intake", "年金特徴受信ジョブネット",
           "経由機関 (国保連合会) からの年金特徴ファイル (捕捉 30・依頼処理結果 02/32・特別徴収結果 22・各種異動) の受信・検査・取込",
           PENSION_INTAKE_CRON, EntryCheck("年金特徴受信日判定", rule="pension_intake"), ("TK110",)),
)

#: 年金特徴 依頼送信 (KB510): on the run days of config run_calendar pension_send (the 20th of every month;
#: a closed day: the business day before), at 08:00 like KB520 (PENSION_APPLY_CRON): after KB500 (07:00)
#: has received the month's 捕捉 (30) files on its days (5th, 12th, 20th), which TK220 answers. In an odd
#: month whose 20th is a business day KB520 runs the same morning; what it changes (TK330: the 特別徴収 the
#: insurers' answers stopped) is no 各種異動 to send — TK230 leaves those pensions out, whether it reads the
#: installments before or after TK330 (TK310/TK320 write the stops before TK330 writes the installments).
#: Each step decides by its own rule whether this month is one of its months (TK210 July, TK220 even
#: months, TK230 every month); other months it sends nothing (RC 0).
PENSION_REQUEST_CRON = "0 8 * * 1-5"

#: 社会保険料控除引継 (KB530): once a year on config run_calendar pension_deduction_handover (January 20th, a
#: closed day: the next business day, as KB520's January run), at 13:00: after KB520 (08:00) has turned the
#: December Z24 into pension_withholding_result and KB400 (08:30; its file waits end by 11:30) has posted it
#: (SN235), so the December pension of the year handed over is in the ledger. Not in KB510 (08:00), which
#: would run before that posting.
PENSION_HANDOVER_CRON = "0 13 * * 1-5"

_PENSION_REQUEST_NETS: tuple[JobNet, ...] = (
    JobNet("KB510", "kokuho_pension_request", "年金特徴依頼ジョブネット",
           "経由機関 (国保連合会) への特別徴収依頼 (Z22 01)・追加依頼 (31)・各種異動 (Z2A 41/61) の作成 "
           "(var/outbox/nenkin/、毎月20日)",
           PENSION_REQUEST_CRON, EntryCheck("年金特徴依頼送信日判定", rule="pension_send"),
           ("TK210", "TK220", "TK230")),
    JobNet("KB530", "kokuho_pension_handover", "社会保険料控除引継ジョブネット",
           "前年 (暦年) に年金から特別徴収した国保税の個人別の額を、社会保険料控除のために市民税課へ引き継ぐ "
           "(var/outbox/shiminzei/、年1回 1月)",
           PENSION_HANDOVER_CRON, EntryCheck("社会保険料控除引継日判定", rule="pension_deduction_handover"), ("TK290",)),
)

#: 年金特徴 結果反映 (KB520): on the run days of config run_calendar pension_apply (the 20th of
#: September and of each odd month), at 08:00: after KB500 has received the insurers' files on
#: its own (earlier) days and before KB400 (08:30), whose SN100 registers TK340's 調定 file and
#: whose SN235 posts TK320's pension_withholding_result the same morning (one posting path).
PENSION_APPLY_CRON = "0 8 * * 1-5"

_PENSION_APPLY_NETS: tuple[JobNet, ...] = (
    JobNet("KB520", "kokuho_pension_apply", "年金特徴結果反映ジョブネット",
           "依頼処理結果 (Z23) の不受理と特別徴収結果 (Z24) の失権・差止・年金額不足を普通徴収に切り替え "
           "(期割変更・調定・税額変更通知書)、徴収額を年金特徴の消込データにする (消込は KB400 の SN235)",
           PENSION_APPLY_CRON, EntryCheck("年金特徴結果反映日判定", rule="pension_apply"),
           ("TK310", "TK315", "TK320", "TK325", "TK330", "TK340", "TK350")),
)

#: 督促 (KB600)
_DUNNING_NETS: tuple[JobNet, ...] = (
    # weekday noon: after KB400 has posted the morning's payment files (its waits end by 11:30)
    JobNet("KB600", "kokuho_dunning", "督促ジョブネット",
           "督促日が来た納期限の督促対象抽出・督促状作成 (印刷データ・PDF)・延滞金調定 (開庁日の昼)",
           "0 12 * * 1-5", EntryCheck(), ("TN010", "TN020", "TN030")),
)

#: 催告 (KB610): weekday mornings at 07:00, before KB400 (08:30) and KB600 (12:00) of the day, so it
#: sees the 督促状 of KB600's earlier days and the payments KB400 posted up to the day before; its
#: entry check goes on only on the run days of config run_calendar ``reminder`` (the 一斉催告 days
#: of ``bulk_reminder`` among them).
REMINDER_MORNING_CRON = "0 7 * * 1-5"

_REMINDER_NETS: tuple[JobNet, ...] = (
    JobNet("KB610", "kokuho_reminder", "催告ジョブネット",
           "滞納者把握 (管理帳票)・現年催告書または一斉催告書 (印刷データ・PDF)・電話催告対象者リスト・電話催告結果取込・"
           "財産調査照会 (催告日の朝)",
           REMINDER_MORNING_CRON, EntryCheck("催告日判定", rule="reminder"), ("TN110", "TN120", "TN140", "TN130", "TN150")),
)

#: 分割納付・返戻公示・執行停止 (KB620): weekday late mornings, after KB400 has posted the morning's
#: payment files (TN220 sees them) and before KB600 (12:00), whose TN010 reads the plans' and the
#: suspensions' holds (sql/arrears/held_installments.sql).
_RECORDS_NETS: tuple[JobNet, ...] = (
    JobNet("KB620", "kokuho_arrears_records", "滞納記録ジョブネット",
           "分割納付計画の登録・納付書と履行状況確認、返戻・住所調査結果・公示送達、執行停止の登録 (開庁日の昼前)",
           "45 11 * * 1-5", EntryCheck(), ("TN210", "TN220", "TN310", "TN320", "TN410")),
)

#: 月次締め・年次 (KB700, KB710)
_CLOSING_NETS: tuple[JobNet, ...] = (
    JobNet("KB700", "kokuho_month_close", "月次締めジョブネット",
           "前月の月次締め (収支保全の確認・締め)・決算帳票・滞納状況引継 (毎月の第1開庁日の朝)",
           BUSINESS_MORNING_CRON, EntryCheck("月次締め日判定", rule="month_close"), ("TN510", "TN520", "TN530")),
    JobNet("KB710", "kokuho_year_close", "年次ジョブネット",
           "出納閉鎖日 (5月31日) の不納欠損・滞納繰越 (調書)・滞納状況引継 (出納閉鎖日の朝)",
           BUSINESS_MORNING_CRON, EntryCheck("出納閉鎖日判定", rule="year_close"), ("TN620", "TN610", "TN630")),
)

JOBNETS: dict[str, JobNet] = {n.jobnet_id: n for n in (
    _BASE_NETS + _PENSION_INTAKE_NETS + _PENSION_REQUEST_NETS + _PENSION_APPLY_NETS
    + _DUNNING_NETS + _REMINDER_NETS + _RECORDS_NETS + _CLOSING_NETS)}


# --- lookups -----------------------------------------------------------------------------------


def get(job_id: str) -> JobSpec:
    key = job_id.strip().upper()
    if key in JOBS:
        return JOBS[key]
    near = difflib.get_close_matches(key, JOBS, n=3)
    hint = f" (候補: {', '.join(near)})" if near else ""
    raise KeyError(f"ジョブIDがありません: {job_id}{hint}")


def jobnet(key: str) -> JobNet:
    """A job net by its id (``KB400``) or its dag_id (``kokuho_collection``)."""
    for net in JOBNETS.values():
        if key.strip().upper() == net.jobnet_id or key.strip() == net.dag_id:
            return net
    raise KeyError(f"ジョブネットがありません: {key} (候補: {', '.join(JOBNETS)})")


def register(spec: JobSpec, *, replace: bool = False) -> JobSpec:
    """Add a step (tests, or a plug-in area). Refuses to overwrite unless ``replace``."""
    if spec.job_id in JOBS and not replace:
        raise ValueError(f"job id {spec.job_id} is already registered")
    JOBS[spec.job_id] = spec
    return spec


# --- the graph of a job net --------------------------------------------------------------------

CHECK_BUSINESS_DAY = "check_business_day"
CHECK_RUN_DAY = "check_run_day"
CONTROL_TOTALS = "control_totals"


def edges(net: JobNet) -> dict[str, tuple[str, ...]]:
    """job id → its direct predecessors within ``net``, in the net's step order.

    The predecessors are the step's ``after`` within the job net, less those implied by another
    one (the transitive reduction: SN205 is after SN200 and SN100, but SN200 is after SN100, so
    the only edge into SN205 is from SN200). Steps of other job nets are run order, not edges.
    """
    order = {job_id: i for i, job_id in enumerate(net.steps)}
    direct: dict[str, list[str]] = {}
    for job_id in net.steps:
        after = [p for p in get(job_id).after if p in order]
        for p in after:
            if order[p] >= order[job_id]:
                raise ValueError(f"{net.jobnet_id}: {job_id} is after {p}, which comes later in the job net")
        direct[job_id] = sorted(set(after), key=order.__getitem__)

    ancestors: dict[str, set[str]] = {}
    for job_id in net.steps:  # in order: predecessors come first
        ancestors[job_id] = set(direct[job_id]).union(*(ancestors[p] for p in direct[job_id]))
    return {job_id: tuple(p for p in preds if not any(p in ancestors[q] for q in preds if q != p))
            for job_id, preds in direct.items()}


def tasks(net: JobNet) -> list[TaskNode]:
    """The tasks of ``net``'s DAG, in creation order, each with its upstream task ids: the entry
    check (``KB400-CAL``), per step its wait for another job net's output (``KB600-WAIT``; one task
    for the steps of the net that share the same wait after the same tasks: KB620's TN210 and TN410),
    its file wait (``KB400-WAIT``) then the step, and the control totals (``KB400-END 統制合計表``)
    after every step nothing else in the net follows."""
    nodes: list[TaskNode] = []
    first: tuple[str, ...] = ()
    if net.entry is not None:
        check = CHECK_RUN_DAY if net.entry.rule else CHECK_BUSINESS_DAY
        nodes.append(TaskNode(check, f"{net.jobnet_id}-CAL {net.entry.name_ja}", CHECK, ()))
        first = (check,)
    preds = edges(net)
    for job_id in net.steps:
        spec = get(job_id)
        upstream = tuple(get(p).task_id for p in preds[job_id]) or first
        if spec.dataset_wait is not None:
            wait_id = spec.dataset_wait.task_id
            shared = next((n for n in nodes if n.task_id == wait_id), None)
            if shared is None:
                nodes.append(TaskNode(wait_id, f"{net.jobnet_id}-WAIT {spec.dataset_wait.name_ja}",
                                      DATASET_WAIT, upstream, job_id))
            elif shared.kind != DATASET_WAIT or shared.upstream != upstream \
                    or get(shared.job_id).dataset_wait != spec.dataset_wait:
                # one wait before several steps (KB620: TN210 and TN410) only where it is the same wait
                raise ValueError(f"{net.jobnet_id}: {job_id}'s wait {wait_id} differs from {shared.job_id}'s")
            upstream = (wait_id,)
        if spec.wait is not None:
            nodes.append(TaskNode(spec.wait.task_id, f"{net.jobnet_id}-WAIT {spec.wait.name_ja}", WAIT, upstream,
                                  job_id))
            upstream = (spec.wait.task_id,)
        nodes.append(TaskNode(spec.task_id, spec.title, STEP, upstream, job_id))
    followed = {p for ps in preds.values() for p in ps}
    last = tuple(get(j).task_id for j in net.steps if j not in followed)
    nodes.append(TaskNode(CONTROL_TOTALS, f"{net.jobnet_id}-END 統制合計表", TOTALS, last))
    return nodes


def diagram(net: JobNet) -> str:
    """The job net's graph as text, one task a line with the tasks it waits for (◀)."""
    nodes = tasks(net)
    # a step is named by its job id, another task (KB400-WAIT …) by its whole name
    names = {n.task_id: n.job_id if n.kind == STEP else n.display_name for n in nodes}
    width = max(_width(n.display_name) for n in nodes) + 2
    lines = []
    for n in nodes:
        pad = " " * (width - _width(n.display_name))
        after = "  ◀ " + ", ".join(names[u] for u in n.upstream) if n.upstream else ""
        lines.append(f"{n.display_name}{pad}{after}".rstrip())
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display columns: East Asian wide characters count 2."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
