"""The step contract: RC from messages and rejects, control totals, commit only below RC 8."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import polars as pl
import pytest

from jobs.common import datasets, errorlist, staging
from jobs.common.jobspec import JobSpec
from jobs.common.step import ControlTotalsError, StepAbend, StepError, run_step

DATE = dt.date(2026, 6, 15)
GEN = "m111007_fy2026_d20260615"
ROWS = pl.DataFrame({"person_id": ["0000000001", "0000000002"], "amount": [1200, 3400]})


def spec(func, outputs=("out",)) -> JobSpec:
    return JobSpec(job_id="ZZ010", name_ja="テスト取込", func=func, outputs=outputs)


def ok_step(ctx):
    ctx.totals.count("data", label="データ", read=2, accepted=2)
    ctx.totals.add_money("data.amount", 4600, label="金額")
    ctx.write_dataset("out", ROWS)
    ctx.message("ZZ100I", "処理しました")


def test_rc0_commits_and_logs_figures():
    lines = []
    r = run_step(spec(ok_step), business_date="2026-06-15", echo=lines.append)
    assert (r.rc, r.status, r.committed, r.fy, r.municipality, r.generation) == (0, "success", True, 2026, "111007", GEN)
    assert datasets.read("out", GEN).equals(ROWS)
    t = datasets.read_totals("out", GEN)
    assert (t["job_id"], t["business_date"], t["municipality"]) == ("ZZ010", "2026-06-15", "111007")
    assert r.totals.to_dict() == {
        "read": 2, "accepted": 2, "rejected": 0, "written": 2, "money": {"data.amount": 4600},
        "by_record_type": {"data": {"label": "データ", "read": 2, "accepted": 2, "rejected": 0}},
        "labels": {"data.amount": "金額"},
    }
    assert lines == r.log_lines  # echoed live, in order
    log = r.log_text
    assert log.splitlines()[0] == "KKB001I ZZ010 テスト取込 開始"
    assert "業務日=2026-06-15" in log and "団体=111007 さいたま市" in log
    assert "ICE054I 0 RECORDS - IN: 2, OUT: 2" in log
    assert "KKB060I 金額 金額(data.amount) 4,600円" in log
    assert f"KKB070I 出力 out 世代 {GEN} 2件 確定" in log
    assert "IEF142I KOKUHO ZZ010 - STEP WAS EXECUTED - COND CODE 0000" in log
    assert log.splitlines()[-1] == "KKB009I ZZ010 テスト取込 終了 RC=0000 (正常終了)"
    assert r.error_list is None
    json.dumps(r.to_dict(), ensure_ascii=False)  # XCom-safe


def test_rejects_give_rc4_and_an_error_list():
    def step(ctx):
        ctx.totals.count("data", read=3, accepted=2, rejected=1)
        ctx.write_dataset("out", ROWS)
        ctx.reject(pl.DataFrame({"record_no": [2], "reason": ["値が規定外"], "raw": [b"\x01"]}), file_name="f.dat")

    r = run_step(spec(step), business_date=DATE)
    assert (r.rc, r.status, r.committed) == (4, "warning", True)
    assert r.error_list == errorlist.path("ZZ010", GEN) and r.error_rows == 1
    assert errorlist.read(r.error_list)["理由"].to_list() == ["値が規定外"]
    assert "COND CODE 0004" in r.log_text and "KKB080W" in r.log_text


def test_warning_message_sets_rc4():
    def step(ctx):
        ok_step(ctx)
        ctx.message("ZZ101W", "注意")

    assert run_step(spec(step), business_date=DATE).rc == 4


@pytest.mark.parametrize("rc", [8, 12, 16])
def test_step_error_commits_nothing(rc):
    datasets.write("out", GEN, ROWS.head(1))  # yesterday's run of this generation
    done = []

    def step(ctx):
        ok_step(ctx)
        ctx.reject(pl.DataFrame({"record_no": [1], "reason": ["x"]}))
        ctx.on_commit(lambda: done.append(1))
        raise StepError("入力ファイルがありません", rc=rc)

    r = run_step(spec(step), business_date=DATE)
    assert (r.rc, r.status, r.committed) == (rc, "failed", False)
    assert datasets.read("out", GEN).equals(ROWS.head(1))     # the old generation is intact
    assert not errorlist.path("ZZ010", GEN).exists()
    assert done == []
    assert [o.path for o in r.outputs] == [None]
    assert f"COND CODE {rc:04d}" in r.log_text and "KKB081E" in r.log_text
    assert "入力ファイルがありません" in r.log_text
    assert not [p for p in (datasets.dataset_dir("out")).iterdir() if p.name.startswith(".")]


def test_error_message_sets_rc8_without_raising():
    def step(ctx):
        ok_step(ctx)
        ctx.message("ZZ200E", "照合エラー")

    r = run_step(spec(step), business_date=DATE)
    assert r.rc == 8 and not r.committed and datasets.latest("out") is None


def test_unbalanced_totals_are_rc16_and_raise():
    def step(ctx):
        ctx.totals.count("data", read=3, accepted=2)  # one record vanished
        ctx.write_dataset("out", ROWS)

    with pytest.raises(ControlTotalsError) as exc:
        run_step(spec(step), business_date=DATE)
    r = exc.value.result
    assert r.rc == 16 and not r.committed and datasets.latest("out") is None
    assert "KKB990U" in r.log_text and "読込 3 ≠ 正常 2 + エラー 0" in r.log_text
    assert "COND CODE 0016" in r.log_text


def test_unexpected_exception_is_an_abend():
    def step(ctx):
        ctx.write_dataset("out", ROWS)
        raise ZeroDivisionError("boom")

    with pytest.raises(StepAbend) as exc:
        run_step(spec(step), business_date=DATE)
    assert isinstance(exc.value.__cause__, ZeroDivisionError)
    assert exc.value.result.rc == 16 and datasets.latest("out") is None


def test_config_error_is_rc12():
    def step(ctx):
        ctx.config.get("rates.nothing")

    r = run_step(spec(step), business_date=DATE)
    assert r.rc == 12 and "KKB910S" in r.log_text and "rates.nothing" in r.log_text


def test_undeclared_output_is_refused():
    def step(ctx):
        ctx.write_dataset("other", ROWS)

    with pytest.raises(StepAbend, match="does not declare"):
        run_step(spec(step), business_date=DATE)


def test_parameters_reach_the_step():
    seen = {}

    def step(ctx):
        seen.update(fy=ctx.fy, date=ctx.business_date, m=ctx.municipality, opt=ctx.options,
                    name=ctx.config.get("municipality.name"), bd=ctx.calendar.is_business_day(ctx.business_date))

    r = run_step(spec(step), business_date="2027-01-04", flag=True)
    assert seen == {"fy": 2026, "date": dt.date(2027, 1, 4), "m": "111007", "opt": {"flag": True},
                    "name": "さいたま市", "bd": True}
    assert r.rc == 0 and r.generation == "m111007_fy2026_d20270104"
    assert run_step(spec(step), fy=2027, business_date="2027-04-01").generation == "m111007_fy2027_d20270401"


def test_message_ids_need_a_severity():
    def step(ctx):
        ctx.message("ZZ100X", "?")

    with pytest.raises(StepAbend):
        run_step(spec(step), business_date=DATE)


def test_progress_is_plain_iteration_without_a_tty(capsys):
    def step(ctx):
        assert list(ctx.progress(range(5), total=5)) == [0, 1, 2, 3, 4]

    run_step(spec(step), business_date=DATE)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("fail", [False, True])
def test_figures_and_delivered_files(tmp_path, fail):
    target = tmp_path / "print.dat"

    def step(ctx):
        ctx.totals.add_figure("pages", 7, label="PDFページ数")
        ctx.on_commit(lambda: target.write_bytes(b"x"))
        ctx.output_file(target)
        if fail:
            raise StepError("だめ")

    r = run_step(spec(step, outputs=()), business_date=DATE)
    assert r.totals.to_dict()["figures"] == {"pages": 7}
    assert "KKB061I 件数 PDFページ数(pages) 7" in r.log_text
    if fail:  # nothing delivered: no file, none listed
        assert r.rc == 8 and r.files == [] and not target.exists() and "KKB071I" not in r.log_text
    else:
        assert r.files == [target] and target.exists() and r.to_dict()["files"] == [str(target)]
        assert "KKB071I 出力ファイル" in r.log_text


def test_staged_file_appears_only_on_commit(kokuho_var):
    out = kokuho_var / "outbox" / "bank" / "RETURN.dat"
    out.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          check=True, text=True).stdout.strip()
    (out.parent / f".RETURN.dat.staged-{staging.host()}-{dead}-0badc0de").write_bytes(b"left by a run that died")
    live = out.parent / f".RETURN.dat.staged-{staging.host()}-{os.getppid()}-0badc0de"
    live.write_bytes(b"a live writer's (another process)")

    def step(ctx, fail):
        ctx.totals.count("data", read=1, accepted=1)
        staged = ctx.stage_file(out)
        staged.write_bytes(b"new")
        assert not out.exists()
        if fail:
            raise StepError("invalid", rc=8)

    r = run_step(spec(lambda ctx: step(ctx, True), outputs=()), business_date=DATE)
    assert r.rc == 8 and not out.exists()
    # the failed run's staged file and the dead run's leftover are gone, a live writer's file stays
    assert list(out.parent.iterdir()) == [live]
    live.unlink()
    r = run_step(spec(lambda ctx: step(ctx, False), outputs=()), business_date=DATE)
    assert r.rc == 0 and out.read_bytes() == b"new"
    # a hand-off under var/outbox/ comes with its checksum (jobs.common.handoff)
    assert sorted(p.name for p in out.parent.iterdir()) == ["RETURN.dat", "RETURN.dat.sha256"]


@pytest.mark.parametrize(("rc", "label"), [(None, "-"), (0, "正常終了"), (4, "警告終了"), (7, "警告終了"),
                                           (8, "異常終了"), (12, "重大エラー"), (16, "強制終了")])
def test_rc_label(rc, label):
    """The one RC label of the job log and the 統制合計表 (RC 1–7 is a warning: the stream goes on)."""
    from jobs.common.step import rc_label

    assert rc_label(rc) == label


@pytest.mark.parametrize("fail", [False, True])
def test_staged_folder_is_swapped_in_whole_keeping_the_other_files(kokuho_var, fail):
    final = kokuho_var / "reports" / "notices" / "m111007_fy2026_d20260401"
    final.mkdir(parents=True)
    for name, data in (("mine_0001.pdf", b"old 1"), ("mine_0002.pdf", b"old 2"), ("other_0001.pdf", b"other")):
        (final / name).write_bytes(data)

    def step(ctx):
        ctx.totals.count("data", read=1, accepted=1)
        folder = ctx.stage_dir(final, keep=lambda f: not f.startswith("mine_"))
        (folder / "mine_0001.pdf").write_bytes(b"new 1")
        assert (final / "mine_0002.pdf").exists()  # nothing changes before the commit
        if fail:
            raise StepError("invalid", rc=8)

    r = run_step(spec(step, outputs=()), business_date=DATE)
    got = {p.name: p.read_bytes() for p in final.iterdir()}
    if fail:
        assert r.rc == 8 and got == {"mine_0001.pdf": b"old 1", "mine_0002.pdf": b"old 2", "other_0001.pdf": b"other"}
    else:
        assert r.rc == 0 and r.files == [final]
        assert got == {"mine_0001.pdf": b"new 1", "other_0001.pdf": b"other"}
    assert [p.name for p in final.parent.iterdir()] == [final.name]  # no staging folder left
