"""Benchmark: Zengin 預金口座振替 result-file intake (種別91, 120 bytes + CRLF).

Compares, in the same run and on the same file:
  - kokuho      : jobs.common.fixedwidth.read — full validation (framing, record types, group
                  structure, every field's type and charset, allowed values, trailer counts and
                  sums per group) and typed Polars frames;
  - DuckDB      : the query a user of this stack would write: the file as one VARCHAR column per
                  line (read_csv, latin-1 so a byte is a character), ``substr`` of every data field,
                  ``CAST`` of every numeric / digits field (BIGINT, HUGEINT over 18 digits), text
                  fields ``rtrim``med, materialised as a table (as the codec materialises its frames),
                  then count and amount sum; no validation beyond what CAST refuses;
  - Polars      : the same with ``pl.read_csv(encoding="cp932")`` and ``str.slice`` / ``cast``;
  - numpy floor : np.fromfile + a structured byte view, each field sliced into a contiguous
                  array and the amount converted to int64 — no validation, no strings;
  - pandas      : pandas.read_fwf with the same colspecs, all columns as str (its C parser is not
                  used for fixed width; measured on the first 1M records only, it is too slow
                  and too large in memory for 10M).

kokuho, DuckDB and Polars are also timed as WHOLE PROCESSES (``python -c``: interpreter start,
imports, library loading, the read, the result check), which is what a job step costs: the median
of --process-repeat runs, the three alternated in a rotating order, each child's peak RSS and CPU
time from its own rusage (the peak RSS: its VmHWM, which rusage would mix with this process's
RSS at fork). Every result (records, amount sum to the yen) is checked against the
numpy floor's before any time is reported.

    python bench/bench_zengin_intake.py [--sizes 1000000,10000000] [--repeat 3] [--process-repeat 5]
Prints a table (markdown) and writes var/bench/zengin_intake.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jobs.common import fixedwidth as fw  # noqa: E402

LAYOUT = fw.load_layout("zengin_91_result")
GROUP = 500_000  # records per header..trailer group (the trailer count holds 6 digits)


def make_file(path: Path, n: int) -> None:
    """A realistic result file of n data records in groups of GROUP, CRLF line ends."""
    rng = np.random.default_rng(20261126)
    m = min(n, 1_000_000)
    holders = np.array(["ﾔﾏﾀﾞ ﾀﾛｳ", "ｽｽﾞｷ ﾊﾅｺ", "ﾀﾅｶ ｲﾁﾛｳ", "(ｶ) ｻｲﾀﾏｼﾖｳｼﾞ", "ﾜﾀﾅﾍﾞ ｹﾝｼﾞ", "ｺﾊﾞﾔｼ ﾕｲ"])
    banks = np.array(["ﾐｽﾞﾎ", "ﾐﾂﾋﾞｼUFJ", "ﾐﾂｲｽﾐﾄﾓ", "ﾘｿﾅ", "ｻｲﾀﾏﾘｿﾅ", "ﾕｳﾁﾖ"])
    data = pl.DataFrame({
        "bank_code": pl.Series(rng.integers(1, 9999, m)).cast(pl.String).str.zfill(4),
        "bank_name": banks[rng.integers(0, len(banks), m)],
        "branch_code": pl.Series(rng.integers(1, 999, m)).cast(pl.String).str.zfill(3),
        "branch_name": [None] * m,
        "account_type": np.array(["1", "2"])[rng.integers(0, 2, m)],
        "account_number": pl.Series(rng.integers(0, 9_999_999, m)).cast(pl.String).str.zfill(7),
        "account_holder": holders[rng.integers(0, len(holders), m)],
        "amount": rng.integers(100, 300_000, m),
        "new_code": ["0"] * m,
        "customer_number": pl.Series(np.arange(m)).cast(pl.String).str.zfill(20),
        "result_code": np.array(list("0000000001234"))[rng.integers(0, 13, m)],
    })
    header = {"code_division": "0", "consignor_code": "1110070001", "consignor_name": "ｻｲﾀﾏｼ", "debit_date": "0630",
              "bank_code": "0001", "branch_code": "123"}
    tmp = path.with_suffix(".base")
    with fw.FileWriter(LAYOUT, tmp) as w:
        for k in range(0, m, GROUP):
            w.begin_group(header)
            w.write(data.slice(k, GROUP))
            w.end_group()
    base = tmp.read_bytes()
    body, end = base[:-122], base[-122:]
    with open(path, "wb") as out:
        for _ in range(n // m):
            out.write(body)
        out.write(end)
    tmp.unlink()


def run_kokuho(path: Path) -> int:
    res = fw.read(LAYOUT, path)
    assert res.totals["rejected"] == 0
    run_kokuho.amount = int(res.frames["data"]["amount"].sum())
    return res.frames["data"].height


DATA_FIELDS = [f for f in LAYOUT.data_type.fields if f.is_column]


def run_numpy_floor(path: Path) -> int:
    buf = np.fromfile(path, dtype=np.uint8)
    recs = buf.reshape(-1, 122)[:, :120]
    data = recs[recs[:, 0] == ord("2")]
    cols = {}
    for f in DATA_FIELDS:
        cols[f.name] = np.ascontiguousarray(data[:, f.offset:f.offset + f.length])
    amt = cols["amount"].astype(np.int64) - 48
    cols["amount"] = amt @ (10 ** np.arange(9, -1, -1, dtype=np.int64))
    run_numpy_floor.amount = int(cols["amount"].sum())
    return len(data)


def _sql_field(f) -> str:
    sub = f"substr(l, {f.offset + 1}, {f.length})"
    if f.type == "text":
        return f"rtrim({sub}) AS {f.name}"
    return f"CAST({sub} AS {'BIGINT' if f.length <= 18 else 'HUGEINT'}) AS {f.name}"


def _pl_field(f) -> str:
    sub = f"pl.col('l').str.slice({f.offset}, {f.length})"
    if f.type == "text":
        return f"{sub}.str.strip_chars_end(' ').alias('{f.name}')"
    return f"{sub}.cast({'pl.Int64' if f.length <= 18 else 'pl.Int128'}).alias('{f.name}')"


# Each child prints {"n": data records, "amount": their amount sum, "s": its own time from start to result}
CHILD = {
    "kokuho": """
