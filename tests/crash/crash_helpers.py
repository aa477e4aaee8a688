"""Helpers of the kill tests: a step run in a child process that kills itself (SIGKILL) at a
named point (``KOKUHO_CRASH_AT``, ``jobs.common.staging.crash_point``), var/ folders copied per
run, and what a run leaves behind (every file's bytes, the ledger's totals) to compare."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUNI = "111007"
KEY = "ab" * 32  # KOKUHO_MYNUMBER_KEY of the tests
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"

CHILD = """
import json, sys
from jobs.runner import run_job
for job, date, options in json.loads(sys.argv[1]):
    run_job(job, business_date=date, municipality="111007", **options)
"""


@contextlib.contextmanager
def use_var(var: Path) -> Iterator[Path]:
    """Run the job steps of this process in ``var`` (KOKUHO_VAR; the ledger is var/ledger/)."""
    saved = {k: os.environ.get(k) for k in ("KOKUHO_VAR", "KOKUHO_LEDGER_URL", "KOKUHO_MYNUMBER_KEY",
                                            "KOKUHO_MUNICIPALITY")}
    os.environ["KOKUHO_VAR"] = str(var)
    os.environ["KOKUHO_MYNUMBER_KEY"] = KEY
    os.environ.pop("KOKUHO_LEDGER_URL", None)
    os.environ.pop("KOKUHO_MUNICIPALITY", None)
    try:
        yield var
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def copy_var(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def child_env(var: Path, crash_at: str | None = None) -> dict[str, str]:
    env = dict(os.environ, KOKUHO_VAR=str(var), KOKUHO_MYNUMBER_KEY=KEY, PYTHONPATH=str(ROOT))
    for k in ("KOKUHO_LEDGER_URL", "KOKUHO_MUNICIPALITY"):
        env.pop(k, None)
    if crash_at:
        env["KOKUHO_CRASH_AT"] = crash_at
    return env


def run_killed(var: Path, jobs: list[tuple[str, str, dict]], crash_at: str) -> None:
    """Run ``jobs`` (job id, business date, options) in a child process that SIGKILLs itself at
    ``crash_at``; fails when the point was never reached."""
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(jobs)], env=child_env(var, crash_at), cwd=ROOT,
                          capture_output=True, timeout=180, check=False)
    assert proc.returncode == -signal.SIGKILL, (
        f"{crash_at}: rc {proc.returncode} (the point was not reached?)\n" + proc.stderr.decode(errors="replace")[-3000:])


def start_child(var: Path, jobs: list[tuple[str, str, dict]]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(jobs)], env=child_env(var), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_jobs(jobs: list[tuple[str, str, dict]]) -> list:
    """Run ``jobs`` in this process (the rerun after the kill, or the clean run); RC < 8 each."""
    from jobs.runner import run_job

    results = []
    for job, date, options in jobs:
        r = run_job(job, business_date=date, municipality=MUNI, **options)
        assert r.rc < 8, r.log_text
        results.append(r)
    return results


def files(var: Path) -> dict[str, str]:
    """Every file under ``var`` (hidden ones too: a leftover shows), by its SHA-256. The
    ledger's database file is compared by its totals (``ledger_totals``) instead; an encrypted
    archive file by its plaintext (each encryption draws a new salt, so its bytes differ from run
    to run); the access log (var/audit/, timestamped lines) by its events without their times."""
    from jobs.common import crypto

    out = {}
    events = []
    for p in sorted(var.rglob("*")):
        rel = p.relative_to(var).as_posix()
        if rel.startswith("ledger/") or not p.is_file():
            continue
        if rel.startswith("audit/"):
            for line in p.read_text(encoding="utf-8").splitlines():
                e = json.loads(line)
                events.append((e.get("act"), e.get("step"), e.get("file"), e.get("n"), e.get("atena"), e.get("notice")))
            continue
        data = bytes(crypto.decrypt_bytes(p)) if rel.startswith("archive/") and crypto.is_encrypted(p) else p.read_bytes()
        out[rel] = hashlib.sha256(data).hexdigest()
    out["audit/ (events)"] = hashlib.sha256(repr(sorted(events, key=repr)).encode()).hexdigest()
    return out


LEDGER_QUERIES = {
    "installment": "SELECT levy_year, notice_number, installment_no, levy_amount, paid_amount, provisional_amount, "
                   "correction_seq FROM installment ORDER BY 1, 2, 3",
    "payment": "SELECT COUNT(*) AS n, COALESCE(SUM(tax_amount), 0) AS amount FROM payment",
    "reconciliation": "SELECT channel, status, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM reconciliation "
                      "GROUP BY 1, 2 ORDER BY 1, 2",
    "posted_file": "SELECT channel, COUNT(*) AS n FROM posted_file GROUP BY 1 ORDER BY 1",
    "refund": "SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(interest), 0) AS interest "
              "FROM refund",
    "refund_offset": "SELECT kind, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM refund_offset "
                     "GROUP BY 1 ORDER BY 1",
    "debit_request": "SELECT status, result_code, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount "
                     "FROM debit_request GROUP BY 1, 2 ORDER BY 1, 2",
}


def ledger_totals(var: Path) -> dict[str, list]:
    """The ledger's figures (var/ledger/ledger.duckdb), without the audit columns' times."""
    if not (var / "ledger").is_dir():
        return {}
    from jobs.common import config
    from jobs.ledger import Ledger

    with use_var(var):
        led = Ledger.open(None, cfg=config.load(MUNI, 2026), migrate=False)
        try:
            return {name: led.frame(sql).rows() for name, sql in LEDGER_QUERIES.items()}
        finally:
            led.dispose()


def outcome(var: Path) -> tuple[dict[str, str], dict[str, list]]:
    return files(var), ledger_totals(var)


def assert_same(got: tuple[dict, dict], want: tuple[dict, dict], what: str) -> None:
    gf, gl = got
    wf, wl = want
    extra, missing = sorted(set(gf) - set(wf)), sorted(set(wf) - set(gf))
    differ = sorted(k for k in set(gf) & set(wf) if gf[k] != wf[k])
    assert not (extra or missing or differ), f"{what}: extra {extra}, missing {missing}, different {differ}"
    assert gl == wl, f"{what}: ledger totals differ"
