"""The DAG-side helpers in dags/_kokuho: the business-day gate and the control-totals table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest


def _context(run_type: str, fire_time_utc: dt.datetime, **params):
    return {
        "dag_run": SimpleNamespace(run_type=run_type, run_after=fire_time_utc),
        "data_interval_start": fire_time_utc if run_type == "scheduled" else None,
        "params": {"business_date": None, "fiscal_year": None, "municipality": None, **params},
    }


@pytest.mark.parametrize(
    ("fire_time_utc", "expected"),
    [
        # 06:30 JST is 21:30 UTC the day before: the JST date decides.
        (dt.datetime(2026, 11, 25, 21, 30, tzinfo=dt.UTC), True),    # Thu 2026-11-26
        (dt.datetime(2026, 11, 22, 21, 30, tzinfo=dt.UTC), False),   # Mon 2026-11-23 勤労感謝の日
        (dt.datetime(2026, 12, 28, 21, 30, tzinfo=dt.UTC), False),   # Tue 2026-12-29 年末年始
        (dt.datetime(2027, 1, 3, 21, 30, tzinfo=dt.UTC), True),      # Mon 2027-01-04 御用始め
    ],
)
def test_scheduled_runs_go_on_only_on_business_days(fire_time_utc, expected):
    from _kokuho.steps import is_business_day

    assert is_business_day(**_context("scheduled", fire_time_utc)) is expected


def test_manual_runs_always_go_on():
    from _kokuho.steps import is_business_day

    assert is_business_day(**_context("manual", dt.datetime(2026, 11, 22, 21, 30, tzinfo=dt.UTC))) is True


@pytest.mark.parametrize(
    ("rule", "fire_time_utc", "expected"),
    [
        # config/municipalities/111007/fy2026/run_calendar.yaml: initial_assessment.run_date 2026-07-01 (Wed)
        ("initial_assessment", dt.datetime(2026, 6, 30, 22, 30, tzinfo=dt.UTC), True),   # 07:30 JST 7/1
        ("initial_assessment", dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC), False),   # 7/2
        # config/common/run_calendar.yaml: the 1st and the 16th, closed days → next business day
        ("reassessment", dt.datetime(2026, 9, 15, 22, 30, tzinfo=dt.UTC), True),   # Wed 9/16
        ("reassessment", dt.datetime(2026, 11, 1, 22, 30, tzinfo=dt.UTC), True),   # Mon 11/2 (11/1 is a Sunday)
        ("reassessment", dt.datetime(2026, 10, 31, 22, 30, tzinfo=dt.UTC), False),  # Sun 11/1 itself
        ("reassessment", dt.datetime(2026, 6, 30, 22, 30, tzinfo=dt.UTC), False),   # 7/1: not before 当初賦課
    ],
)
def test_scheduled_runs_go_on_only_on_run_days(rule, fire_time_utc, expected):
    from _kokuho.steps import is_run_day

    assert is_run_day(rule, **_context("scheduled", fire_time_utc)) is expected


def test_manual_runs_go_on_whatever_the_run_calendar():
    from _kokuho.steps import is_run_day

    assert is_run_day("initial_assessment", **_context("manual", dt.datetime(2026, 11, 22, 21, 30, tzinfo=dt.UTC)))


def test_totals_table_and_manifest_check():
    from _kokuho.totals import check_manifest, format_table, max_rc

    rows = [
        {"job_id": "FK020", "name": "国保資格取込", "rc": 4, "read": 10, "accepted": 9, "rejected": 1,
         "written": 9, "money": {}, "by_record_type": {"header": {"read": 1}, "data": {"read": 8}, "trailer": {"read": 1}}},
        {"job_id": "FK010", "state": "upstream_failed"},
    ]
    table = format_table(rows)
    assert "FK020 国保資格取込" in table and "0004" in table and "警告終了" in table
    assert "upstream_failed" in table
    assert max_rc(rows) == 4
    manifest = {"files": {"shikaku": {"records": {"header": 1, "data": 8, "trailer": 1}, "money": {}}}}
    assert check_manifest(rows, manifest) == []
    manifest["files"]["shikaku"]["records"]["data"] = 9
    assert check_manifest(rows, manifest) and "FK020" in check_manifest(rows, manifest)[0]


def test_totals_table_shows_figures_and_files():
    from _kokuho.totals import format_table

    row = {"job_id": "FK150", "name": "納税通知書作成", "rc": 0, "read": 3, "accepted": 3, "rejected": 0,
           "written": 3, "money": {"printed_annual_tax": 123_400}, "figures": {"pages": 12},
           "files": ["/var/outbox/print/tax_notice_x.dat", "/var/reports/notices/x"]}
    table = format_table([row])
    assert "123,400 円" in table
    assert "その他の件数" in table and "pages" in table and table.split("pages")[1].split()[0] == "12"
    assert "出力ファイル" in table and "FK150  /var/outbox/print/tax_notice_x.dat" in table


def test_totals_table_prints_the_steps_japanese_labels_not_the_keys():
    """Issue 12: the KB100-END table printed raw keys (``data.total_income``). A step's XCom now
    carries the labels its log already used (ControlTotals.add_money/add_figure ``label=``)."""
    from _kokuho.totals import format_table

    from jobs.common.step import ControlTotals

    t = ControlTotals()
    t.add_money("data.total_income", 1_234_567, label="総所得金額等")
    t.add_figure("pages", 12, label="PDF ページ数")
    row = {"job_id": "FK010", "name": "住民税所得取込", "rc": 0, **t.to_dict()}
    table = format_table([row])
    assert "総所得金額等" in table and "1,234,567 円" in table
    assert "PDF ページ数" in table and "data.total_income" not in table and " pages " not in table


def test_every_money_and_figure_a_step_reports_has_a_label():
    """Every ControlTotals.add_money / add_figure call in jobs/ and reports/ passes ``label=`` (a
    Japanese name for the job log and the 統制合計表): checked on the source, so a new step cannot
    add an unlabelled key."""
    import ast

    root = Path(__file__).resolve().parents[2]
    missing = []
    for folder in ("jobs", "reports"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("add_money", "add_figure")
                        and not any(k.arg == "label" for k in node.keywords)):
                    missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert missing == []
