"""``make demo-year`` in CI size (issue 12, "A whole fiscal year"): the year driver
(jobs/demo_year/driver.py) on a small synthetic city through its own REAL Airflow (scheduler,
dag-processor, triggerer, api-server; jobs/airflow_live.py), driven only by the REST API, from the
intake (June) through the first 納期限's whole cycle — 当初賦課, 年金特徴依頼, 口座振替 request and the
banks' answers, counter/CVS payments (some late, some never), 督促 and 延滞金, 催告 — to the
September month close: every run ends success (skipped steps allowed), and the money conservation
Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済 holds to the yen in the ledger (``closing.compute``) and
in each month close's TN510 (KKB661I). ``make demo-year`` runs the whole year the same way.
"""

from __future__ import annotations

import json

import pytest

# about 25 job-net runs: ~8 min on a quiet 2-core machine, far longer on a loaded one (pyproject's 900 s)
pytestmark = [pytest.mark.live, pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(3600)]

INSURED = 200
SEED = 20261206
FY = 2026              # its own year, whatever make demo-year's default (the dates below are of it)
INTAKE = "2026-06-01"
UNTIL = "2026-09-10"   # intake 06-01 … first 督促 08-20, 一斉催告 08-25, month closes 08-03 and 09-01, 催告 09-10


def test_the_first_quarter_of_the_year_through_the_real_scheduler(tmp_path, capsys):
    from jobs.demo_year.driver import main

    out = tmp_path / "demo-year"
    rc = main(["--insured", str(INSURED), "--seed", str(SEED), "--out", str(out), "--fiscal-year", str(FY),
               "--intake-date", INTAKE, "--until", UNTIL])
    printed = capsys.readouterr().out
    report = json.loads((out / "year_report.json").read_text(encoding="utf-8"))
    failed = [(r["date"], r["jobnet_id"], r["task_states"]) for r in report["runs"] if not r["ok"]]
    assert rc == 0 and not failed, (failed, printed[-3000:])
    nets = {r["jobnet_id"] for r in report["runs"]}
    assert {"KB100", "KB300", "KB400", "KB410", "KB210", "KB510", "KB600", "KB620", "KB610", "KB700"} <= nets, nets
    for r in report["runs"]:
        assert r["state"] == "success" and set(r["task_states"].values()) <= {"success", "skipped"}, r
        assert all(s["rc"] < 8 for s in r["steps"].values()), r

    c = report["figures"]["conservation"]
    assert c["levy"] - c["income"] + c["refund"] - c["write_off"] == c["unpaid"] and c["difference"] == 0, c
    assert c["levy"] > 0 and 0 < c["income"] < c["levy"], c       # some paid, some did not
    heads = report["figures"]["headlines"]
    assert heads["納税通知書 (世帯)"] > 0 and heads["督促状"] > 0 and heads["口座振替請求 (件)"] > 0, heads
    assert heads["収納 (件)"] > 0, heads
    channels = report["figures"]["payments_by_channel"]
    assert {"counter", "debit"} <= set(channels), channels
    # TN510 of each month close checked the same identity on its month (RC 8 otherwise)
    closes = [r for r in report["runs"] if r["jobnet_id"] == "KB700"]
    assert len(closes) == 2 and all(r["steps"]["TN510"]["rc"] == 0 for r in closes)
    assert (out / "year_report.md").read_text(encoding="utf-8").count("円単位で一致") == 1
    assert not (out / "run").exists()    # the Airflow home and var/ removed (no --keep)
