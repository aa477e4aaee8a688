"""A file is taken only when complete (issue 12, "Daily runs that stay green"): per counterparty profile
``handoff.inbox.<source>.complete`` (config/common/handoff.yaml) a file must have kept its size and
modification time for N seconds (``rule: stable``) and/or have its done-marker beside it
(``rule: marker``; the .sha256 counts where the profile requires checksums). An incomplete file stays
in the inbox (KKB114W); nothing complete → RC 4, nothing written (KKB115W). The same rule in the
intake steps (SN110 here), TK110, the arrears CSV inputs and the Airflow file wait (InboxFileSensor).
The shipped profiles are ``stable 0 s``: a file is complete as soon as it is there, as before."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_trust_intake import bank_file, ids, run

from jobs.common import config, datasets, handoff, paths
from jobs.intake import inputs
from jobs.intake.inputs import Completeness

GEN = "m111007_fy2026_d20260629"


def _profile(monkeypatch, source: str, complete: dict | None, require_checksum: bool = False) -> None:
    real_get = config.Config.get

    def get(self, key, *default):
        if key == f"handoff.inbox.{source}.complete":
            return complete
        if key == f"handoff.inbox.{source}.require_checksum":
            return require_checksum
        return real_get(self, key, *default)

    monkeypatch.setattr(config.Config, "get", get)


def _age(p, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(p, (t, t))


def _drop(source: str, name: str, data: bytes):
    p = paths.ensure_dir(paths.inbox(source)) / name
    p.write_bytes(data)
    return p


# --- the rule ---------------------------------------------------------------------------------------


def test_a_file_growing_while_checked_is_not_complete(tmp_path):
    rule = Completeness(stable_seconds=30)
    p = tmp_path / "KFR.txt"
    p.write_bytes(b"x" * 100)
    assert rule.incomplete_reason(p) == "stable"  # just written
    _age(p, 31)
    assert rule.incomplete_reason(p) is None  # quiet for 31 s
    with open(p, "ab") as fh:  # the sender writes on: not complete again
        fh.write(b"y" * 100)
        fh.flush()
        assert rule.incomplete_reason(p) == "stable"
    now = p.stat().st_mtime
    assert rule.incomplete_reason(p, now=now + 29.9) == "stable"
    assert rule.incomplete_reason(p, now=now + 30) is None
    assert Completeness(stable_seconds=0).incomplete_reason(p) is None  # the default: as soon as it is there


def test_a_marker_arriving_later_completes_the_file(tmp_path):
    rule = Completeness(stable_seconds=None, marker_suffix=".done")
    p = tmp_path / "SHIKAKU.dat"
    p.write_bytes(b"data")
    _age(p, 3600)
    assert rule.incomplete_reason(p) == "marker"
    handoff.checksum_path(p).write_text("0" * 64 + "  SHIKAKU.dat\n")  # not a marker unless checksums are required
    assert rule.incomplete_reason(p) == "marker"
    assert Completeness(None, ".done", checksum_is_marker=True).incomplete_reason(p) is None
    (tmp_path / "SHIKAKU.dat.done").touch()
    assert rule.incomplete_reason(p) is None
    both = Completeness(stable_seconds=60, marker_suffix=".done")
    p.write_bytes(b"data2")  # marker there, but the file changed just now
    assert both.incomplete_reason(p) == "stable"
    _age(p, 61)
    assert both.incomplete_reason(p) is None
    assert rule.ignores("SHIKAKU.dat.done") and not rule.ignores("SHIKAKU.dat")


def test_profiles_from_config(monkeypatch):
    cfg = config.load_common()
    for source in ("shikaku", "juminzei", "nenkin", "koufuri", "bank", "counter", "cvs"):
        assert inputs.completeness(source, cfg) == Completeness(0.0, None, False), source  # shipped: unchanged
    assert inputs.completeness("arrears", cfg) == Completeness()  # no profile: stable 0 s
    _profile(monkeypatch, "bank", {"rule": ["stable", "marker"], "seconds": 120}, require_checksum=True)
    assert inputs.completeness("bank", config.load_common()) == Completeness(120.0, ".done", True)
    _profile(monkeypatch, "bank", {"rule": "marker", "suffix": ".end"})
    assert inputs.completeness("bank", config.load_common()) == Completeness(None, ".end", False)
    for bad in ({"rule": "size"}, {"rule": "stable", "seconds": -1}, {"rule": "marker", "suffix": ".sha256"}, "stable"):
        _profile(monkeypatch, "bank", bad)
        with pytest.raises(config.ConfigError):
            inputs.completeness("bank", config.load_common())


# --- the intake step (SN110 口座振替結果) ---------------------------------------------------------------


def test_intake_leaves_an_incomplete_file_and_takes_it_when_its_marker_comes(kokuho_var, monkeypatch):
    _profile(monkeypatch, "bank", {"rule": "marker", "suffix": ".done"})
    src = _drop("bank", "KFR.txt", bank_file())
    r = run()
    assert (r.rc, r.status) == (4, "warning"), r.log_text
    assert ids(r).count("KKB114W") == 1 and "KKB115W" in ids(r)
    assert "完了マーカー KFR.txt.done がまだありません" in r.log_text and "受信中のファイル 1件" in r.log_text
    assert src.is_file() and not r.outputs and GEN not in datasets.generations("zengin_91_result")
    assert not paths.archive("bank").exists() or not any(paths.archive("bank").iterdir())

    marker = src.with_name("KFR.txt.done")
    marker.touch()  # the sender is done
    r = run()
    assert r.rc == 0, r.log_text
    assert "KKB114W" not in ids(r) and r.totals.by_record_type["data"].read == 3
    assert not src.exists() and not marker.exists()  # taken, the marker with it
    assert GEN in datasets.generations("zengin_91_result")


def test_intake_takes_the_complete_files_and_leaves_the_growing_one(kokuho_var, monkeypatch):
    _profile(monkeypatch, "bank", {"rule": "stable", "seconds": 60})
    old = _drop("bank", "KFR1.txt", bank_file(2))
    _age(old, 120)
    new = _drop("bank", "KFR2.txt", bank_file(3))  # still being written
    r = run()
    assert r.rc == 4 and ids(r).count("KKB114W") == 1 and "KKB115W" not in ids(r), r.log_text
    assert "KFR2.txt (サイズ・更新時刻が 60秒間 変わらないのを待っています)" in r.log_text
    assert r.totals.by_record_type["data"].read == 2 and not old.exists() and new.is_file()


def test_intake_with_the_shipped_profile_takes_a_new_file_at_once(kokuho_var):
    src = _drop("bank", "KFR.txt", bank_file())
    r = run()
    assert r.rc == 0 and "KKB114W" not in ids(r) and not src.exists(), r.log_text


def test_tk110_leaves_an_incomplete_file(kokuho_var, monkeypatch):
    from jobs.runner import run_job

    _profile(monkeypatch, "nenkin", {"rule": "marker"})
    p = _drop("nenkin", "Z2400001.dta", b"half a file")
    r = run_job("TK110", business_date="2026-11-10")
    assert r.rc == 4 and {"KKB114W", "KKB115W"} <= set(ids(r)), r.log_text
    assert p.is_file() and p.read_bytes() == b"half a file" and not r.outputs


def test_arrears_inputs_only_complete(kokuho_var, monkeypatch):
    from jobs.arrears import records

    _profile(monkeypatch, "arrears", {"rule": "stable", "seconds": 60})
    msgs: list[tuple[str, dict]] = []
    ctx = SimpleNamespace(options={}, municipality="111007", config=config.load("111007"),
                          message=lambda msg_id, **kw: msgs.append((msg_id, kw)))
    done = _drop("arrears", "bunkatsu_a.csv", b"\xef\xbb\xbf")
    _age(done, 600)
    growing = _drop("arrears", "bunkatsu_b.csv", b"\xef\xbb\xbf")
    assert records.input_files(ctx, "plan") == [done]
    assert [m for m, _ in msgs] == ["KKB114W"] and msgs[0][1]["file"] == growing.name
    done.unlink()
    msgs.clear()
    assert records.input_files(ctx, "plan") == []
    assert [m for m, _ in msgs] == ["KKB114W", "KKB115W"]


# --- the Airflow file wait ---------------------------------------------------------------------------



def _shikaku_wait(monkeypatch, timeout: dt.timedelta):
    """The DAGs' soft file wait (InboxFileSensor) on var/inbox/shikaku/SHIKAKU* of 111007, a file complete
    after 60 quiet seconds, waiting ``timeout``."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "dags"))
    from _kokuho import steps

    _profile(monkeypatch, "shikaku", {"rule": "stable", "seconds": 60})
    monkeypatch.setattr("jobs.airflow_task.run_parameters", lambda context: {"municipality": "111007"})
    monkeypatch.setenv("AIRFLOW_CONN_KOKUHO_INBOX",
                       '{"conn_type": "fs", "extra": {"path": "%s"}}' % paths.inbox_root())
    return steps.file_wait("fk020_wait", "FK020-W 資格ファイル待ち", "shikaku/SHIKAKU*",
                           timeout=timeout, soft_fail=True, poke_interval=30)

