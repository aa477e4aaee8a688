"""Benchmark: Zengin 預金口座振替 result-file intake (種別91, 120 bytes + CRLF).

Compares, in the same run and on the same file:
  - kokuho      : jobs.common.fixedwidth.read — full validation (framing, record types, group
                  structure, every field's type and charset, allowed values, trailer counts and
                  sums per group) and typed Polars frames;
  - numpy floor : np.fromfile + a structured byte view, each field sliced into a contiguous
                  array and the amount converted to int64 — no validation, no strings;
  - pandas      : pandas.read_fwf with the same colspecs, all columns as str (its C parser is not
                  used for fixed width; measured on the first 1M records only, it is too slow
                  and too large in memory for 10M).

    python bench/bench_zengin_intake.py [--sizes 1000000,10000000] [--repeat 3]
Prints a table (markdown) and writes var/bench/zengin_intake.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
    return len(data)


def run_pandas(path: Path, limit: int) -> int:
    import pandas as pd

    colspecs = [(f.offset, f.offset + f.length) for f in DATA_FIELDS]
    df = pd.read_fwf(path, colspecs=colspecs, names=[f.name for f in DATA_FIELDS], dtype=str, encoding="cp932",
                     header=None, nrows=limit)
    return int((df["data_kind"] == "2").sum())


def best_of(fn, repeat: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t)
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
    ap.add_argument("--workdir", default=str(ROOT / "var" / "bench"))
    a = ap.parse_args(argv)
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    # warm the compiled scan once (numba compiles or loads its cache) so runs compare like for like
    fw.read(LAYOUT, ROOT / "fixtures" / "zengin_91_result" / "result_multi_crlf.dat")
    rows = []
    pandas_rate = None
    for n in [int(x) for x in a.sizes.split(",")]:
        path = work / f"zengin_result_{n}.dat"
        if not path.exists() or path.stat().st_size != (n + 2 * (n // GROUP) + 1) * 122:
            make_file(path, n)
        size_mb = path.stat().st_size / 1e6
        t_k, got = best_of(lambda: run_kokuho(path), a.repeat)
        assert got == n
        t_np, got_np = best_of(lambda: run_numpy_floor(path), a.repeat)
        assert got_np == n
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
        })
        if n > a.pandas_records:
            rows[-1]["pandas_note"] = f"rate measured on the first {a.pandas_records:,} records"
    info = {"python": platform.python_version(), "cpus": os.cpu_count(), "numpy": np.__version__, "polars": pl.__version__,
            "peak_rss_mb": round(peak_rss_mb())}
    print(f"\nZengin 91 result-file intake (120 B + CRLF, groups of {GROUP:,}); best of {a.repeat}; {info}\n")
    print("| records | file MB | kokuho read (full validation) | records/s | numpy floor | pandas.read_fwf | × pandas | time ÷ numpy floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['records']:,} | {r['file_mb']} | {r['kokuho_s']} s | {r['kokuho_rps']:,} | {r['numpy_floor_s']} s ({r['numpy_rps']:,}/s) "
              f"| {r['pandas_rps']:,}/s ({r['pandas_note']}) | {r['x_pandas']}× | {r['x_of_floor']}× |")
    (work / "zengin_intake.json").write_text(json.dumps({"rows": rows, "info": info}, indent=2))
    from bench import _report  # the machine-readable result bench/summary.py reads

    res = []
    for r in rows:
        case = f"{r['records']:,} records"
        res.append(_report.result(case, "kokuho read (full validation)", r["kokuho_s"], "s", peer="numpy floor",
                                  peer_value=r["numpy_floor_s"], ratio=r["x_of_floor"], ratio_means="× the floor's time",
                                  peak_rss_mb=info["peak_rss_mb"], goal="≤ 3× the floor", met=r["x_of_floor"] <= 3,
                                  note="peak RSS: the one process over all sizes, in-process timings"))
        res.append(_report.result(case, "kokuho read", r["kokuho_rps"], "records/s", peer="pandas.read_fwf",
                                  peer_value=r["pandas_rps"], ratio=r["x_pandas"], ratio_means="× pandas' rate",
                                  peak_rss_mb=info["peak_rss_mb"], goal="≥ 3M records/s", met=r["kokuho_rps"] >= 3_000_000,
                                  note=r["pandas_note"]))
    _report.emit("zengin_intake", res, argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
