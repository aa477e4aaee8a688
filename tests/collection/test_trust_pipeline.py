"""Issue 13 (trust) on a small synthetic city, without Airflow: the intake, 当初賦課 and 収納 steps
(jobs.runner.run_job, as the Airflow wrapper runs them), then

- the permissions walk: nothing under var/ (nor the keys' folder) is readable by group or others —
  the test process runs the steps with umask 022 on purpose, so it is the step runtime that makes
  every file 0600 and every folder 0700;
- the archive holds no 個人番号 in clear: the synthetic numbers of the 資格 file are not in any
  archived byte, and the archive decrypts back to the file that came in;
- every outbound hand-off under var/outbox/ (調定 file, print data, bank request files) has a
  ``<name>.sha256`` in ``sha256sum`` format that matches its bytes.

(The demo's var/ gets the same two checks at the end of ``make demo``.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from pathlib import Path

import pytest

from jobs.cli import main as kokuho
from jobs.collection import direct_debit as dd
from jobs.common import config, crypto, handoff, paths
from jobs.common import fixedwidth as fw
from jobs.common.bizcal import BusinessCalendar
from jobs.runner import run_job
from jobs.synth import payments as sp

INSURED = 60
SEED = 20260601
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"


def _ok(job_id: str, business_date, **options):
    r = run_job(job_id, business_date=business_date, **options)
    assert r.rc <= 4, (job_id, r.log_text)
    return r


def _loose(root: Path) -> list[str]:
    """Everything under ``root`` that group or others may read, write or enter."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            mode = stat.S_IMODE(p.lstat().st_mode)
            if mode & 0o077 and not p.is_symlink():
                out.append(f"{oct(mode)} {p.relative_to(root)}")
    return out


@pytest.fixture
def city_run(isolated_var: Path, monkeypatch):
    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", "cd" * 32)
    monkeypatch.delenv("KOKUHO_LEDGER_URL", raising=False)  # var/ledger/ledger.duckdb: in the walk
    old = os.umask(0o022)
    try:
        # the synthetic city through the real `kokuho synth` (it sets umask 077 itself) ...
        assert kokuho(["synth", "--insured", str(INSURED), "--seed", str(SEED),
                       "--out", str(isolated_var / "inbox"), "--quiet"]) == 0
        shikaku = next((isolated_var / "inbox" / "shikaku").iterdir())
        res = fw.read(fw.load_layout("nhi_qualification"), shikaku, keep_secrets=True)
        numbers = sorted({str(v) for v in res.frames["data"]["my_number"].to_list() if v})
        plain = shikaku.read_bytes()
        os.umask(0o022)  # ... and from here the steps alone must keep everything private
        for job in ("FK020", "FK010", "FK030"):
            _ok(job, INTAKE_DATE)
        for job in ("FK110", "FK120", "FK130", "FK140", "FK150"):
            _ok(job, ASSESS_DATE)
        levy_files = sorted(paths.outbox("ledger").glob("*.dat"))
        levy = sp.load_levy(levy_files)
        due = levy.filter(levy["collection_method"] == "1")["due_date"].min()
        cfg = config.load("111007", 2026)
        cal = BusinessCalendar.from_config(cfg)
        pay = due + dt.timedelta(days=7)
        while not cal.is_business_day(pay):
            pay += dt.timedelta(days=1)
        sp.generate(levy_files, isolated_var / "inbox", business_date=pay, seed=3, channels=("counter",))
        for job in ("SN100", "SN200", "SN205"):
            _ok(job, pay)
        request = dd.request_day(cal, cfg, due)
        for job in ("SN010", "SN020", "SN120"):
            _ok(job, request)
        yield {"var": isolated_var, "numbers": numbers, "shikaku": shikaku.name, "plain": plain}
    finally:
        os.umask(old)


def _check_nothing_readable_by_others(city_run):
    var = city_run["var"]
    for sub in ("datasets", "ledger", "archive", "outbox", "reports", "errors"):
        assert (var / sub).is_dir(), sub
    assert list((var / "outbox" / "bank").rglob("*.dat")), "SN120 wrote no bank request file"
    assert list((var / "ledger").iterdir())
    # var/ itself and var/inbox/ were made by the test fixture (umask 022), not by the runtime
    loose = [x for x in _loose(var) if x.split(" ", 1)[1] != "inbox"]
    assert not loose, "group/world-accessible under var/:\n" + "\n".join(loose)
    assert not _loose(paths.secrets_root())
    assert stat.S_IMODE(paths.secrets_root().stat().st_mode) == 0o700


def _check_no_my_number_in_clear(city_run):
    numbers = city_run["numbers"]
    assert len(numbers) >= INSURED // 2 and all(len(n) == 12 for n in numbers)
    archived = [p for p in paths.archive("shikaku").iterdir() if not p.name.endswith(".json")]
    assert [p.name.split("_", 1)[1] for p in archived] == [city_run["shikaku"]]
    assert not [p for p in paths.var_root().rglob("*") if ".tmp-" in p.name]  # no temp copy left
    blob = b"".join(p.read_bytes() for p in paths.var_root().joinpath("archive").rglob("*") if p.is_file())
    assert all(crypto.is_encrypted(p) for p in paths.var_root().joinpath("archive").rglob("*")
               if p.is_file() and not p.name.endswith(".json"))
    found = [n for n in numbers if n.encode("ascii") in blob]
    assert not found, f"{len(found)} 個人番号 readable in var/archive"
    assert crypto.decrypt_bytes(archived[0]) == city_run["plain"]  # and it decrypts back


def _check_sha256_beside_every_outbound_file(city_run):
    outbox = city_run["var"] / "outbox"
    files = [p for p in outbox.rglob("*") if p.is_file() and not p.name.startswith(".")
             and not p.name.endswith(handoff.SUFFIX)]
    kinds = {p.relative_to(outbox).parts[0] for p in files}
    assert {"ledger", "print", "bank"} <= kinds, kinds
    for p in files:
        side = handoff.checksum_path(p)
        assert side.is_file(), f"no .sha256 beside {p.relative_to(outbox)}"
        assert side.read_text(encoding="ascii") == f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
    assert not [p for p in outbox.rglob("*.sha256") if not p.with_name(p.name[:-7]).is_file()]


def test_trust_after_a_pipeline_run(city_run):
    """One pipeline run (it takes a while), three checks."""
    _check_nothing_readable_by_others(city_run)
    _check_no_my_number_in_clear(city_run)
    _check_sha256_beside_every_outbound_file(city_run)
