"""``kokuho arrears-record``: one 分割納付計画 and one 執行停止 (and its 取消) through TN210 / TN410, on
DuckDB and PostgreSQL; the same command twice posts nothing twice; a bad plan ends RC 4 with the
error list."""

from __future__ import annotations

from collection_helpers import D, levy_file, levy_row, put_levy, q, run, write_qualification

from jobs.cli import main


def test_plan_and_suspension_from_the_command_line(ledger_url, capsys):
    put_levy(levy_file([levy_row("10000000001", 1, 50_000, due_date=D(2026, 7, 31)),
                        levy_row("10000000002", 1, 40_000, due_date=D(2026, 7, 31))]), "levy_cli.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002"])
    plan = ["arrears-record", "plan", "--date", "2026-09-15", "--municipality", "111007", "--person", "1",
            "--pledged", "2026-09-10", "--amount", "50000", "--targets", "2026-10000000001-1",
            "--dues", "2026-09-30;2026-10-31", "--amounts", "25000;25000"]
    assert main(plan) == 0
    assert main(plan) == 0 and "KKB638I" in capsys.readouterr().out
    assert q("SELECT person_id, plan_amount, installment_count FROM arrears_plan").rows() == [("0000000001", 50_000, 2)]
    bad = [*plan[:-2], "--amounts", "25000;20000"]
    assert main(bad) == 4 and "KKB701W" in capsys.readouterr().out
    suspend = ["arrears-record", "suspension", "--date", "2026-09-15", "--municipality", "111007", "--person",
               "0000000002", "--reason", "1", "--start", "2026-09-01", "--immediate"]
    assert main(suspend) == 0
    assert q("SELECT immediate_extinction, lifted_date FROM arrears_suspension").rows() == [(True, None)]
    lift = ["arrears-record", "suspension", "--date", "2026-09-16", "--municipality", "111007", "--person",
            "0000000002", "--lift", "2026-09-16"]
    assert main(lift) == 0
    assert q("SELECT lifted_date FROM arrears_suspension").item() == D(2026, 9, 16)
