"""Crash-safe outputs: a step killed with SIGKILL at any point, then run again, leaves exactly
what a clean run leaves: the same files byte for byte (datasets, error lists, outbox, reports,
archive, inbox), no leftovers (staging files and folders of the dead run are swept when the step
starts again), and the same ledger totals.

The child process kills itself at a named point of the step contract (``KOKUHO_CRASH_AT``,
``jobs.common.staging.crash_point``): ``start`` (before anything is staged), ``write`` (a dataset
staged, the step still running), ``pdf`` (FK150: a PDF rendered, the others not), ``staged``
(everything staged, nothing committed), ``swap`` (a folder swapped in, the old one not yet
removed), ``commit#n`` (after the n-th output was put in place).
The rerun runs in this process. Also: two runs of the 取込 and 賦課 steps in two processes write
the same bytes, and FK150's PDF workers die with a killed step and write nothing after it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import crash_helpers as ch
import pytest
from crash_helpers import ASSESS_DATE, INTAKE_DATE

FK150 = ("FK150", ASSESS_DATE, {"households_per_pdf": 12, "pdf_workers": 2})
FK150_HERE = ("FK150", ASSESS_DATE, {"households_per_pdf": 12, "pdf_workers": 1})  # the same bytes, faster
INTAKE = [(j, INTAKE_DATE, {}) for j in ("FK020", "FK010", "FK030")]

CASES = {
    # step: (state it starts from, the jobs run, the kill points[, the jobs of the runs in this process])
    "FK020": ("city", [("FK020", INTAKE_DATE, {})], ["start", "write", "staged", "commit#5"]),
    "KB100": ("city", INTAKE, ["write#6", "staged#2", "commit#12"]),
    "FK110": ("intake", [("FK110", ASSESS_DATE, {})], ["write", "staged", "commit"]),
    "FK150": ("assessed", [FK150], ["pdf#2", "staged", "commit#2"], [FK150_HERE]),
    "FK150-reprint": ("printed", [FK150_HERE], ["swap", "commit#3"]),
    "SN100": ("levy", [("SN100", "2026-06-15", {})], ["start", "staged"]),
    "SN200": ("counter", [("SN200", "2026-07-02", {})], ["write", "staged", "commit#2"]),
    "SN205": ("counter_taken", [("SN205", "2026-07-02", {})], ["write", "staged", "commit"]),
    "SN300": ("overpaid", [("SN300", "2026-12-01", {})], ["write", "staged", "commit#2"]),
    "SN115": ("bank_result", [("SN115", "2026-10-02", {})], ["write", "staged", "commit"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("step", list(CASES))
def test_killed_step_rerun_gives_the_clean_runs_outputs(step, states, tmp_path):
    state, jobs, points, *here = CASES[step]
    here = here[0] if here else jobs
    base = states.get(state)
    want = states.clean(state, here)
    for point in points:
        var = ch.copy_var(base, tmp_path / "killed")
        ch.run_killed(var, jobs, point)
        with ch.use_var(var):
            ch.run_jobs(here)
        ch.assert_same(ch.outcome(var), want, f"{step} killed at {point}")
        shutil.rmtree(var)


@pytest.mark.slow
def test_intake_and_assessment_write_the_same_bytes_in_another_process(states, tmp_path):
    jobs = INTAKE + [(j, ASSESS_DATE, {}) for j in ("FK110", "FK120", "FK130")]
    here = ch.copy_var(states.get("city"), tmp_path / "here")
    with ch.use_var(here):
        ch.run_jobs(jobs)
    there = ch.copy_var(states.get("city"), tmp_path / "there")
    proc = subprocess.run([sys.executable, "-c", ch.CHILD, __import__("json").dumps(jobs)],
                          env=ch.child_env(there), cwd=ch.ROOT, capture_output=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    got, want = ch.files(there), ch.files(here)
    assert any(k.endswith("part-0.parquet") and "assessment_members" in k for k in want)
    ch.assert_same((got, {}), (want, {}), "a second process")


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _tree(var: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for root, dirs, names in os.walk(var):
        for n in names + dirs:
            p = Path(root) / n
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue
            out[str(p.relative_to(var))] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux")
def test_fk150_workers_die_with_the_killed_step_and_write_nothing_after(states, tmp_path):
    base = states.get("assessed")
    many = {"households_per_pdf": 3}  # many small files: the kill finds the workers rendering
    want = states.clean("assessed", [("FK150", ASSESS_DATE, {**many, "pdf_workers": 1})])
    assert len([f for f in want[0] if f.startswith("reports/notices/") and f.endswith(".pdf")]) >= 10

    var = ch.copy_var(base, tmp_path / "killed")
    proc = ch.start_child(var, [("FK150", ASSESS_DATE, {**many, "pdf_workers": 2})])
    notices = var / "reports" / "notices"
    workers: list[int] = []
    deadline = time.monotonic() + 120
    try:
        # wait until a worker is rendering (its private file is in the staging folder)
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if notices.is_dir() and any(p.name.startswith(".tax_notice_") for p in notices.rglob(".*.tmp-*")):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "FK150 ended before a worker rendered: " + proc.stderr.read().decode()[-2000:]
        workers = sorted(set(workers) | set(_children(proc.pid)))
        assert len(workers) >= 2, workers  # the pool's workers (spawn: the resource tracker is not a worker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # every worker is gone within a few seconds, and nothing changes after that
    until = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < until:
        time.sleep(0.02)
    assert not [w for w in workers if _alive(w)], "a worker outlived the step"
    before = _tree(var)
    time.sleep(1.5)
    assert _tree(var) == before
    assert not list(notices.glob("m*/tax_notice_*.pdf"))  # nothing delivered by the killed run

    with ch.use_var(var):
        r = ch.run_jobs([("FK150", ASSESS_DATE, {**many, "pdf_workers": 1})])[0]
    assert "KKB003I" in [m.msg_id for m in r.messages]  # its staging folder was swept
    ch.assert_same(ch.outcome(var), want, "FK150 rerun after the kill")


@pytest.mark.slow
def test_fk150_workers_do_not_run_the_parents_main_script(states, tmp_path):
    """A spawned worker imports only what it renders with, not the parent's ``__main__`` (a
    script without a ``__main__`` guard, an entry point such as ``airflow``): the script runs once."""
    var = ch.copy_var(states.get("assessed"), tmp_path / "var")
    script = tmp_path / "no_guard.py"
    script.write_text("import json, sys\nprint('main ran', flush=True)\n" + ch.CHILD, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), __import__("json").dumps([FK150])], env=ch.child_env(var),
                          cwd=ch.ROOT, capture_output=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    assert proc.stdout.decode().count("main ran") == 1
    assert ch.files(var) == states.clean("assessed", [FK150_HERE])[0]
