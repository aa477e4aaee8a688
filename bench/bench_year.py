"""A fiscal year through the REAL scheduler (issue 12): the wall time of ``make demo-year`` at a size, and
what it extrapolates to for a 300,000-insured city.

    python bench/bench_year.py [--insured 2000] [--until first-debit] [--fiscal-year 2025]
    python bench/bench_year.py --report var/demo-year/year_report.json          # make demo-year's year
    python bench/bench_year.py --report YEAR.json --big-report BIG.json         # + a measured 300k part

Runs the year driver (``python -m jobs.demo_year``: a real Airflow on free ports, the year plan walked
through its REST API with the counterparty simulators) at ``--insured``, up to ``--until`` (a date,
``first-debit`` = the fiscal year's first 口座振替 request day, or empty: the whole year to the 出納閉鎖),
and reads its ``year_report.json`` — or reads an existing report (``--report``, e.g. the whole year of
``make demo-year``) without running. Correctness first: every run success and the money conservation to
the yen, else no time is reported (exit 1).

Figures (var/bench/year.jsonl for the whole year at ``--at`` insured, else var/bench/year_sample.jsonl: two
benchmarks in the README's generated table, so ``make bench``'s quick sample never replaces the measured year):
- per job-net run: its wall time from trigger to end beside the job steps' own time in the same runs
  (their task durations); the ratio is the Airflow overhead factor;
- the whole driver's wall (Airflow start, synth, runs, report);
- with ``--big-report`` (a report of a run at ``--at`` insured, e.g. the first months of a 300,000-insured
  city): its measured wall, steps' time and its slowest tasks;
- an EXTRAPOLATION (not a measurement) of the whole year at ``--at`` insured: the year's runs (the
  report's, or the plan's when the report is not a whole year) × the measured per-run overhead (wall − the
  steps' own time: independent of the size), plus each job net's runs × its step time per run — measured
  at ``--at`` when ``--big-report`` has that job net, else the measured one scaled by the step-time growth
  of the job nets measured at both sizes (without a big report: linearly by ``--at / --insured``, an upper
  bound: a step's fixed start-up is scaled too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _report  # noqa: E402

MUNI = "111007"


def _year_plan(fy: int, intake: dt.date):
    from jobs.demo_year import driver
    from jobs.demo_year import plan as planmod

    days = planmod.year_plan(fy, municipality=MUNI, intake_date=intake)
    days, _cut = driver._cut_at_late_fee_rates(days, MUNI, fy)
    return days


def _ok(report: dict) -> bool:
    """Every run success and the conservation to the yen (a year stopped by its --time-budget at a day's end
    counts: its figures are the ledger's at that day)."""
    return (all(r["ok"] for r in report["runs"]) and bool(report.get("figures"))
            and report["figures"]["conservation"]["holds"]
            and (bool(report.get("ok")) or bool(report["meta"].get("stopped_before"))))


def _per_net(runs: list[dict]) -> dict[str, tuple[int, float, float]]:
    """{job net: (runs, wall s per run, steps' own s per run)}"""
    out = {}
    for j in sorted({r["jobnet_id"] for r in runs}):
        mine = [r for r in runs if r["jobnet_id"] == j]
        out[j] = (len(mine), sum(r["seconds"] for r in mine) / len(mine),
                  sum(r.get("step_seconds", 0.0) for r in mine) / len(mine))
    return out


def _slowest_tasks(runs: list[dict], n: int = 4) -> str:
    tasks: dict[str, float] = {}
    for r in runs:
        for t, s in r.get("task_seconds", {}).items():
            tasks[t.upper()] = tasks.get(t.upper(), 0.0) + s
    return ", ".join(f"{t} {s:,.0f} s" for t, s in sorted(tasks.items(), key=lambda kv: -kv[1])[:n])


def _unfinished(run: dict) -> str:
    """The tasks of a run that did not end success/skipped, with their time so far."""
    return ", ".join(f"{t.upper()} {run['task_states'][t]} {run.get('task_seconds', {}).get(t, 0):,.0f} s"
                     for t in run["task_states"] if run["task_states"][t] not in ("success", "skipped"))


def extrapolate(report: dict, year_counts: dict[str, int], at: int, big: dict | None) -> dict:
    """The whole year at ``at`` insured from a measured ``report`` (see the module doc). Pure."""
    runs = report["runs"]
    insured = report["meta"]["insured"]
    overhead = sum(r["seconds"] - r.get("step_seconds", 0.0) for r in runs) / len(runs)
    small = _per_net(runs)
    large = _per_net([r for r in big["runs"] if r["ok"]]) if big else {}
    both = [j for j in large if j in small and small[j][2] > 0]
    # the step-time growth measured on the job nets run at both sizes; else linear in the size (an upper bound)
    factor = (sum(large[j][2] for j in both) / sum(small[j][2] for j in both)) if both else at / insured
    steps, measured_nets, scaled_nets = 0.0, [], []
    for j, n in year_counts.items():
        if j in large:
            steps += n * large[j][2]
            measured_nets.append(j)
        elif j in small:
            steps += n * small[j][2] * factor
            scaled_nets.append(j)
    total_runs = sum(year_counts.values())
    return {"runs": total_runs, "overhead_per_run": overhead, "overhead": total_runs * overhead, "steps": steps,
            "total": total_runs * overhead + steps, "measured_nets": measured_nets, "scaled_nets": scaled_nets,
            "factor": factor, "factor_from": both}


def main(argv: list[str] | None = None) -> int:
    from jobs.common.paths import private_umask

    private_umask()  # the year's var/ (synthetic persons, the ledger) is for the owner only, like all of var/
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--insured", type=int, default=2000)
    p.add_argument("--fiscal-year", type=int, default=None, help="default: make demo-year's (the latest covered)")
    p.add_argument("--until", default="first-debit",
                   help="last business date, 'first-debit' (the first 口座振替 request day) or empty: the whole year")
    p.add_argument("--seed", type=int, default=20261206)
    p.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "year-run")
    p.add_argument("--report", type=Path, default=None, help="read this year_report.json instead of running")
    p.add_argument("--big-report", type=Path, default=None, help="a measured report at --at insured (its job nets' "
                                                                 "step times replace the linear estimate)")
    p.add_argument("--run-timeout", type=float, default=1800, help="seconds a job-net run may take")
    p.add_argument("--at", type=int, default=300_000, help="the city size the extrapolation is for")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds: start no new day after that long (make demo-year's); the rows then say which "
                        "days were measured")
    a = p.parse_args(argv)
    wall = None
    if a.report is None:
        from jobs.demo_year import driver

        ns = argparse.Namespace(fy=a.fiscal_year, intake_date=None, municipality=MUNI)
        driver.choose_year(ns)
        until = a.until
        if until == "first-debit":
            until = next(d.date for d in _year_plan(ns.fy, ns.intake_date) if "KB410" in d.nets).isoformat()
        cmd = [sys.executable, "-m", "jobs.demo_year", "--insured", str(a.insured), "--seed", str(a.seed),
               "--fiscal-year", str(ns.fy), "--out", str(a.out), "--run-timeout", str(a.run_timeout)] + (["--until", until] if until else []) \
            + (["--time-budget", str(a.time_budget)] if a.time_budget else [])
        print("==>", " ".join(cmd[1:]), flush=True)
        t0 = time.monotonic()
        rc = subprocess.run(cmd, cwd=ROOT).returncode
        wall = time.monotonic() - t0
        report = json.loads((a.out / "year_report.json").read_text(encoding="utf-8"))
        if rc != 0 and not report["meta"].get("stopped_before"):
            report["ok"] = False
    else:
        report = json.loads(a.report.read_text(encoding="utf-8"))
    big = json.loads(a.big_report.read_text(encoding="utf-8")) if a.big_report else None
    if not _ok(report) or (big is not None and not any(r["ok"] for r in big["runs"])):
        print("bench_year: the year did not end correctly: no time reported", file=sys.stderr)
        return 1
    meta = report["meta"]
    runs = report["runs"]
    wall = wall if wall is not None else meta["wall_seconds"]
    n = len(runs)
    run_s = sum(r["seconds"] for r in runs)
    step_s = sum(r.get("step_seconds", 0.0) for r in runs)
    print(f"\n{'job net':<8} {'runs':>5} {'wall s/run':>11} {'steps s/run':>12}")
    for j, (k, w, s) in _per_net(runs).items():
        print(f"{j:<8} {k:>5} {w:>11.1f} {s:>12.1f}")
    fy = int(meta["fy"])
    plan = _year_plan(fy, dt.date.fromisoformat(meta["first_day"]))
    whole = meta["last_day"] >= plan[-1].date.isoformat()
    if whole:
        counts: dict[str, int] = {}
        for r in runs:
            counts[r["jobnet_id"]] = counts.get(r["jobnet_id"], 0) + 1
    else:
        from jobs.demo_year import plan as planmod

        counts = planmod.counts(plan)
    span = f"FY{fy} {meta['first_day']}–{meta['last_day']}"
    case = f"{meta['insured']:,} insured, {n} runs {span}" + (" (whole year)" if whole else "")
    results = [
        _report.result(case, "wall per job-net run (trigger → end, REST)", round(run_s / n, 1), "s",
                       peer="the steps' own task time per run", peer_value=round(step_s / n, 1),
                       ratio=round(run_s / step_s, 1) if step_s else None,
                       ratio_means="× the steps' own time (Airflow overhead factor)"),
        _report.result(case, "whole driver wall (Airflow start, synth, runs, report)", round(wall), "s",
                       note=f"Airflow start {meta['start_seconds']:.0f} s, synth {meta['synth_seconds']:.0f} s, "
                            f"runs {meta['runs_seconds']:.0f} s (of which the job-net runs {run_s:,.0f} s, their "
                            f"steps {step_s:,.0f} s; the counterparty simulators and the driver between runs "
                            f"{meta['runs_seconds'] - run_s:,.0f} s); load {meta['load']}"
                            + (f"; from {a.report.name}" if a.report else ""),
                       goal="300,000 insured, whole year ≤ 1,800 s (issue 12)" if meta["insured"] >= a.at else None,
                       met=(wall <= 1800) if (whole and meta["insured"] >= a.at) else None),
    ]
    if big is not None:
        bm = big["meta"]
        bruns = big["runs"]
        bn = len(bruns)
        bstep = sum(r.get("step_seconds", 0.0) for r in bruns)
        results.append(_report.result(
            f"{bm['insured']:,} insured, {bn} runs FY{bm['fy']} {bm['first_day']}–{bm['last_day']} (measured part)",
            "wall of the runs (trigger → end, REST)", round(sum(r["seconds"] for r in bruns)), "s",
            peer="the steps' own task time", peer_value=round(bstep),
            ratio=round(sum(r["seconds"] for r in bruns) / bstep, 2) if bstep else None,
            ratio_means="× the steps' own time",
            note="per run: " + ", ".join(f"{r['jobnet_id']} {r['seconds']:,.0f} s"
                                         + ("" if r["ok"] else f" ({r['state']}: tasks {_unfinished(r)})")
                                         for r in bruns)
                 + f"; slowest tasks: {_slowest_tasks(bruns)}; driver wall {bm['wall_seconds']:,.0f} s "
                   f"(synth {bm['synth_seconds']:,.0f} s); load {bm['load']}"))
    if a.at > meta["insured"]:
        x = extrapolate(report, counts, a.at, big)
        parts = (f"{x['runs']} runs × {x['overhead_per_run']:.1f} s measured overhead = {x['overhead']:,.0f} s; "
                 f"steps {x['steps']:,.0f} s")
        if x["measured_nets"]:
            parts += f" (measured at {a.at:,}: {', '.join(x['measured_nets'])}"
        if x["scaled_nets"]:
            how = (f"the step-time growth {', '.join(x['factor_from'])} measured from {meta['insured']:,} to {a.at:,}"
                   if x["factor_from"] else "linear in the size, an upper bound")
            parts += ("; " if x["measured_nets"] else " (") + f"scaled ×{x['factor']:,.1f} from " \
                     f"{meta['insured']:,} ({how}): {', '.join(x['scaled_nets'])}"
        parts += ")"
        results.append(_report.result(
            f"{a.at:,} insured, whole year FY{fy} (EXTRAPOLATION, not measured)",
            "extrapolated whole-year wall", round(x["total"]), "s", goal="≤ 1,800 s (issue 12)", note=parts))
        print(f"\nEXTRAPOLATION to {a.at:,} insured (not measured): {x['total']:,.0f} s = {parts}")
    for r in results:   # this process only reads a report or waits: its RSS is not the year's (nor measured)
        r["peak_rss_mb"] = "not measured"
    # "year" is the measure (the whole year at the --at size); anything smaller or shorter is a sample
    # (make bench's quick run), its own benchmark, so that it never replaces the measured year's rows
    name = "year" if whole and meta["insured"] >= a.at else "year_sample"
    _report.emit(name, results, argv=sys.argv[1:] if argv is None else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