def test_inbox_file_sensor_fires_only_on_a_complete_file(kokuho_var, monkeypatch):
    from airflow.providers.standard.triggers.file import FileTrigger
    from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException, TaskDeferred

    sensor = _shikaku_wait(monkeypatch, dt.timedelta(hours=1))
    with pytest.raises(TaskDeferred) as d:  # nothing there: the triggerer waits for a file
        sensor.execute({})
    assert isinstance(d.value.trigger, FileTrigger)
    deadline = d.value.kwargs["deadline"]
    assert deadline == pytest.approx(time.time() + 3600, abs=30)
    # the trigger ends by itself at the deadline (plugins/kokuho_file_trigger.py), before the defer timeout
    assert d.value.trigger.deadline == deadline and d.value.timeout.total_seconds() > 3600

    p = _drop("shikaku", "SHIKAKU.dat", b"half")  # the trigger fires on it, but it is still growing
    _drop("shikaku", "SHIKAKU2.dat.part", b"x")
    _age(p.with_name("SHIKAKU2.dat.part"), 600)  # a temporary name never counts
    with pytest.raises(TaskDeferred) as d:
        sensor.execute_complete({}, True, deadline=deadline)
    assert isinstance(d.value.trigger, TimeDeltaTrigger) and d.value.kwargs == {"deadline": deadline}

    _age(p, 61)  # quiet for a minute: complete
    assert sensor.execute_complete({}, True, deadline=deadline) is None

    p.write_bytes(b"changed")  # growing again: the trigger giving up (no event) is the timeout
    with pytest.raises(AirflowSkipException):
        sensor.execute_complete({}, None, deadline=deadline)
    # and so is the deadline passing (the trigger's False): skipped (soft_fail) with a warning, or failed
    records = _records(monkeypatch, "kokuho.file_wait")
    with pytest.raises(AirflowSkipException, match="KKB186W"):
        sensor.execute_complete({}, False, deadline=time.time() - 1)
    sensor.soft_fail = False
    with pytest.raises(AirflowSensorTimeout, match="KKB187E"):
        sensor.execute_complete({}, False, deadline=time.time() - 1)
    assert [(r.levelname, r.getMessage()[:7]) for r in records] == [("WARNING", "KKB186W"), ("ERROR", "KKB187E")]



