"""Benchmark: the notices (reports/) — PDF pages per second per core and print-data notices per
second, on sample frames in the assessment engine's shape (tests/reports/sample_data.py).

  - PDF: ``reports.notices.render_pdf`` of N households (納税通知書, 特別徴収開始通知書, 納付書 with
    GS1-128), one process; pages ÷ CPU seconds of the process = pages/s per core (reportlab is
    single-threaded). Also per document kind.
  - print data: ``print_data.notice_frame`` (join, 期別 spread, vectorized GS1-128) and
    ``print_data.write_frame`` (the fixed-width codec, cp932, atomic) of M notices. Polars uses
    every core for the frame; the codec's encoding is numpy on one core.

    python bench/bench_notices.py [--households 2000] [--print-notices 200000] [--repeat 3]

Goals (issue 3): ≥ 300 PDF pages/s per core, ≥ 100,000 print-data notices/s. Prints a markdown
table and writes var/bench/notices.json. Timings only: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "reports"))  # sample_data: test and benchmark data, not shipped

from sample_data import sample_frames  # noqa: E402

from jobs.common import config  # noqa: E402
from reports import notices, print_data  # noqa: E402

ISSUE_DATE = dt.date(2026, 6, 15)


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def best(fn, repeat: int):
    runs = [timed(fn) for _ in range(repeat)]
    out = runs[-1][0]
    return out, min(r[1] for r in runs), min(r[2] for r in runs)


def bench_pdf(cfg, households: int, repeat: int, workdir: Path) -> list[dict]:
    a, i, ad = sample_frames(households, seed=20260615)
    frame = print_data.notice_frame(a, i, ad, cfg, issue_date=ISSUE_DATE)
    notices.register_font(cfg)  # font parsing once per process, not per PDF
    rows = []
    for label, docs in (("all documents", notices.DOCUMENTS), ("納税通知書", ("notice",)),
                        ("特別徴収開始通知書", ("withholding_start",)), ("納付書 (3 slips a page)", ("slips",))):
        path = workdir / "notices.pdf"
        stats, wall, cpu = best(lambda d=docs: notices.render_pdf(frame, cfg, path, documents=d), repeat)
        rows.append({"what": label, "households": households, "pages": stats.pages, "wall_s": round(wall, 3),
                     "cpu_s": round(cpu, 3), "pages_per_s": round(stats.pages / wall, 1),
                     "pages_per_s_per_core": round(stats.pages / cpu, 1),
                     "kb_per_page": round(path.stat().st_size / 1024 / max(stats.pages, 1), 1)})
    return rows


def bench_print(cfg, n: int, repeat: int, workdir: Path) -> dict:
    a, i, ad = sample_frames(n, seed=20260601)
    frame, f_wall, f_cpu = best(lambda: print_data.notice_frame(a, i, ad, cfg, issue_date=ISSUE_DATE), repeat)
    path = workdir / "tax_notice_print.dat"
    _, w_wall, w_cpu = best(lambda: print_data.write_frame(frame, cfg, path), repeat)
    return {"notices": n, "installments": i.height, "frame_s": round(f_wall, 3), "frame_cpu_s": round(f_cpu, 3),
            "write_s": round(w_wall, 3), "write_cpu_s": round(w_cpu, 3),
            "notices_per_s": round(n / (f_wall + w_wall)), "write_notices_per_s": round(n / w_wall),
            "file_mb": round(path.stat().st_size / 2**20, 1)}


def main() -> None:
    from jobs.common.paths import private_umask

    private_umask()  # var/bench (synthetic persons, results) is for the owner only, as all of var/
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=2000)
    ap.add_argument("--print-notices", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default=str(ROOT / "var" / "bench"))
    a = ap.parse_args()
    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = config.load("111007", 2026)

    pdf = bench_pdf(cfg, a.households, a.repeat, workdir)
    prn = bench_print(cfg, a.print_notices, a.repeat, workdir)
    info = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"

    print(f"\nNotices (reports/), sample city FY2026; best of {a.repeat}; {info}\n")
    print("| PDF | households | pages | wall s | CPU s | pages/s | pages/s per core (goal ≥ 300) | KB/page |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in pdf:
        print(f"| {r['what']} | {r['households']:,} | {r['pages']:,} | {r['wall_s']} | {r['cpu_s']} | "
              f"{r['pages_per_s']:,} | **{r['pages_per_s_per_core']:,}** | {r['kb_per_page']} |")
    print("\n| print data | notices | installments | notice_frame s (CPU s) | write s (CPU s) | notices/s end to end "
          "(goal ≥ 100,000) | notices/s write only | file MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| tax_notice_print (1,800 B + CRLF) | {prn['notices']:,} | {prn['installments']:,} | {prn['frame_s']} "
          f"({prn['frame_cpu_s']}) | {prn['write_s']} ({prn['write_cpu_s']}) | **{prn['notices_per_s']:,}** | "
          f"{prn['write_notices_per_s']:,} | {prn['file_mb']} |")
    out = workdir / "notices.json"
    out.write_text(json.dumps({"info": info, "pdf": pdf, "print_data": prn}, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    from bench import _report  # the machine-readable result bench/summary.py reads

    res = [_report.result(f"{r['households']:,} households", f"PDF {r['what']}", r["pages_per_s_per_core"],
                          "pages/s per core", goal="≥ 300" if r is pdf[0] else None,
                          met=r["pages_per_s_per_core"] >= 300 if r is pdf[0] else None,
                          note=f"{r['pages']:,} pages; no peer measured") for r in pdf]
    res.append(_report.result(f"{prn['notices']:,} notices", "print data end to end (notice_frame + write)",
                              prn["notices_per_s"], "notices/s", goal="≥ 100,000", met=prn["notices_per_s"] >= 100_000,
                              note="no peer measured (issue 14 goal 3 adds the numpy writer)"))
    _report.emit("notices", res)


if __name__ == "__main__":
    main()
