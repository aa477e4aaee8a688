"""Summary of the benchmarks: var/bench/*.jsonl (written by bench/_report.py) → var/bench/summary.md.

    python bench/summary.py [--dir var/bench] [--readme README.md [--keep-missing [NAME ...]]]

Writes one markdown table (every figure with its peer, ratio, peak RSS and goal) and, per benchmark, the
machine and arguments it ran with. With ``--readme`` it also replaces the text between the marker lines
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` of the README with the same markdown, so the README's
benchmark figures are generated, never copied by hand. Both files are written aside and renamed. A
benchmark without its .jsonl is listed as "not run" — or, with ``--keep-missing``, keeps the rows and the
machine line it has in the README's section now, marked as kept from an earlier run (one benchmark rerun
alone, e.g. ``bench/bench_year.py`` on a whole year's report, without rerunning the others). With names
(``--keep-missing year``) only those benchmarks are kept; any other without results is "not run" (``make
bench`` keeps the 300,000-insured whole year, which takes longer than the 15 minutes ``make bench`` has).
Nothing here measures anything.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._report import ORDER, _fmt  # noqa: E402

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
HEADER = ("| benchmark | case | measure | kokuho | peer | peer figure | ratio | peak RSS MB | goal | met | note |",
          "|---|---|---|---:|---|---:|---:|---:|---|---|---|")


def load(directory: Path) -> dict[str, dict]:
    """{bench name: {"run": {...}, "results": [...]}} from every <name>.jsonl in ``directory``."""
    out: dict[str, dict] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        run, results = None, []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("kind") == "run":
                run = rec
            elif rec.get("kind") == "result":
                results.append(rec)
        if run is not None:
            out[run.get("bench") or path.stem] = {"run": run, "results": results}
    return out


def _cell(v) -> str:
    return _fmt(v).replace("|", "\\|")


KEPT = " — kept from an earlier run (not rerun this time)"


def previous(section: str) -> dict[str, dict]:
    """{benchmark: {"rows": [table lines], "machine": its machine line}} of a section ``render`` wrote
    (the README's, between the markers); benchmarks listed as not run are left out."""
    out: dict[str, dict] = {}
    for line in section.splitlines():
        if line.startswith("| ") and line != HEADER[0]:
            out.setdefault(line[2:].split(" |", 1)[0], {"rows": [], "machine": None})["rows"].append(line)
        elif line.startswith("- ") and ": " in line and not line.endswith(": not run"):
            out.setdefault(line[2:].split(": ", 1)[0], {"rows": [], "machine": None})["machine"] = line
    return {k: v for k, v in out.items() if v["rows"] and v["machine"]}


def render(data: dict[str, dict], kept: dict[str, dict] | None = None) -> str:
    """The markdown (no trailing newline): the table, then one line per benchmark on its machine and run.
    ``kept`` (``previous``): the rows and machine line of benchmarks without results here, kept as they are."""
    kept = {k: v for k, v in (kept or {}).items() if k not in data}
    every = set(data) | set(kept)
    names = [n for n in ORDER if n in every] + sorted(n for n in every if n not in ORDER)
    lines = list(HEADER)
    for name in names:
        if name in kept:
            lines.extend(kept[name]["rows"])
            continue
        run = data[name]["run"]
        for r in data[name]["results"]:
            unit = f" {r['unit']}" if r.get("unit") else ""
            peer_fig = f"{_cell(r.get('peer_value'))}{unit}" if r.get("peer_value") is not None else "—"
            ratio = f"{_cell(r['ratio'])} ({r['ratio_means']})" if r.get("ratio") is not None else "—"
            rss = r.get("peak_rss_mb") if r.get("peak_rss_mb") is not None else run.get("process_peak_rss_mb")
            value = f"{_cell(r.get('value'))}{unit}" if r.get("value") is not None else "—"
            lines.append(f"| {name} | {_cell(r.get('case'))} | {_cell(r.get('measure'))} | {value} | "
                         f"{_cell(r.get('peer'))} | {peer_fig} | {ratio} | {_cell(rss)} | {_cell(r.get('goal'))} | "
                         f"{_cell(r.get('met'))} | {_cell(r.get('note'))} |")
    missing = [n for n in ORDER if n not in every]
    lines.append("")
    for name in names:
        if name in kept:
            machine = kept[name]["machine"]
            lines.append(machine if machine.endswith(KEPT) else machine + KEPT)
            continue
        run = data[name]["run"]
        m = run.get("machine", {})
        args = " ".join(run.get("argv") or []) or "(defaults)"
        lines.append(f"- {name}: {run.get('date')}, {m.get('cpu')} ({m.get('arch')}), {m.get('cores')} cores, "
                     f"Python {m.get('python')}, load {m.get('load_1min')}; arguments `{args}`")
    for name in missing:
        lines.append(f"- {name}: not run")
    lines.append("")
    lines.append("Each figure is from the run listed (each script's own repeats, best of N where it says so) on the "
                 "machine named; on a shared machine timings are noisy. Nothing gates on them.")
    return "\n".join(lines)


def _write_aside(path: Path, text: str, mode: int | None = None) -> None:
    """``text`` written beside ``path`` and renamed over it, with ``mode`` — or, without one, the mode
    ``path`` has now (the README keeps its own: the benchmarks run under a private umask)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    if mode is not None:
        os.chmod(tmp, mode)
    elif path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)


def section(readme: str) -> str:
    """The text between the README's bench markers; ValueError if malformed."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ValueError(f"the README needs exactly one {BEGIN} and one {END}")
    return readme.split(BEGIN, 1)[1].split(END, 1)[0]


def replace_section(readme: str, body: str) -> str:
    """The README text with the lines between the markers replaced by ``body``; ValueError if malformed."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ValueError(f"the README needs exactly one {BEGIN} and one {END}")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{body}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=ROOT / "var" / "bench")
    p.add_argument("--readme", type=Path, help="rewrite this README's section between the bench markers")
    p.add_argument("--keep-missing", nargs="*", default=None, metavar="NAME",
                   help="a benchmark without results in --dir keeps its rows of the README's section (needs "
                        "--readme); with names, only these benchmarks")
    a = p.parse_args(argv)
    if a.keep_missing is not None and not a.readme:
        p.error("--keep-missing needs --readme")
    data = load(a.dir)
    if not data:
        print(f"no benchmark results (*.jsonl) in {a.dir}", file=sys.stderr)
        return 8
    kept = previous(section(a.readme.read_text(encoding="utf-8"))) if a.keep_missing is not None else None
    if kept and a.keep_missing:
        kept = {k: v for k, v in kept.items() if k in a.keep_missing}
    body = render(data, kept)
    a.dir.mkdir(parents=True, exist_ok=True)
    # under var/: the owner's only (0600), whatever umask this was run with or mode an older file had
    _write_aside(a.dir / "summary.md", "# Benchmark summary\n\n" + body + "\n", mode=0o600)
    print(f"wrote {a.dir / 'summary.md'} ({len(data)} benchmarks)")
    if a.readme:
        _write_aside(a.readme, replace_section(a.readme.read_text(encoding="utf-8"), body))
        print(f"rewrote the benchmark section of {a.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