def test_a_wait_of_zero_minutes_looks_once(kokuho_var, monkeypatch):
    """KOKUHO_*_FILE_WAIT_MINUTES=0 (make demo-year, which drops its files before it triggers a run): no file
    is the soft wait's timeout at once (skipped, KKB186W), with no trigger; a complete file is taken; a file
    still arriving defers as with any timeout."""
    from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred

    sensor = _shikaku_wait(monkeypatch, dt.timedelta(0))
    records = _records(monkeypatch, "kokuho.file_wait")
    with pytest.raises(AirflowSkipException, match="KKB186W"):
        sensor.execute({})
    assert [(r.levelname, r.getMessage()[:7]) for r in records] == [("WARNING", "KKB186W")]
    p = _drop("shikaku", "SHIKAKU.dat", b"half")   # arriving: deferred (the trigger), not taken as missing
    with pytest.raises(TaskDeferred):
        sensor.execute({})
    _age(p, 61)
    assert sensor.execute({}) is None


def _records(monkeypatch, name: str) -> list[logging.LogRecord]:
    """The records logger ``name`` emits from now on (a handler of its own, removed after the test)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    logger = logging.getLogger(name)
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, handler])  # the original list back after the test
    monkeypatch.setattr(logger, "level", logging.DEBUG)
    return records


def test_the_file_trigger_ends_by_itself_at_the_deadline(tmp_path):
    """plugins/kokuho_file_trigger.py: True as soon as a file is there, False at the deadline (never the
    scheduler's trigger timeout, which logs an ERROR line: a soft wait without a file is an ordinary day);
    it serializes with its deadline for the triggerer."""
    import asyncio

    from kokuho_file_trigger import InboxFileTrigger

    async def first(trigger):
        async for event in trigger.run():
            return event.payload

    pattern = str(tmp_path / "*.dat")
    t0 = time.monotonic()
    assert asyncio.run(first(InboxFileTrigger(pattern, poke_interval=0.2, deadline=time.time() + 1,
                                              min_seconds=0))) is False
    assert 0.8 < time.monotonic() - t0 < 10
    # never sooner than min_seconds after it started (an Airflow race: see the module docstring)
    t0 = time.monotonic()
    assert asyncio.run(first(InboxFileTrigger(pattern, poke_interval=0.2, deadline=time.time() - 5,
                                              min_seconds=1.5))) is False
    assert 1.4 < time.monotonic() - t0 < 10
    (tmp_path / "a.dat").write_bytes(b"x")
    t0 = time.monotonic()
    assert asyncio.run(first(InboxFileTrigger(pattern, poke_interval=0.2, deadline=time.time() + 60,
                                              min_seconds=1.5))) is True
    assert 1.4 < time.monotonic() - t0 < 10
    path, kwargs = InboxFileTrigger(pattern, poke_interval=3, deadline=123.5).serialize()
    assert path == "kokuho_file_trigger.InboxFileTrigger" and kwargs["deadline"] == 123.5
    assert kwargs["min_seconds"] == 20
    assert InboxFileTrigger(**kwargs).serialize() == (path, kwargs)
