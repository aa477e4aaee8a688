"""The DAG-side helpers in dags/_kokuho: the business-day gate and the control-totals table."""

from __future__ import annotations

import datetime as dt
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
