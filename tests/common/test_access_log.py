"""The access log (jobs.common.access_log): append-only lines, 0600, who / why / whose; the
records a step writes to the ledger collected per table; kokuho audit --atena; kokuho shisan."""

from __future__ import annotations

import json
import os
import stat

import polars as pl
import pytest

from jobs import cli
from jobs.common import access_log
from jobs.common.operator import operator_scope


def test_record_appends_one_line_0600_in_a_0700_folder(kokuho_var):
    with operator_scope("unyo01", "manual__1"):
        access_log.record(action="read", step="archive cat", file="var/archive/x.enc", atena=["0000000002", "0000000001"],
                          rows=3)
    access_log.record(action="read", step="shisan", operator="etsuran01", reason="cli")
    [path] = list(access_log.audit_root().glob("access_*.jsonl"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(access_log.audit_root().stat().st_mode) == 0o700
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert '"atena": "0000000001 0000000002"' in lines[0]  # sorted, distinct, one string
    first = access_log._parsed(json.loads(lines[0]))
    assert (first["op"], first["why"], first["act"], first["step"]) == ("unyo01", "manual__1", "read", "archive cat")
    assert first["atena"] == ["0000000001", "0000000002"] and first["n"] == 3
    assert json.loads(lines[1])["op"] == "etsuran01"


def test_the_module_never_truncates_or_rewrites():
    src = open(access_log.__file__, encoding="utf-8").read()
    assert "O_TRUNC" not in src and '"w"' not in src and "unlink" not in src
    assert "O_APPEND" in src


def test_a_my_number_key_is_refused(kokuho_var):
    with pytest.raises(ValueError, match="個人番号"):
        access_log.record(action="read", step="x", extra={"my_number": "123456789012"})


def test_collect_notes_the_atena_and_notices_per_table(kokuho_var):
    with operator_scope("scheduler", "scheduled__2026-06-15"), access_log.collect() as touched:
        access_log.note_frame("installment", pl.DataFrame({"person_id": ["0000000011", "0000000011"],
                                                           "household_id": ["0000000001", "0000000001"],
                                                           "notice_number": ["1", "1"]}))
        access_log.note_frame("payment", pl.DataFrame({"notice_number": ["10000000001", "10000000001",
                                                                         "20000000002"]}))
        assert access_log.flush(touched, step="SN205") == 1  # one line per step
    [event] = list(access_log.lines())
    assert event["extra"]["tables"] == {"installment": 2, "payment": 3} and event["n"] == 5
    assert event["atena"] == ["0000000001", "0000000011"]
    assert event["notice"] == ["10000000001", "20000000002"]  # only the tables without a 宛名番号
    assert event["op"] == "scheduler" and event["why"] == "scheduled__2026-06-15"
    raw = next(access_log.audit_root().glob("*.jsonl")).read_text(encoding="utf-8")
    assert '"notice": "10000000001 20000000002"' in raw  # compact: one string, not a list
    # outside a step nothing is collected
    access_log.note_frame("payment", pl.DataFrame({"notice_number": ["x"]}))
    assert len(list(access_log.lines())) == 1


def test_kokuho_audit_lists_a_persons_history(kokuho_var, capsys):
    access_log.record(action="write", step="SN100", atena=["0000000011"], operator="unyo01", reason="manual__1")
    access_log.record(action="write", step="SN205", notices=["10000000001"], operator="scheduler", reason="s__2")
    access_log.record(action="read", step="shisan", atena=["0000000099"], operator="x", reason="")
    assert [e["step"] for e in access_log.history("0000000011")] == ["SN100"]
    assert [e["step"] for e in access_log.history("0000000011", ["10000000001"])] == ["SN100", "SN205"]
    assert cli.main(["audit", "--atena", "0000000011"]) == 0
    out = capsys.readouterr().out
    assert "SN100" in out and "unyo01" in out and "shisan" not in out
    # the query itself is logged (who looked at whose history)
    assert [e["step"] for e in access_log.lines()][-1] == "audit"
    assert cli.main(["audit", "--atena", "123456789012"]) == 8  # a 個人番号 is refused


def test_kokuho_shisan_is_logged(kokuho_var, tmp_path, capsys):
    src = tmp_path / "household.json"
    src.write_text(json.dumps({"household_id": "0000000001", "fy": 2026, "members": [
        {"person_id": "0000000011", "age": 40, "income": 3000000}]}), encoding="utf-8")
    cli.main(["shisan", "--input", str(src)])
    capsys.readouterr()
    [event] = [e for e in access_log.lines() if e["step"] == "shisan"]
    assert event["atena"] == ["0000000001", "0000000011"] and event["file"] == str(src)
    assert event["op"] == access_log.current_operator().operator_id
    assert os.environ.get("KOKUHO_VAR")


def test_a_ledger_transaction_is_logged_when_it_commits_never_when_it_rolls_back(kokuho_var, tmp_path):
    """One line per committed transaction, under the running step: a step killed after a commit
    still leaves the record of whose rows it changed; a rolled-back one leaves none."""
    from jobs.ledger import Ledger

    led = Ledger.open(f"duckdb:///{tmp_path / 'l.duckdb'}")
    rows = pl.DataFrame({"person_id": ["0000000011"], "household_id": ["0000000001"]})
    try:
        with operator_scope("unyo01", "manual__1"), access_log.collect("SN100", {"business_date": "2026-07-01"}):
            with led.transaction() as tx:
                tx.stage("_people", rows)
            assert [e["step"] for e in access_log.lines()] == ["SN100"]
            with pytest.raises(RuntimeError), led.transaction() as tx:
                tx.stage("_people", rows)
                raise RuntimeError("rolled back")
        with led.transaction() as tx:  # outside a step
            tx.stage("_people", rows)
    finally:
        led.dispose()
    events = list(access_log.lines())
    assert [e["step"] for e in events] == ["SN100", "ledger"]
    assert events[0]["op"] == "unyo01" and events[0]["atena"] == ["0000000001", "0000000011"]
    assert events[0]["extra"]["business_date"] == "2026-07-01"


def test_kokuho_audit_summary_shows_who_changed_the_ledger(kokuho_var, capsys, monkeypatch):
    """`kokuho audit --summary`: the access log per 職員 × step, and the ledger's rows per 操作者ID;
    a row without 操作者ID or 処理事由 (untraceable) makes it RC 4 (KKB806W)."""
    from jobs.ledger import Ledger

    monkeypatch.delenv("KOKUHO_LEDGER_URL", raising=False)
    led = Ledger.open()
    insert = ("INSERT INTO card_applicant (municipality_code, person_id, history_no, operator_id, operated_date, "
              "operated_time, operation_reason) VALUES ('111007', :p, 1, :op, DATE '2026-07-01', '090000', :why)")
    try:
        with led.transaction() as tx:
            tx.execute(insert, {"p": "0000000011", "op": "unyo01", "why": "SN020 manual__1"})
    finally:
        led.dispose()
    access_log.record(action="write", step="SN020", atena=["0000000011"], operator="unyo01", reason="manual__1")
    assert cli.main(["audit", "--summary"]) == 0
    out = capsys.readouterr().out
    assert "unyo01" in out and "SN020" in out and "card_applicant" in out
    led = Ledger.open()
    try:
        with led.transaction() as tx:
            tx.execute(insert, {"p": "0000000012", "op": "unyo01", "why": ""})
    finally:
        led.dispose()
    assert cli.main(["audit", "--summary"]) == 4
    assert "KKB806W" in capsys.readouterr().err
