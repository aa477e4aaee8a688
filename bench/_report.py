"""Machine-readable benchmark results, shared by every script in bench/.

Each benchmark keeps printing its own detailed table and, at its end, calls ``emit``: that prints a short
block (the peers and the ratio, the peak RSS, the machine) and writes ``var/bench/<name>.jsonl``, JSON
lines: one ``{"kind": "run", …}`` line (machine, date, arguments) and one ``{"kind": "result", …}`` line
per figure. ``bench/summary.py`` turns those files into ``var/bench/summary.md`` and the README's
benchmark section. The file is written aside and renamed; a re-run replaces it.

A result is a measured figure of the project's code (``value`` in ``unit``, lower is better for seconds,
higher for rates) beside its peer (``peer`` and ``peer_value`` in the same unit) and ``ratio``, the number
that says how the two compare, with ``ratio_means`` saying which way (e.g. "× faster than the peer").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "var" / "bench"
# bench/summary.py lists the benchmarks in this order
ORDER = ("zengin_intake", "assessment", "notices", "collection", "closing", "dunning")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_rss_mb() -> float:
    """The larger of this process's peak RSS and its largest waited-for child's (MiB, Linux KiB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


def machine() -> dict:
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return {"cpu": cpu_model(), "arch": platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "system": platform.system(), "load_1min": load}


def result(case: str, measure: str, value: float, unit: str, *, peer: str | None = None,
           peer_value: float | None = None, ratio: float | None = None, ratio_means: str | None = None,
           peak_rss_mb: float | None = None, goal: str | None = None, met: bool | None = None,
           note: str | None = None) -> dict:
    """One figure of a benchmark (see the module doc)."""
    return {"kind": "result", "case": case, "measure": measure, "value": value, "unit": unit, "peer": peer,
            "peer_value": peer_value, "ratio": ratio, "ratio_means": ratio_means, "peak_rss_mb": peak_rss_mb,
            "goal": goal, "met": met, "note": note}


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def emit(name: str, results: list[dict], *, argv: list[str] | None = None, out_dir: Path | None = None,
         now: dt.datetime | None = None) -> Path:
    """Print the peers / ratio / peak RSS / machine block and write ``<out_dir>/<name>.jsonl``."""
    out_dir = Path(out_dir or OUT_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.timezone.utc)
    run = {"kind": "run", "bench": name, "date": now.strftime("%Y-%m-%d %H:%M UTC"),
           "argv": list(sys.argv[1:] if argv is None else argv), "machine": machine(),
           "process_peak_rss_mb": peak_rss_mb()}
    m = run["machine"]
    print(f"\n[{name}] machine: {m['cpu']} ({m['arch']}), {m['cores']} cores, Python {m['python']}, "
          f"load {m['load_1min']}, {run['date']}; arguments: {' '.join(run['argv']) or '(defaults)'}")
    for r in results:
        peer = f" | peer {r['peer']}: {_fmt(r['peer_value'])} {r['unit']}" if r.get("peer") else " | no peer"
        ratio = f" | ratio {_fmt(r['ratio'])} ({r['ratio_means']})" if r.get("ratio") is not None else ""
        print(f"[{name}] {r['case']}: {r['measure']} {_fmt(r['value'])} {r['unit']}{peer}{ratio} | peak RSS "
              f"{_fmt(r.get('peak_rss_mb') or run['process_peak_rss_mb'])} MB")
    path = out_dir / f"{name}.jsonl"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(x, ensure_ascii=False, sort_keys=True) + "\n" for x in [run, *results]),
                   encoding="utf-8")
    os.replace(tmp, path)
    return path
