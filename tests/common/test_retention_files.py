"""The file half of 管理外データ削除 (jobs.common.retention, kokuho purge) on a synthetic var/ with
generations of several fiscal years: what is past each kind's retention goes, the newest
generation of a dataset and the never-list (access log, keys, Airflow, ledger) stay, the dry run
deletes nothing, unclassified files are kept and listed."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from jobs import cli
from jobs.common import access_log, config, paths
from jobs.common import retention as r

MUNI = "111007"


def _touch(var, rel: str, *, mtime: dt.date | None = None) -> None:
    p = var / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x" * 10)
    if mtime:
        t = time.mktime(dt.datetime(mtime.year, mtime.month, mtime.day, 12).timetuple())
        os.utime(p, (t, t))


@pytest.fixture
def var(kokuho_var):
    v = paths.var_root()
    for fy in range(2015, 2027):  # a generation per fiscal year, 2015 … 2026
        gen = f"m{MUNI}_fy{fy}_d{fy}0601"
        _touch(v, f"datasets/assessment/{gen}/part-0.parquet")
        _touch(v, f"datasets/reconciliation_counter/{gen}/part-0.parquet")
        _touch(v, f"datasets/nhi_qualification/{gen}/part-0.parquet")
        _touch(v, f"reports/notices/{gen}/notice_0001.pdf")
        _touch(v, f"outbox/bank/0001/KOUFURI_111007_0001_{fy}0627.dat")
        _touch(v, f"archive/shikaku/{'%064d' % fy}_shikaku.dat", mtime=dt.date(fy, 6, 1))
    _touch(v, "datasets/person_key/m111007_fy2015_d20150401/part-0.parquet")  # the only (newest) generation
    _touch(v, "audit/access_201601.jsonl", mtime=dt.date(2016, 1, 1))
    (v / "audit/access_201601.jsonl").write_text('{"ts": "2016-01-01T09:00:00", "op": "old", "act": "read", '
                                                  '"step": "old", "atena": [], "notice": []}\n')
    _touch(v, "secrets/mynumber.key", mtime=dt.date(2015, 4, 1))
    _touch(v, "airflow/airflow.db", mtime=dt.date(2015, 4, 1))
    _touch(v, "ledger/ledger.duckdb", mtime=dt.date(2015, 4, 1))
    _touch(v, "misc/whatever.txt", mtime=dt.date(2015, 4, 1))
    return v


def _policy():
    return r.policy(config.load(MUNI))


def test_each_kind_expires_after_its_years_from_the_fiscal_year_end():
    pol = _policy()
    assert pol.kind("assessment").expires_on(2018) == dt.date(2026, 4, 1)  # 7 years after 2019-03-31
    assert pol.kind("collection").expires_on(2018) == dt.date(2025, 4, 1)  # 時効 5 + margin 1
    assert pol.kind("collection").newest_expired_fy(dt.date(2025, 4, 1)) == 2018
    assert pol.kind("collection").newest_expired_fy(dt.date(2025, 3, 31)) == 2017
    for kind in pol.kinds:  # every figure names its basis and whether it is verified
        assert kind.basis and kind.years > 0 and isinstance(kind.verified, bool)


def test_plan_on_a_multi_year_var(var):
    items, unclassified = r.plan(_policy(), dt.date(2026, 4, 1))
    by_kind: dict[str, set[int]] = {}
    for item in items:
        by_kind.setdefault(item.rel.split("/")[0] + "/" + item.rel.split("/")[1], set()).add(item.fiscal_year)
    assert by_kind["datasets/assessment"] == set(range(2015, 2019))  # 7 years: up to FY2018
    assert by_kind["reports/notices"] == set(range(2015, 2019))
    assert by_kind["datasets/reconciliation_counter"] == set(range(2015, 2020))  # 5 + 1: up to FY2019
    assert by_kind["outbox/bank"] == set(range(2015, 2020))  # dated by the name's YYYYMMDD
    assert by_kind["datasets/nhi_qualification"] == set(range(2015, 2021))  # 5 years: up to FY2020
    assert by_kind["archive/shikaku"] == set(range(2015, 2019))  # dated by mtime, 7 years
    rels = {i.rel for i in items}
    assert not any(x.startswith(("audit/", "secrets/", "airflow/", "ledger/")) for x in rels)
    assert "datasets/person_key/m111007_fy2015_d20150401/part-0.parquet" not in rels  # newest generation
    assert unclassified == ["misc/whatever.txt"]
    sources = {i.rel.split("/")[0]: i.source for i in items}
    assert sources == {"datasets": "generation", "reports": "generation", "outbox": "name", "archive": "mtime"}


def test_kokuho_purge_dry_run_then_purge(var, capsys):
    before = sorted(p for p in var.rglob("*") if p.is_file())  # the purge adds a report and a log line
    rc = cli.main(["purge", "--dry-run", "--date", "2026-04-01", "--no-ledger"])
    out = capsys.readouterr().out
    assert rc == 4  # an unclassified file was kept (KKB802W)
    assert "KKB803I" in out and "削除予定" in out and "KKB802W" in out
    after = sorted(p for p in var.rglob("*") if p.is_file() and not p.relative_to(var).as_posix().startswith(
        ("reports/retention/", "audit/access_2026")))
    assert after == before  # nothing deleted
    rc = cli.main(["purge", "--date", "2026-04-01", "--no-ledger"])
    out = capsys.readouterr().out
    assert "KKB800I" in out
    assert not (var / "datasets/assessment/m111007_fy2018_d20180601").exists()  # folder removed too
    assert (var / "datasets/assessment/m111007_fy2019_d20190601/part-0.parquet").exists()
    assert (var / "audit/access_201601.jsonl").exists() and (var / "secrets/mynumber.key").exists()
    reports = sorted((var / "reports" / "retention").glob("purge_*.csv"))
    assert len(reports) == 2 and all(p.stat().st_mode & 0o777 == 0o600 for p in reports)
    acts = [e["act"] for e in access_log.lines() if e["step"] == "kokuho purge"]
    assert acts == ["purge-dry-run", "purge"]
