"""End to end through Airflow: KB710 年次ジョブネット with ``dag.test()`` on the real DAG file, on the
synthetic multi-year ledger of tests/closing/test_year_close.py (written straight into this test's
ledger: DuckDB in its var/, or a PostgreSQL schema of its own), on the 出納閉鎖 day 2027-05-31.

TN620 不納欠損 → TN610 出納閉鎖・滞納繰越 → TN630 滞納状況引継: the control totals of each step (the
conservation Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済 after TN620 and TN610), the 不納欠損 and
滞納繰越 in the ledger, the 調書 and the hand-over file; a second run the same day books nothing
again and writes the same files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pendulum
import pytest
from e2e_helpers import ledger_scalar, load_dag, run_rows, ti_states

_TESTS = Path(__file__).resolve().parents[1]
for _p in (_TESTS / "collection", _TESTS / "closing"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

DAY = "2027-05-31"


def _run(day: int):
    return load_dag("kokuho_year_close").test(logical_date=pendulum.datetime(2027, 5, day, 9, 0, tz="Asia/Tokyo"),
                                              run_conf={"business_date": DAY})


def _files(var: Path) -> dict[str, bytes]:
    out = {p.name: p.read_bytes() for p in (var / "reports" / "closing").rglob("*") if p.is_file()}
    out.update({p.name: p.read_bytes() for p in (var / "outbox" / "kyufu").glob("*.csv")})
    return out


def test_year_close_job_net(kokuho_var: Path, ledger_backend):
    from closing_helpers import book
    from test_year_close import seed

    with book() as b:
        seed(b)

    dr = _run(28)

    states = ti_states(dr)
    assert dr.state == "success" and set(states.values()) == {"success"}, states
    rows = run_rows(dr)
    assert sorted(rows) == ["TN610", "TN620", "TN630"]
    for job_id, row in rows.items():
        assert row["rc"] == 0 and row["business_date"] == DAY, (job_id, row["messages"])
    for job_id in ("TN620", "TN610"):
        m = rows[job_id]["money"]
        assert m["conservation.levy"] - m["conservation.income"] + m["conservation.refund"] \
            - m["conservation.write_off"] == m["conservation.unpaid"], (job_id, m)
    assert rows["TN620"]["money"]["write_off.total"] == 85000
    assert rows["TN620"]["money"]["conservation.write_off"] == 85000
    assert rows["TN610"]["money"]["carried.levy"] == rows["TN610"]["money"]["carried.unpaid"] == 106000
    assert rows["TN630"]["money"]["handover.amount"] == 106000
    assert int(ledger_scalar("SELECT COUNT(*) FROM write_off")) == 3
    assert int(ledger_scalar("SELECT SUM(carried_tax_amount) FROM installment WHERE carried_year = 2027")) == 106000
    first = _files(kokuho_var)
    assert {"funou_kesson_20270531.csv", "funou_kesson_20270531.pdf", "taino_kurikoshi_2027.csv",
            "taino_kurikoshi_2027.pdf", "taino_jokyo_20270531.csv"} <= set(first)

    # --- the same day again: nothing booked twice, the same files -------------------------------------
    dr = _run(29)

    assert dr.state == "success", ti_states(dr)
    again = run_rows(dr)
    assert any("KKB678I" in m for m in again["TN620"]["messages"]), again["TN620"]["messages"]
    assert any("KKB674I" in m for m in again["TN610"]["messages"]), again["TN610"]["messages"]
    assert int(ledger_scalar("SELECT COUNT(*) FROM write_off")) == 3
    assert int(ledger_scalar("SELECT SUM(carried_tax_amount) FROM installment WHERE carried_year = 2027")) == 106000
    assert _files(kokuho_var) == first
