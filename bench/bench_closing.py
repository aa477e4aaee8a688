"""Benchmark: 月次締め (TN510's computation, ``jobs.arrears.closing.compute`` with sql/closing/*) over
a large DuckDB ledger. Goal (issue 11): 10M installments ≤ 60 s.

    python bench/bench_closing.py [--installments 1000000 2000000] [--payments-ratio 0.5]

For each size, in fresh child processes (each its own peak RSS) on a fresh DuckDB file:

1. setup — the 消込 benchmark's own ledger builder (bench/bench_collection.py ``--child setup``:
   当初 調定 of households × 4 期別 via ``levy.register``) and its payment posting
   (``--child post``: ``reconcile.post_payments`` of installments × ratio payments received in
   July–August 2026, with that benchmark's checks). Timed, reported, not the goal.
2. closing — ``closing.compute`` for the month 2026-07 (調定 as of four dates from 調定履歴, 収入・
   還付 from 納付履歴, 不納欠損, the 期別 stock, the book by 年度区分 × component and the money
   conservation), what TN510 does before it locks the month.
3. baseline (same run, same file) — a plain DuckDB SUM query (sql/bench/closing_sums.sql) of the
   same whole-ledger figures (Σ調定 of 期別, Σ収入, Σ還付, Σ不納欠損, Σ収入未済 from the 期別 stock;
   and the month's 収入).

The builder writes no 還付 and no 不納欠損 (Σ0 both; the queries still run over those rows/tables).

Checks before a time is reported: the closing's conservation figures and the month's 収入 equal the
plain SUMs to the yen, and Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済 (stock); exit 1 otherwise.

Prints a markdown table and writes var/bench/closing.json. Timings only: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MUNICIPALITY = "111007"
MONTH = dt.date(2026, 7, 1)
COLLECTION = ROOT / "bench" / "bench_collection.py"



def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _log(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def child_closing(url: str) -> dict:
    from jobs.arrears import closing
    from jobs.common import config
    from jobs.common.bizcal import BusinessCalendar
    from jobs.ledger import Ledger

    cal = BusinessCalendar.from_config(config.load(MUNICIPALITY, 2026))
    period = closing.period_of(MONTH, cal)
    ledger = Ledger.open(url, migrate=False)
    w0, c0 = time.perf_counter(), time.process_time()
    fig = closing.compute(ledger, MUNICIPALITY, period)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    peak = _rss_mb()
    _log(f"closing.compute in {wall:.1f} s")
    t = time.perf_counter()
    row = ledger.query("bench/closing_sums", {"m": MUNICIPALITY, "d_lo": period.month_start,
                                              "d_hi": period.month_end}).row(0)
    base_s = time.perf_counter() - t
    ledger.dispose()
    base = dict(zip(("levy", "income", "refund", "write_off", "stock", "income_month"), (int(v or 0) for v in row)))
    c = fig.conservation
    got = {k: int(c[k]) for k in ("levy", "income", "refund", "write_off", "stock")}
    got["income_month"] = fig.total("income_month")
    checks = {f"{k} equal": got[k] == base[k] for k in base}
    checks["conservation (lhs = stock)"] = int(c["lhs"]) == int(c["stock"])
    return {"closing_s": wall, "closing_cpu_s": cpu, "baseline_s": base_s, "figures": got, "baseline": base,
            "checks": checks, "peak_rss_mb": peak, "unpaid": int(c["unpaid"]), "overpaid": int(c["overpaid"])}


def _child(script: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(script), "--child", *args], stdout=subprocess.PIPE, text=True,
                          check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_size(n_inst: int, n_pay: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-closing-") as tmp:
        path = Path(tmp) / "ledger.duckdb"
        url = f"duckdb:///{path}"
        _log(f"setup {n_inst:,} installments (bench_collection setup) …")
        setup = _child(COLLECTION, "setup", url, str(n_inst))
        _log(f"post {n_pay:,} payments (bench_collection post) …")
        post = _child(COLLECTION, "post", url, str(n_inst), str(n_pay), "")
        _log("closing …")
        res = _child(Path(__file__).resolve(), "closing", url)
        res.update(installments=n_inst, payments=n_pay, setup_s=setup["register_s"], post_s=post["wall_s"],
                   setup_ok=bool(setup["ok"]) and all(post["checks"].values()),
                   ledger_mb=path.stat().st_size / 2**20)
        return res


def main(argv: list[str] | None = None) -> int:
    from jobs.common.paths import private_umask

    private_umask()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--installments", type=int, nargs="+", default=[1_000_000, 2_000_000])
    p.add_argument("--payments-ratio", type=float, default=0.5, help="payments posted per installment")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child_closing(a.child[1]), default=str))
        return 0
    import duckdb
    import polars as pl

    info = {"machine": f"{platform.machine()} {platform.system()}", "cpus": os.cpu_count(),
            "python": platform.python_version(), "polars": pl.__version__, "duckdb": duckdb.__version__}
    results = [run_size(n, int(n * a.payments_ratio)) for n in a.installments]
    lines = [f"## 月次締め (closing.compute, month {MONTH:%Y-%m}) over a DuckDB ledger", "",
             f"Machine: {info['machine']}, {info['cpus']} cores, Python {info['python']}, Polars {info['polars']}, "
             f"DuckDB {info['duckdb']}.", "",
             "| installments | payments | ledger MB | setup s (register + post, not timed goal) | closing.compute s "
             "| CPU s | plain SUM baseline s | closing / baseline | peak RSS MB (closing child) | figures = baseline |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        ok = all(r["checks"].values()) and r["setup_ok"]
        lines.append(f"| {r['installments']:,} | {r['payments']:,} | {r['ledger_mb']:,.0f} | "
                     f"{r['setup_s']:.1f} + {r['post_s']:.1f} | {r['closing_s']:.2f} | {r['closing_cpu_s']:.2f} | "
                     f"{r['baseline_s']:.3f} | {r['closing_s'] / r['baseline_s']:.1f}× | {r['peak_rss_mb']:,.0f} | "
                     f"{'yes, to the yen' if ok else 'NO'} |")
    lines.append("")
    for r in results:
        f = r["figures"]
        lines.append(f"- {r['installments']:,}: Σ調定 {f['levy']:,}, Σ収入 {f['income']:,}, Σ還付 {f['refund']:,}, "
                     f"Σ不納欠損 {f['write_off']:,}, Σ収入未済 (stock) {f['stock']:,}, 当月収入 {f['income_month']:,} yen; "
                     "checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in r["checks"].items()))
    if len(results) >= 2:
        a0, a1 = results[-2], results[-1]
        per = (a1["closing_s"] - a0["closing_s"]) / (a1["installments"] - a0["installments"])
        est = a1["closing_s"] + per * (10_000_000 - a1["installments"])
        if per > 0:
            lines.append(f"- 10M installments NOT measured here; linear extrapolation from the last two sizes: "
                         f"~{est:.0f} s (goal ≤ 60 s) — an estimate, not a measurement.")
        else:
            lines.append("- 10M installments NOT measured here; the sizes are too small to extrapolate.")
    print("\n".join(lines))
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "closing.json").write_text(json.dumps({"info": info, "results": results}, indent=2, default=str),
                                      encoding="utf-8")
    from bench import _report  # the machine-readable result bench/summary.py reads

    _report.emit("closing", [
        _report.result(f"{r['installments']:,} installments", "`closing.compute`", round(r["closing_s"], 2), "s",
                       peer="plain DuckDB SUM", peer_value=round(r["baseline_s"], 3),
                       ratio=round(r["closing_s"] / r["baseline_s"], 1), ratio_means="× the SUM's time",
                       peak_rss_mb=round(r["peak_rss_mb"]), goal="≤ 60 s at 10M",
                       met=(r["closing_s"] <= 60) if r["installments"] >= 10_000_000 else None,
                       note="figures = SUM" if all(r["checks"].values()) and r["setup_ok"] else "FIGURES DIFFER")
        for r in results], argv=argv)
    return 0 if all(all(r["checks"].values()) and r["setup_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