import json, sys, time
t = time.perf_counter()
from jobs.common import fixedwidth as fw
res = fw.read(fw.load_layout("zengin_91_result"), sys.argv[1])
assert res.totals["rejected"] == 0, res.totals
d = res.frames["data"]
print(json.dumps({"n": d.height, "amount": int(d["amount"].sum()), "s": time.perf_counter() - t}))
""",
    "duckdb": """
import json, sys, time
t = time.perf_counter()
import duckdb
con = duckdb.connect()
con.execute("CREATE TABLE d AS SELECT %s FROM read_csv(?, columns = {'l': 'VARCHAR'}, header = false, "
            "delim = '\\x01', quote = '', escape = '', encoding = 'latin-1') WHERE substr(l, 1, 1) = '2'", [sys.argv[1]])
n, amount = con.sql("SELECT count(*), sum(amount) FROM d").fetchall()[0]
print(json.dumps({"n": n, "amount": int(amount), "s": time.perf_counter() - t}))
""",
    "polars": """
import json, sys, time
t = time.perf_counter()
import polars as pl
lines = pl.read_csv(sys.argv[1], has_header=False, separator="\\x01", quote_char=None, new_columns=["l"],
                    schema={"l": pl.String}, encoding="cp932")
d = lines.filter(pl.col("l").str.slice(0, 1) == "2").select(%s)
print(json.dumps({"n": d.height, "amount": int(d["amount"].sum()), "s": time.perf_counter() - t}))
""",
}


# The child's own peak RSS (VmHWM of its address space, which starts afresh at exec): the rusage of
# a child (wait4) counts the RSS the forking parent had at fork time, so a child smaller than this
# benchmark process (its numpy floor, its files) showed the parent's peak, not its own.
HWM = """
try:
    print(json.dumps({"hwm_mb": [int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")][0] / 1024}))
except (OSError, IndexError):
    pass
"""


def child_code(name: str) -> str:
    if name == "duckdb":
        return CHILD[name] % ", ".join(_sql_field(f) for f in DATA_FIELDS) + HWM
    if name == "polars":
        return CHILD[name] % ", ".join(_pl_field(f) for f in DATA_FIELDS) + HWM
    return CHILD[name] + HWM


def run_process(name: str, path: Path) -> dict:
    """One whole process: wall time (start to exit), its own peak RSS and CPU time (rusage)."""
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", child_code(name), str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{name} child failed ({p.returncode}):\n{err.decode(errors='replace')}")
    lines = [json.loads(x) for x in out.decode().strip().splitlines() if x.startswith("{")]
    res = next(x for x in lines if "n" in x)
    hwm = next((x["hwm_mb"] for x in lines if "hwm_mb" in x), None)
    res.update(wall=wall, cpu=ru.ru_utime + ru.ru_stime, rss_mb=hwm if hwm is not None else ru.ru_maxrss / 1024)
    return res


def whole_processes(path: Path, n: int, amount: int, repeat: int, names=("kokuho", "duckdb", "polars")) -> dict:
    """Median wall time of `repeat` runs of each, alternated (the order rotates every round);
    every run's records and amount sum are checked first."""
    runs: dict[str, list[dict]] = {k: [] for k in names}
    for r in range(repeat):
        for k in names[r % len(names):] + names[:r % len(names)]:
            res = run_process(k, path)
            if (res["n"], res["amount"]) != (n, amount):
                raise AssertionError(f"{k}: {res['n']} records, amount {res['amount']}; expected {n}, {amount}")
            runs[k].append(res)
    return {k: {"wall_s": round(statistics.median(x["wall"] for x in v), 3),
                "cpu_s": round(statistics.median(x["cpu"] for x in v), 3),
                "inproc_s": round(statistics.median(x["s"] for x in v), 3),
                "rss_mb": round(max(x["rss_mb"] for x in v), 1)} for k, v in runs.items()}


def run_pandas(path: Path, limit: int) -> int:
    import pandas as pd

    colspecs = [(f.offset, f.offset + f.length) for f in DATA_FIELDS]
    df = pd.read_fwf(path, colspecs=colspecs, names=[f.name for f in DATA_FIELDS], dtype=str, encoding="cp932",
                     header=None, nrows=limit)
    return int((df["data_kind"] == "2").sum())


def best_of(fn, repeat: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    best_of.cpu = float("inf")  # the CPU seconds (all threads) of the fastest-CPU run: honest on a loaded machine
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        n = fn()
        best = min(best, time.perf_counter() - t)
        best_of.cpu = min(best_of.cpu, time.process_time() - c)
    return best, n


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    from jobs.common.paths import private_umask

    private_umask()  # var/bench (synthetic persons, results) is for the owner only, as all of var/
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pandas-records", type=int, default=1_000_000)
    ap.add_argument("--process-repeat", type=int, default=5, help="whole-process runs of each reader (median)")
    ap.add_argument("--process-records", type=int, default=1_000_000,
                    help="sizes up to this are also timed as whole processes (kokuho, DuckDB, Polars)")
    ap.add_argument("--workdir", default=str(ROOT / "var" / "bench"))
    a = ap.parse_args(argv)
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    # load the compiled scan once (native.py: built by make install) so in-process runs compare like for like
    fw.read(LAYOUT, ROOT / "fixtures" / "zengin_91_result" / "result_multi_crlf.dat")
    rows = []
    pandas_rate = None
    for n in [int(x) for x in a.sizes.split(",")]:
        path = work / f"zengin_result_{n}.dat"
        if not path.exists() or path.stat().st_size != (n + 2 * (n // GROUP) + 1) * 122:
            make_file(path, n)
        size_mb = path.stat().st_size / 1e6
        t_np, got_np = best_of(lambda: run_numpy_floor(path), a.repeat)
        assert got_np == n
        amount = run_numpy_floor.amount
        procs = whole_processes(path, n, amount, a.process_repeat) if n <= a.process_records else None
        t_k, got = best_of(lambda: run_kokuho(path), a.repeat)
        cpu_k = best_of.cpu
        assert (got, run_kokuho.amount) == (n, amount), (got, run_kokuho.amount)
        if pandas_rate is None:
            lim = min(n, a.pandas_records)
            t_pd, _ = best_of(lambda: run_pandas(path, lim + 2 * (lim // GROUP) + 1), 1)
            pandas_rate = lim / t_pd
            pandas_note = f"measured on {lim:,} records"
        rows.append({
            "records": n, "file_mb": round(size_mb, 1),
            "kokuho_s": round(t_k, 3), "kokuho_rps": round(n / t_k),
            "numpy_floor_s": round(t_np, 3), "numpy_rps": round(n / t_np),
            "pandas_rps": round(pandas_rate), "pandas_note": pandas_note,
            "x_pandas": round((n / t_k) / pandas_rate, 1), "x_of_floor": round(t_k / t_np, 2),
            "amount": amount, "process": procs, "kokuho_cpu_s": round(cpu_k, 3),
        })
        if n > a.pandas_records:
            rows[-1]["pandas_note"] = f"rate measured on the first {a.pandas_records:,} records"
    info = {"python": platform.python_version(), "cpus": os.cpu_count(), "numpy": np.__version__, "polars": pl.__version__,
            "peak_rss_mb": round(peak_rss_mb())}
    print(f"\nZengin 91 result-file intake (120 B + CRLF, groups of {GROUP:,}); best of {a.repeat}; {info}\n")
    print("| records | file MB | kokuho read (full validation) | CPU s | records/s | numpy floor | pandas.read_fwf | × pandas | time ÷ numpy floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['records']:,} | {r['file_mb']} | {r['kokuho_s']} s | {r['kokuho_cpu_s']} | {r['kokuho_rps']:,} | {r['numpy_floor_s']} s ({r['numpy_rps']:,}/s) "
              f"| {r['pandas_rps']:,}/s ({r['pandas_note']}) | {r['x_pandas']}× | {r['x_of_floor']}× |")
    load = os.getloadavg()[0]
    print(f"\nWhole processes (python -c: start, imports, read, check; median of {a.process_repeat}, alternated; "
          f"load {load:.1f} on {os.cpu_count()} CPUs)\n")
    print("| records | reader | wall s | CPU s | in-process s | peak RSS MB | wall ÷ DuckDB | RSS ÷ DuckDB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if not r["process"]:
            continue
        d = r["process"]["duckdb"]
        for k, label in (("kokuho", "kokuho fw.read (full validation)"), ("duckdb", "DuckDB substr + CAST"),
                         ("polars", "Polars str.slice + cast")):
            x = r["process"][k]
            print(f"| {r['records']:,} | {label} | {x['wall_s']} | {x['cpu_s']} | {x['inproc_s']} | {x['rss_mb']} | "
                  f"{x['wall_s'] / d['wall_s']:.2f} | {x['rss_mb'] / d['rss_mb']:.2f} |")
    (work / "zengin_intake.json").write_text(json.dumps({"rows": rows, "info": info}, indent=2))
    from bench import _report  # the machine-readable result bench/summary.py reads

    res = []
    for r in rows:
        case = f"{r['records']:,} records"
        if r["process"]:
            k, d, p = r["process"]["kokuho"], r["process"]["duckdb"], r["process"]["polars"]
            ratio = round(k["wall_s"] / d["wall_s"], 2)
            note = (f"whole processes, median of {a.process_repeat} alternated; CPU s kokuho {k['cpu_s']}, DuckDB "
                    f"{d['cpu_s']}; DuckDB peak RSS {d['rss_mb']} MB")
            res.append(_report.result(case, "kokuho read, whole process", k["wall_s"], "s",
                                      peer="DuckDB substr + CAST (whole process)", peer_value=d["wall_s"], ratio=ratio,
                                      ratio_means="× DuckDB's time", peak_rss_mb=k["rss_mb"],
                                      goal="≤ 1.0× DuckDB, peak RSS ≤ 2× DuckDB's",
                                      met=ratio <= 1.0 and k["rss_mb"] <= 2 * d["rss_mb"], note=note))
            res.append(_report.result(case, "kokuho read, whole process", k["wall_s"], "s",
                                      peer="Polars str.slice (whole process)", peer_value=p["wall_s"],
                                      ratio=round(k["wall_s"] / p["wall_s"], 2), ratio_means="× Polars' time",
                                      peak_rss_mb=k["rss_mb"],
                                      note=f"CPU s kokuho {k['cpu_s']}, Polars {p['cpu_s']}; Polars peak RSS {p['rss_mb']} MB"))
        res.append(_report.result(case, "kokuho read (full validation)", r["kokuho_s"], "s", peer="numpy floor",
                                  peer_value=r["numpy_floor_s"], ratio=r["x_of_floor"], ratio_means="× the floor's time",
                                  peak_rss_mb=info["peak_rss_mb"], goal="≤ 3× the floor", met=r["x_of_floor"] <= 3,
                                  note="peak RSS: the one process over all sizes, in-process timings"))
        res.append(_report.result(case, "kokuho read", r["kokuho_rps"], "records/s", peer="pandas.read_fwf",
                                  peer_value=r["pandas_rps"], ratio=r["x_pandas"], ratio_means="× pandas' rate",
                                  peak_rss_mb=info["peak_rss_mb"], goal="≥ 3M records/s", met=r["kokuho_rps"] >= 3_000_000,
                                  note=f"{r['pandas_note']}; kokuho CPU {r['kokuho_cpu_s']} s (all threads)"))
    _report.emit("zengin_intake", res, argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
