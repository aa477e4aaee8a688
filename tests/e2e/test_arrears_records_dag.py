"""End to end through Airflow: KB620 滞納記録ジョブネット with ``dag.test()`` on the real DAG file, on
DuckDB (this test's var/ledger) and PostgreSQL (a schema of its own), as test_arrears_dags.py does.

The ledger holds four 滞納 期別 (SN100 on a small 調定 file, run without Airflow: KB620 reads the
ledger, not the city) and the 宛名 (a minimal nhi_qualification). The 収納課 drops a 分割納付計画, a
返戻, a 住所調査結果 and an 執行停止 file in var/inbox/arrears/; one run registers them all (TN210 →
TN220, TN310 → TN320, TN410), writes the 納付書 print file (with its .sha256) and the lists, and a
second run on the same business date posts nothing twice and writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pendulum
import pytest
from e2e_helpers import ledger_scalar, load_dag, run_rows, ti_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

DAY = dt.date(2026, 9, 15)
_COLLECTION = Path(__file__).resolve().parents[1] / "collection"

FILES = {
    "bunkatsu_20260915.csv": "宛名番号,誓約日,計画額,対象期別,納付期日,納付額\n"
                             "0000000001,2026-09-10,80000,2026-10000000001-1;2026-10000000001-2,"
                             "2026-09-30;2026-10-31;2026-11-30,30000;30000;20000\n"
                             "0000000002,2026-09-10,1,2026-10000000002-1,2026-09-30,1\n",  # 計画額 < 未納額
    "henrei_20260915.csv": "宛名番号,文書種別,賦課年度,通知書番号,期別,返戻日,返戻事由\n"
                           "0000000002,1,2026,10000000002,,2026-09-10,転居先不明\n",
    "chousa_20260915.csv": "宛名番号,調査結果,調査日\n0000000002,不明,2026-09-15\n",
    "teishi_20260915.csv": "宛名番号,停止事由コード,停止開始日\n0000000003,1,2026-09-10\n",
}


def _ledger_city() -> None:
    sys.path.insert(0, str(_COLLECTION))
    from collection_helpers import D, levy_file, levy_row, put_levy, run, write_qualification

    put_levy(levy_file([
        levy_row("10000000001", 1, 50_000, due_date=D(2026, 7, 31)),
        levy_row("10000000001", 2, 30_000, due_date=D(2026, 8, 31)),
        levy_row("10000000002", 1, 50_000, due_date=D(2026, 7, 31)),
        levy_row("10000000003", 1, 40_000, due_date=D(2026, 7, 31)),
    ]), "levy_e2e.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    assert run("SN400", DAY).rc == 0  # the day's 収納日計 (KB400): what KB620-WAIT 収納消込待ち waits for
    write_qualification(["0000000001", "0000000002", "0000000003"])


def _run(day: int):
    return load_dag("kokuho_arrears_records").test(
        logical_date=pendulum.datetime(2026, 12, day, 9, 0, tz="Asia/Tokyo"), run_conf={"business_date": str(DAY)})


def _outputs(var: Path) -> dict[str, bytes]:
    out = {}
    for folder in (var / "outbox" / "print", var / "reports" / "arrears"):
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                out[str(p.relative_to(var))] = p.read_bytes()
    return out


def test_arrears_records_job_net(kokuho_var: Path, ledger_backend):
    _ledger_city()
    inbox = kokuho_var / "inbox" / "arrears"
    inbox.mkdir(parents=True)
    for name, text in FILES.items():
        (inbox / name).write_bytes(text.encode("utf-8"))

    dr = _run(7)

    states = ti_states(dr)
    assert dr.state == "success" and set(states.values()) == {"success"}, states
    rows = run_rows(dr)
    assert sorted(rows) == ["TN210", "TN220", "TN310", "TN320", "TN410"]
    assert rows["TN210"]["rc"] == 4 and (rows["TN210"]["read"], rows["TN210"]["accepted"], rows["TN210"]["rejected"]) \
        == (2, 1, 1), rows["TN210"]["messages"]
    for job in ("TN220", "TN310", "TN320", "TN410"):
        assert rows[job]["rc"] == 0 and rows[job]["business_date"] == DAY.isoformat(), (job, rows[job]["messages"])
    assert int(ledger_scalar("SELECT COUNT(*) FROM arrears_plan WHERE status = 'active'")) == 1
    assert int(ledger_scalar("SELECT COUNT(*) FROM arrears_plan_installment")) == 3
    assert str(ledger_scalar("SELECT effective_date FROM arrears_return WHERE search_result = 'not_found'")) == "2026-09-22"
    assert int(ledger_scalar("SELECT COUNT(*) FROM arrears_suspension")) == 1
    out = _outputs(kokuho_var)
    prints = [k for k in out if k.startswith("outbox/print/arrears_plan_") and k.endswith(".dat")]
    assert len(prints) == 1 and prints[0] + ".sha256" in out, sorted(out)
    assert any(k.endswith("koji_soutatsu_20260915.pdf") for k in out)
    assert any(k.endswith("shikkou_teishi_20260915.csv") for k in out)

    # the same day again: every file is known (KKB638I), nothing posted twice, the same bytes
    dr = _run(8)

    assert dr.state == "success", ti_states(dr)
    again = run_rows(dr)
    for job in ("TN210", "TN310", "TN320", "TN410"):
        assert any("KKB638I" in m for m in again[job]["messages"]), (job, again[job]["messages"])
    assert int(ledger_scalar("SELECT COUNT(*) FROM arrears_plan")) == 1
    assert int(ledger_scalar("SELECT COUNT(*) FROM arrears_return")) == 1
    assert _outputs(kokuho_var) == out
