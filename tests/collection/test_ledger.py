"""The 収納 ledger: schema migrations, audit columns, and SN100 調定登録 (当初・更正) — on DuckDB
and PostgreSQL (``ledger_url``)."""

from __future__ import annotations

import datetime as dt

import pytest
from collection_helpers import (
    DAY1,
    DAY2,
    DAY3,
    FIXTURES,
    installments,
    levy_file,
    levy_row,
    msg_ids,
    open_ledger,
    put_levy,
    q,
    run,
    scalar,
)

from jobs.ledger import LedgerError, migrations, models

D = dt.date
TABLES = sorted(t.name for t in models.metadata.sorted_tables if t.name != "schema_migrations")


@pytest.mark.fresh_ledger
def test_schema_created_by_the_migrations_and_reopen_applies_nothing(ledger_url):
    led = open_ledger(ledger_url, migrate=False)
    try:
        every = list(range(1, migrations.LATEST + 1))
        assert led.migrate() == every
        assert led.schema_version() == migrations.LATEST >= 2  # 002: 処理事由 (operation_reason)
        rows = led.frame("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        assert rows["version"].to_list() == every
        assert rows["name"][0].startswith("initial schema")
        dt.datetime.fromisoformat(rows["applied_at"][0])  # a timestamp
        names = set(led.frame("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = current_schema()")["table_name"].to_list())
        assert set(TABLES) | {"schema_migrations"} <= names
    finally:
        led.dispose()
    # a second open (the next job) applies nothing and keeps the one row
    again = open_ledger(ledger_url)
    try:
        assert again.migrate() == []
        assert again.scalar("SELECT COUNT(*) FROM schema_migrations") == migrations.LATEST
    finally:
        again.dispose()


def test_newer_ledger_is_refused(ledger_url):
    led = open_ledger(ledger_url)
    with led.transaction() as tx:
        tx.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')")
    led.dispose()
    with pytest.raises(LedgerError, match="スキーマ版 99"):
        open_ledger(ledger_url)
    # a step reports it as a severe error, nothing else happens
    put_levy(FIXTURES / "levy_file" / "levy_initial.dat", "levy_initial.dat")
    res = run("SN100")
    assert res.rc == 12 and "KKB400S" in msg_ids(res) and not res.committed


def test_every_table_has_the_audit_columns(ledger_url):
    led = open_ledger(ledger_url)
    try:
        cols = led.frame("SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                         "WHERE table_schema = current_schema()")
    finally:
        led.dispose()
    have = {(t, c): n for t, c, n in cols.iter_rows()}
    assert {t for t, _ in have} >= set(TABLES)
    for table in TABLES:
        for name in ("operator_id", "operated_date", "operated_time"):
            assert (table, name) in have, f"{table} has no {name}"
            assert have[(table, name)] == "NO", f"{table}.{name} is nullable"


# --- SN100 調定登録 ---------------------------------------------------------------------------------


def test_sn100_registers_initial_levy_file(ledger_url):
    put_levy(FIXTURES / "levy_file" / "levy_initial.dat", "levy_initial.dat")
    res = run("SN100", DAY1, operator="tanaka", run_id="manual__2026-06-01T00:00:00+00:00")  # the Airflow user
    assert res.rc == 0, res.log_text
    assert res.totals.read == 3 and res.totals.accepted == 3 and res.totals.rejected == 0
    assert res.totals.money["levy_amount"] == 58_712  # the trailer's 期別税額合計

    notices = q("SELECT levy_year, notice_number, person_id, household_id, collection_method, business_code, "
                "operator_id FROM notice ORDER BY notice_number")
    assert notices.rows() == [
        (2026, "10000000001", "0000000011", "0000000001", "1", "0001", "tanaka"),
        (2026, "20000000002", "0000000021", "0000000002", "2", "0001", "tanaka"),
    ]
    inst = q("SELECT notice_number, installment_no, levy_amount, medical_general, support_general, care_general, "
             "child_general, due_date, correction_seq, paid_amount, payer_code, collection_method, operator_id "
             "FROM installment ORDER BY notice_number, installment_no")
    assert inst.rows() == [
        ("10000000001", 1, 19_456, 12_608, 5_272, 1_576, 0, D(2026, 7, 31), 0, 0, None, "1", "tanaka"),
        ("10000000001", 2, 13_000, 8_424, 3_523, 1_053, 0, D(2026, 8, 31), 0, 0, None, "1", "tanaka"),
        ("20000000002", 4, 26_256, 18_000, 6_756, 0, 1_500, D(2026, 10, 15), 0, 0, "001", "2", "tanaka"),
    ]
    assert int(inst["levy_amount"].sum()) == 58_712
    hist = q("SELECT record_no, notice_number, installment_no, levy_kind, correction_seq, levy_amount, change_amount, "
             "correction_date FROM levy_history ORDER BY record_no")
    assert hist.rows() == [
        (2, "10000000001", 1, "1", 0, 19_456, 0, D(2026, 7, 1)),
        (3, "10000000001", 2, "1", 0, 13_000, 0, D(2026, 7, 1)),
        (4, "20000000002", 4, "1", 0, 26_256, 0, D(2026, 7, 1)),
    ]
    pf = q("SELECT file_name, channel, records, amount, job_id FROM posted_file")
    assert pf.rows() == [("levy_initial.dat", "levy", 3, 58_712, "SN100")]
    # audit stamps on every row written
    for table in ("notice", "installment", "levy_history", "posted_file"):
        assert scalar(f"SELECT COUNT(*) FROM {table} WHERE operated_date IS NULL OR "
                      f"operated_time IS NULL OR operator_id <> 'tanaka'") == 0
    # 処理事由: the job and the run (migration 002), on every row the step wrote
    reasons = q("SELECT DISTINCT operation_reason FROM notice UNION SELECT DISTINCT operation_reason FROM installment "
                "UNION SELECT DISTINCT operation_reason FROM levy_history")
    assert reasons["operation_reason"].to_list() == ["SN100 manual__2026-06-01T00:00:00+00:00"]
    assert q("SELECT DISTINCT operator_id FROM levy_history").rows() == [("tanaka",)]


def test_sn100_correction_replaces_amount_and_keeps_history(ledger_url):
    put_levy(FIXTURES / "levy_file" / "levy_initial.dat", "levy_initial.dat")
    assert run("SN100", DAY1).rc == 0
    # 更正 of 期別 2 (13,000 → 10,000, 更正順番 1) + the fixture's FK220 file (new 期別 of others)
    corr = levy_file([levy_row("10000000001", 2, 10_000, levy_kind="2", correction_seq=1,
                               levy_date=D(2026, 9, 1), due_date=D(2026, 8, 31), change=-3_000,
                               medical_general=6_500, support_general=2_700, care_general=800,
                               correction_reason="01")],
                     file_kind="2", creation_date=D(2026, 9, 1))
    put_levy(corr, "levy_correction_0901.dat")
    put_levy(FIXTURES / "levy_file" / "levy_correction.dat", "levy_correction.dat")
    res = run("SN100", DAY2)
    assert res.rc == 0, res.log_text
    inst = installments()
    assert inst[(2026, "10000000001", 2)]["levy_amount"] == 10_000
    assert inst[(2026, "10000000001", 2)]["correction_seq"] == 1
    assert inst[(2026, "10000000001", 1)]["levy_amount"] == 19_456  # untouched
    # the fixture's corrections are 期別 the 当初 did not have: added with their 更正順番
    assert inst[(2026, "10000000001", 6)]["levy_amount"] == 15_000
    assert inst[(2026, "10000000003", 9)]["levy_amount"] == 0
    assert inst[(2026, "10000000003", 9)]["correction_seq"] == 2
    assert inst[(2026, "20000000004", 5)]["levy_amount"] == 10_000
    comp = q("SELECT medical_general, support_general, care_general, assessed_correction_date FROM installment "
             "WHERE notice_number = '10000000001' AND installment_no = 2")
    assert comp.rows() == [(6_500, 2_700, 800, D(2026, 9, 1))]
    hist = q("SELECT levy_kind, correction_seq, levy_amount, change_amount FROM levy_history "
             "WHERE notice_number = '10000000001' AND installment_no = 2 ORDER BY correction_seq")
    assert hist.rows() == [("1", 0, 13_000, 0), ("2", 1, 10_000, -3_000)]
    assert scalar("SELECT COUNT(*) FROM levy_history") == 3 + 1 + 3
    assert scalar("SELECT COUNT(*) FROM installment") == 3 + 3
    assert res.totals.money["change_amount"] == -3_000 + -1_000


def test_sn100_older_correction_does_not_overwrite_newer(ledger_url):
    put_levy(levy_file([levy_row("10000000007", 1, 9_000)]), "a_initial.dat")
    put_levy(levy_file([levy_row("10000000007", 1, 7_000, levy_kind="2", correction_seq=2, change=-2_000,
                                 levy_date=D(2026, 9, 1))], file_kind="2", creation_date=D(2026, 9, 1)),
             "b_corr2.dat")
    assert run("SN100", DAY1).rc == 0
    put_levy(levy_file([levy_row("10000000007", 1, 8_000, levy_kind="2", correction_seq=1, change=-1_000,
                                 levy_date=D(2026, 8, 1))], file_kind="2", creation_date=D(2026, 8, 1)),
             "c_corr1_late.dat")
    assert run("SN100", DAY2).rc == 0
    inst = installments()[(2026, "10000000007", 1)]
    assert (inst["levy_amount"], inst["correction_seq"]) == (7_000, 2)
    assert scalar("SELECT COUNT(*) FROM levy_history") == 3


def test_sn100_rerun_registers_nothing_twice(ledger_url):
    put_levy(FIXTURES / "levy_file" / "levy_initial.dat", "levy_initial.dat")
    put_levy(FIXTURES / "levy_file" / "levy_correction.dat", "levy_correction.dat")
    first = run("SN100", DAY1)
    assert first.rc == 0
    before = (q("SELECT * FROM installment ORDER BY notice_number, installment_no")
              .drop("operated_date", "operated_time"))
    counts = {t: scalar(f"SELECT COUNT(*) FROM {t}") for t in ("notice", "installment", "levy_history", "posted_file")}
    # the same generation again (a rerun) and the next day's run: both register nothing
    again = run("SN100", DAY1)
    assert again.rc == 0 and "KKB413I" in msg_ids(again)
    later = run("SN100", DAY3)
    assert later.rc == 0 and "KKB410I" in msg_ids(later)
    assert {t: scalar(f"SELECT COUNT(*) FROM {t}") for t in counts} == counts == {
        "notice": 4, "installment": 6, "levy_history": 6, "posted_file": 2}
    after = q("SELECT * FROM installment ORDER BY notice_number, installment_no").drop("operated_date", "operated_time")
    assert after.equals(before)


def test_the_deployments_database_settings_apply_to_each_transaction(ledger_url):
    """collection.ledger.duckdb goes to DuckDB with the connection; collection.ledger.postgresql is
    SET LOCAL in each ledger transaction (the server's default outside it)."""
    from jobs.common import config
    from jobs.ledger import db

    cfg = config.load("111007", 2026)
    led = open_ledger(ledger_url, migrate=False)
    try:
        with led.transaction() as tx:
            if led.dialect == "postgresql":
                want = cfg.get("collection.ledger.postgresql.work_mem")
                assert tx.scalar("SHOW work_mem") == want
                assert tx.scalar("SHOW temp_buffers") == cfg.get("collection.ledger.postgresql.temp_buffers")
            else:
                assert tx.scalar("SELECT current_setting('preserve_insertion_order')") is \
                    cfg.get("collection.ledger.duckdb.preserve_insertion_order")
                assert int(tx.scalar("SELECT current_setting('threads')")) == cfg.get("collection.ledger.duckdb.threads")
        if led.dialect == "postgresql":
            assert led.scalar("SHOW work_mem") != want  # SET LOCAL: gone with the transaction
    finally:
        led.dispose()
    bad = config.Config(data=config.deep_merge(cfg.data, {"collection": {"ledger": {"duckdb": {"memory": "1GB"}}}}))
    with pytest.raises(LedgerError, match="memory"):
        db.duckdb_settings(bad)


def test_staged_rows_last_for_their_transaction_and_an_error_in_it_is_raised_as_itself(ledger_url):
    """``Tx.stage``: the rows are there for every statement of the transaction (DuckDB: the frame
    registered as a view, no copy; PostgreSQL: a temporary table), a second stage of the name
    replaces them, and they are gone after it. A failing statement in a transaction with staged
    rows raises its own error, not one of letting the staged rows go."""
    import polars as pl
    import sqlalchemy as sa

    led = open_ledger(ledger_url, migrate=False)
    try:
        with led.transaction() as tx:
            tx.stage("_probe", pl.DataFrame({"n": [1, 2, 3]}, schema={"n": pl.Int64}))
            assert tx.scalar("SELECT SUM(n) FROM _probe") == 6
            assert tx.scalar("SELECT COUNT(*) FROM _probe a JOIN _probe b ON a.n = b.n") == 3
            tx.stage("_probe", pl.DataFrame({"n": [10]}, schema={"n": pl.Int64}))
            assert tx.scalar("SELECT SUM(n) FROM _probe") == 10
        with pytest.raises(sa.exc.DBAPIError), led.transaction() as tx:
            tx.execute("SELECT 1 FROM _probe")  # gone with the transaction
        with pytest.raises(sa.exc.DBAPIError, match="no_such_table"), led.transaction() as tx:
            tx.stage("_probe", pl.DataFrame({"n": [1]}, schema={"n": pl.Int64}))
            tx.execute("SELECT * FROM no_such_table")
        with led.transaction() as tx:  # the ledger is usable after the failed transaction
            tx.stage("_probe", pl.DataFrame({"n": [7]}, schema={"n": pl.Int64}))
            assert tx.scalar("SELECT SUM(n) FROM _probe") == 7
    finally:
        led.dispose()
