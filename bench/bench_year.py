"""A fiscal year through the REAL scheduler (issue 12): the wall time of ``make demo-year`` at a size.

    python bench/bench_year.py [--insured 2000] [--until 2026-09-10] [--seed 20261206]

Runs the year driver (``python -m jobs.demo_year``: a real Airflow on free ports, the year plan walked
through its REST API with the counterparty simulators) at ``--insured``, up to ``--until`` (empty: the
whole year to the 出納閉鎖), and reads its ``year_report.json``. Correctness first: every run success and
the money conservation to the yen, else no time is reported (exit 1). Then per job-net run: its wall time
from trigger to end beside the peer, the job steps' own time in the same runs (their task durations: what
the work costs without Airflow's scheduling, task start-up and waits); the ratio is the Airflow overhead
factor. The issue's goal (300,000 insured, the whole year ≤ 30 min on 2 cores) is not run here: the
figures say how the year's wall time splits into a per-run part (independent of the size) and the
steps' part (which grows with it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from jobs.common.paths import private_umask

    private_umask()  # the year's var/ (synthetic persons, the ledger) is for the owner only, like all of var/
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--insured", type=int, default=2000)
    p.add_argument("--until", default="2026-09-10", help="last business date (empty: the whole year)")
    p.add_argument("--seed", type=int, default=20261206)
    p.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "year-run")
    a = p.parse_args(argv)
    cmd = [sys.executable, "-m", "jobs.demo_year", "--insured", str(a.insured), "--seed", str(a.seed),
           "--out", str(a.out)] + (["--until", a.until] if a.until else [])
    t0 = time.monotonic()
    rc = subprocess.run(cmd, cwd=ROOT).returncode
    wall = time.monotonic() - t0
    report = json.loads((a.out / "year_report.json").read_text(encoding="utf-8"))
    runs = report["runs"]
    if rc != 0 or not report["ok"] or not report["figures"]["conservation"]["holds"]:
        print(f"bench_year: the year did not end correctly (rc {rc}): no time reported", file=sys.stderr)
        return 1
    meta = report["meta"]
    n = len(runs)
    run_s = sum(r["seconds"] for r in runs)
    step_s = sum(r.get("step_seconds", 0.0) for r in runs)
    print(f"\n{'job net':<8} {'runs':>5} {'wall s/run':>11} {'steps s/run':>12}")
    for j in sorted({r["jobnet_id"] for r in runs}):
        mine = [r for r in runs if r["jobnet_id"] == j]
        print(f"{j:<8} {len(mine):>5} {sum(r['seconds'] for r in mine) / len(mine):>11.1f} "
              f"{sum(r.get('step_seconds', 0.0) for r in mine) / len(mine):>12.1f}")
    span = f"{meta['first_day']}–{meta['last_day']}"
    case = f"{a.insured:,} insured, {n} runs {span}"
    _report.emit("year", [
        _report.result(case, "wall per job-net run (trigger → end, REST)", round(run_s / n, 1), "s",
                       peer="the steps' own task time per run", peer_value=round(step_s / n, 1),
                       ratio=round(run_s / step_s, 1) if step_s else None,
                       ratio_means="× the steps' own time (Airflow overhead factor)"),
        _report.result(case, "whole driver wall (Airflow start, synth, runs, report)", round(wall), "s",
                       note=f"Airflow start {meta['start_seconds']:.0f} s, runs {meta['runs_seconds']:.0f} s; "
                            f"load {meta['load']}",
                       goal="300,000 insured, whole year ≤ 1,800 s (not run)"),
    ], argv=sys.argv[1:] if argv is None else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
