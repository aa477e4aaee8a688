"""The run parameters every kokuho DAG takes (the UI trigger form is generated from these).

Scheduled runs use the defaults (all null): the step runtime then takes the business date from
the run's fire time in Asia/Tokyo, the fiscal year from that date, and the municipality from
config/common/system.yaml (``system.default_municipality``). A manual run may set any of them.
The DAGs of another municipality (``kokuho_intake_112011``) have that 団体コード as the default and the
only value of the 団体コード field.
"""

from __future__ import annotations

from airflow.sdk import Param


def run_params(municipality: str | None = None) -> dict[str, Param]:
    """The trigger form's fields; ``municipality``: the DAG's own city (a per-city DAG), fixed."""
    return {
        "business_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="業務日 (business_date)",
            description="処理対象の業務日 YYYY-MM-DD。空欄なら論理日付 (日本時間) の日付 (定時実行はその起動日時、手動実行はトリガー画面の論理日付)。",
        ),
        "fiscal_year": Param(
            None,
            type=["null", "integer"],
            minimum=2000,
            maximum=2100,
            title="年度 (fiscal_year)",
            description="賦課年度 (西暦)。空欄なら業務日の属する年度 (4月始まり)。",
        ),
        "municipality": Param(
            None,
            type=["null", "string"],
            pattern="^[0-9]{6}$",
            title="団体コード (municipality)",
            description="全国地方公共団体コード6桁 (例 111007 さいたま市)。空欄なら設定の既定団体。",
        ) if municipality is None else Param(
            municipality,
            type="string",
            enum=[municipality],
            title="団体コード (municipality)",
            description=f"このジョブネットの団体 {municipality} (変更できません。他の団体は各団体のジョブネットで実行します)。",
        ),
    }
