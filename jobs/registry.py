"""The job-step catalogue (ジョブ一覧): job id → JobSpec.

A job id is mainframe style: two letters for the business area (FK 賦課, SN 収納, TN 滞納 ...)
and three digits. The Japanese name is what operators see (``FK010 住民税所得取込``); the DAGs
use the same id and name. Add a step here and it is runnable with ``kokuho run <job-id>`` and
from Airflow through ``jobs.common.airflow_task.execute_job``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    name_ja: str
    func: Callable[..., Any]  # func(ctx: StepContext) -> int | None
    inbox: str | None = None  # source folder under var/inbox/
    layout: str | None = None  # layouts/<id>.yaml
    pattern: str = "*"  # file names picked up from the inbox (case-insensitive glob)
    inputs: tuple[str, ...] = ()  # datasets read
    outputs: tuple[str, ...] = ()  # datasets written (the runtime refuses undeclared ones)
    datasets: Mapping[str, str] = field(default_factory=dict)  # intake: record type → dataset
    after: tuple[str, ...] = ()  # job ids that must have run first (documentation; the DAG wires it)
    options: Mapping[str, Any] = field(default_factory=dict)  # step-specific settings
    description: str = ""

    @property
    def title(self) -> str:
        return f"{self.job_id} {self.name_ja}"


def _intake(job_id: str, name_ja: str, *, inbox: str, layout: str, record_types: tuple[str, ...],
            pattern: str = "*", extra_outputs: tuple[str, ...] = (), after: tuple[str, ...] = (),
            inputs: tuple[str, ...] = (), options: Mapping[str, Any] | None = None,
            description: str = "") -> JobSpec:
    from jobs.intake import intake_step  # the one generic intake step

    ds = {rt: intake_dataset_name(layout, rt) for rt in record_types}
    return JobSpec(
        job_id=job_id, name_ja=name_ja, func=intake_step, inbox=inbox, layout=layout, pattern=pattern,
        inputs=inputs, outputs=tuple(ds.values()) + extra_outputs, datasets=MappingProxyType(ds),
        after=after, options=MappingProxyType(dict(options or {})), description=description,
    )


def intake_dataset_name(layout: str, record_type: str) -> str:
    """Data records → ``<layout>``; other record types → ``<layout>_<record_type>``."""
    return layout if record_type == "data" else f"{layout}_{record_type}"


def _build() -> dict[str, JobSpec]:
    specs = [
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
            record_types=("lead_in", "header", "data", "trailer"),
            description="経由機関からの国保特別徴収対象者情報 (Z21, 通知内容 00) を取り込む",
        ),
        _intake(
            "SN010", "口座振替依頼書取込", inbox="koufuri", layout="direct_debit_mandate",
            record_types=("header", "data", "trailer"),
            description="口座振替依頼書 (申込) データを取り込む",
        ),
        _intake(
            "SN110", "口座振替結果取込", inbox="bank", layout="zengin_91_result",
            record_types=("header", "data", "trailer", "end"),
            description="金融機関からの口座振替結果ファイル (全銀 種別91) を取り込む",
        ),
        _intake(
            "SN200", "窓口収納データ取込", inbox="counter", layout="counter_payment",
            record_types=("header", "data", "trailer"),
            description="指定金融機関・窓口で納付書により納付された収納データを取り込む",
        ),
        _intake(
            "SN210", "コンビニ等収納データ取込", inbox="cvs", layout="cvs_payment",
            record_types=("header", "data", "trailer"),
            description="収納代行会社からのコンビニ・クレジットカード・スマホ決済の速報・確報データを取り込む",
        ),
    ] + _assessment_jobs() + _notice_jobs() + _collection_jobs()
    return {s.job_id: s for s in specs}


def _assessment_jobs() -> list[JobSpec]:
    """賦課: 当初賦課 (FK110–FK140) and 異動賦課 (FK210–FK220); see jobs/assessment/steps.py."""
    from jobs.assessment import steps

    return [
        JobSpec("FK110", "当初賦課", steps.initial_assessment,
                inputs=("nhi_qualification", "resident_tax_income"), outputs=("assessment", "assessment_members"),
                after=("FK020", "FK010"),
                description="資格・所得から世帯ごとの国保税 (医療・支援・介護・子ども分) を計算し assessment を作る"),
        JobSpec("FK120", "特別徴収判定", steps.withholding_judgment,
                inputs=("assessment", "assessment_members", "nhi_qualification", "tokucho_z21"),
                outputs=("withholding",), after=("FK110", "FK030"),
                description="年金からの特別徴収の対象世帯を判定し、仮徴収・本徴収・普通徴収の額を決める"),
        JobSpec("FK130", "期割・納期限", steps.installment_split,
                inputs=("assessment", "withholding"), outputs=("installments",), after=("FK120",),
                description="年税額を期別に割り、納期限を付ける (普通徴収・特別徴収、区分別の内訳)"),
        JobSpec("FK140", "調定ファイル作成", steps.initial_levy_file,
                inputs=("assessment", "installments", "withholding"), after=("FK130",),
                description="当初調定ファイル (layouts/levy_file) を var/outbox/ledger/ に作る"),
        JobSpec("FK210", "異動賦課", steps.reassessment_step,
                inputs=("assessment", "assessment_members", "installments", "nhi_qualification",
                        "resident_tax_income"),
                outputs=("assessment", "assessment_members", "installments", "corrections", "change_notices"),
                after=("FK020", "FK010"),
                description="資格・住民税の異動があった世帯を再計算し、期別に更正する (変更通知書データ)"),
        JobSpec("FK220", "異動調定ファイル作成", steps.correction_levy_file,
                inputs=("corrections", "change_notices", "installments", "withholding"), after=("FK210",),
                description="更正分の調定ファイル (layouts/levy_file) を var/outbox/ledger/ に作る"),
    ]


def _notice_jobs() -> list[JobSpec]:
    """通知書: FK150 (当初) and FK230 (異動); see jobs/assessment/notice_steps.py. Output paths and the
    PDF split are config (notice_output.*)."""
    from jobs.assessment import notice_steps

    return [
        JobSpec("FK150", "納税通知書作成", notice_steps.tax_notices,
                inputs=("assessment", "installments", "withholding", "nhi_qualification"), after=("FK130",),
                description="納税通知書・納付書・特別徴収開始通知書の印刷データ (var/outbox/print/) と PDF "
                            "(var/reports/notices/<世代>/) を作る"),
        JobSpec("FK230", "変更通知書作成", notice_steps.change_notices,
                inputs=("change_notices", "corrections", "assessment", "installments", "nhi_qualification"),
                after=("FK210",),
                description="税額変更通知書・納付書の印刷データ (var/outbox/print/) と PDF "
                            "(var/reports/notices/<世代>/) を作る"),
    ]


def _collection_jobs() -> list[JobSpec]:
    """収納: 調定登録 and 消込 per channel; see jobs/collection/steps.py."""
    from jobs.collection import steps

    def post(job_id: str, name: str, channel: str, source: str, after: tuple[str, ...], text: str,
             inbox: str | None = None) -> JobSpec:
        # the archived file a 消込 reads beside its dataset: the intake step's inbox and layout
        opts = {"channel": channel} if inbox is None else {"channel": channel, "source": MappingProxyType(
            {"inbox": inbox, "layout": source, "job_id": after[0]})}
        return JobSpec(job_id, name, steps.post_channel, inputs=(source,), outputs=(f"reconciliation_{channel}",),
                       after=after, options=MappingProxyType(opts), description=text)

    from jobs.collection import debit_steps, refund_steps, report_steps

    return [
        JobSpec("SN020", "口座振替登録", debit_steps.register_mandates, inputs=("direct_debit_mandate",),
                after=("SN010",), description="口座振替依頼書 (新規・変更・停止) を収納台帳の口座振替情報に登録する"),
        JobSpec("SN120", "口座振替請求", debit_steps.request_debits, outputs=("debit_requests",),
                after=("SN020", "SN100"),
                description="振替日の所定営業日前に、金融機関ごとの口座振替請求ファイル (全銀 種別91) を "
                            "var/outbox/bank/ に作り、口座振替請求者リストを残す"),
        JobSpec("SN130", "口座振替結果確認", debit_steps.debit_results, outputs=("debit_results",),
                after=("SN115",), inputs=("nhi_qualification",),
                description="口座振替結果を請求に記録し、振替不能の口座振替不能通知書兼納付書 (PDF) を作る"),
        JobSpec("SN300", "過誤納整理", refund_steps.overpayments, outputs=("refund_decisions",),
                inputs=("nhi_qualification",), after=("SN115", "SN205", "SN215", "SN235"),
                description="過誤納を検出し、未納の期へ充当 (古い順)、残りを還付加算金とともに還付決議する。"
                            "還付充当通知書 (PDF) と還付の総合振込ファイルを作る"),
        JobSpec("SN410", "速報未確報チェック", report_steps.lapse_provisionals, after=("SN215",),
                description="確報が所定営業日を過ぎても届かないコンビニ速報を一覧にし、督促保留を解除する"),
        JobSpec("SN400", "収納日計", report_steps.daily_report, outputs=("daily_collection",),
                after=("SN115", "SN205", "SN215", "SN235", "SN300", "SN410"),
                description="その日の収納をチャネル・種別ごとに集計し、納付履歴と照合した収納日計表 (CSV・PDF) を作る"),
        JobSpec("SN100", "調定登録", steps.register_levy, after=("FK140",),
                description="賦課の調定ファイル (var/outbox/ledger/) を収納台帳の通知書・期別・調定履歴に登録し、"
                            "調定待ちの保留納付を消込する"),
        post("SN115", "口座振替結果消込", "debit", "zengin_91_result", ("SN110", "SN100"),
             "口座振替結果 (振替済) を消込し、振替不能を記録する", inbox="bank"),
        post("SN205", "窓口収納消込", "counter", "counter_payment", ("SN200", "SN100"),
             "窓口・指定金融機関の収納データを通知書番号・期別で消込する", inbox="counter"),
        post("SN215", "コンビニ等収納消込", "cvs", "cvs_payment", ("SN210", "SN100"),
             "コンビニ・クレジット・スマホ決済の速報 (督促保留)・確報 (消込)・速報取消を処理する", inbox="cvs"),
        post("SN235", "年金特徴収納消込", "pension", "pension_withholding_result", ("SN100",),
             "年金特別徴収の徴収結果 (pension_withholding_result) を消込する"),
    ]


JOBS: dict[str, JobSpec] = _build()


def get(job_id: str) -> JobSpec:
    key = job_id.strip().upper()
    if key in JOBS:
        return JOBS[key]
    near = difflib.get_close_matches(key, JOBS, n=3)
    hint = f" (候補: {', '.join(near)})" if near else ""
    raise KeyError(f"ジョブIDがありません: {job_id}{hint}")


def register(spec: JobSpec, *, replace: bool = False) -> JobSpec:
    """Add a step (tests, or a plug-in area). Refuses to overwrite unless ``replace``."""
    if spec.job_id in JOBS and not replace:
        raise ValueError(f"job id {spec.job_id} is already registered")
    JOBS[spec.job_id] = spec
    return spec
