"""bench/summary.py and bench/_report.py: fixture results → the expected markdown; the README section.

No timing is asserted anywhere: the fixtures are fixed figures, the README test checks only the shape of
the generated section between the bench markers.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


summary = _load("summary")
report = _load("_report")


def test_fixture_results_render_the_expected_markdown():
    got = summary.render(summary.load(FIXTURES))
    assert got == (FIXTURES / "summary.expected.md").read_text(encoding="utf-8")


def test_main_writes_summary_and_rewrites_only_the_readme_section(tmp_path):
    for f in FIXTURES.glob("*.jsonl"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    readme = tmp_path / "README.md"
    readme.write_text(f"# X\n\n## Benchmarks\n\nintro\n\n{summary.BEGIN}\nold figures\n{summary.END}\n\nafter\n",
                      encoding="utf-8")
    readme.chmod(0o644)
    assert summary.main(["--dir", str(tmp_path), "--readme", str(readme)]) == 0
    assert readme.stat().st_mode & 0o777 == 0o644  # the README keeps its mode
    body = (FIXTURES / "summary.expected.md").read_text(encoding="utf-8")
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == f"# Benchmark summary\n\n{body}\n"
    assert readme.read_text(encoding="utf-8") == (
        f"# X\n\n## Benchmarks\n\nintro\n\n{summary.BEGIN}\n{body}\n{summary.END}\n\nafter\n")
    first = readme.read_bytes()
    assert summary.main(["--dir", str(tmp_path), "--readme", str(readme)]) == 0
    assert readme.read_bytes() == first  # idempotent
    assert not list(tmp_path.glob("*.tmp"))



def _summarised_fixtures(tmp_path):
    """The fixtures' .jsonl files copied to ``tmp_path`` and summarised into a README there: (files, readme)."""
    files = sorted(FIXTURES.glob("*.jsonl"))
    for f in files:
        (tmp_path / f.name).write_bytes(f.read_bytes())
    readme = tmp_path / "README.md"
    readme.write_text(f"# X\n\n{summary.BEGIN}\nold\n{summary.END}\n", encoding="utf-8")
    assert summary.main(["--dir", str(tmp_path), "--readme", str(readme)]) == 0
    return files, readme


def test_the_summary_under_var_is_the_owners_only_and_the_readme_keeps_its_mode(tmp_path):
    """summary.md goes to var/bench/ (personal-data rules: 0600) even when run with an open umask over an
    older 0644 file; the README keeps the mode it has."""
    import os

    for f in FIXTURES.glob("*.jsonl"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "summary.md").write_text("old", encoding="utf-8")
    os.chmod(tmp_path / "summary.md", 0o644)
    readme = tmp_path / "README.md"
    readme.write_text(f"# X\n\n{summary.BEGIN}\nold\n{summary.END}\n", encoding="utf-8")
    os.chmod(readme, 0o644)
    old = os.umask(0o022)
    try:
        assert summary.main(["--dir", str(tmp_path), "--readme", str(readme)]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "summary.md").stat().st_mode & 0o777 == 0o600
    assert readme.stat().st_mode & 0o777 == 0o644


def test_keep_missing_keeps_the_rows_of_benchmarks_not_rerun(tmp_path):
    """One benchmark rerun alone (here: only the fixtures' first .jsonl) with --keep-missing: the others keep
    their rows and machine line from the README's section, marked once as kept; without the flag they are
    "not run"."""
    files, readme = _summarised_fixtures(tmp_path)
    full = summary.section(readme.read_text(encoding="utf-8"))
    before = summary.previous(full)
    assert set(before) == set(summary.load(FIXTURES)) and len(before) >= 2
    rerun, *others = files
    for f in others:
        (tmp_path / f.name).unlink()
    for _ in range(2):   # twice: the kept mark is not added again
        assert summary.main(["--dir", str(tmp_path), "--readme", str(readme), "--keep-missing"]) == 0
        after = summary.previous(summary.section(readme.read_text(encoding="utf-8")))
        assert set(after) == set(before)
        for name, old in before.items():
            assert after[name]["rows"] == old["rows"]
            kept = name != json.loads(rerun.read_text(encoding="utf-8").splitlines()[0]).get("bench", rerun.stem)
            assert after[name]["machine"] == (old["machine"] + summary.KEPT if kept else old["machine"])
    assert summary.main(["--dir", str(tmp_path), "--readme", str(readme)]) == 0
    assert "not run" in summary.section(readme.read_text(encoding="utf-8"))


def test_keep_missing_with_names_keeps_only_those(tmp_path):
    """`make bench` keeps only the measured whole year (``--keep-missing year``): any other benchmark without
    results this time is "not run", never its old rows."""
    files, readme = _summarised_fixtures(tmp_path)
    before = summary.previous(summary.section(readme.read_text(encoding="utf-8")))
    keep, drop = sorted(before)[:2]
    for name in (keep, drop):
        (tmp_path / f"{name}.jsonl").unlink()
    report.emit("closing", [report.result("1 row", "thing", 1.0, "s")], argv=[], out_dir=tmp_path)
    assert summary.main(["--dir", str(tmp_path), "--readme", str(readme), "--keep-missing", keep]) == 0
    text = summary.section(readme.read_text(encoding="utf-8"))
    after = summary.previous(text)
    assert after[keep]["rows"] == before[keep]["rows"]
    assert after[keep]["machine"] == before[keep]["machine"] + summary.KEPT
    assert drop not in after and f"- {drop}: not run" in text


def test_malformed_markers_are_refused():
    with pytest.raises(ValueError):
        summary.replace_section("no markers\n", "x")
    with pytest.raises(ValueError):
        summary.replace_section(f"{summary.BEGIN}\n{summary.BEGIN}\n{summary.END}\n", "x")


def test_no_results_is_an_error_not_an_empty_summary(tmp_path):
    assert summary.main(["--dir", str(tmp_path)]) == 8
    assert not (tmp_path / "summary.md").exists()


def test_emit_writes_jsonl_that_summary_reads(tmp_path, capsys):
    r = report.result("10 rows", "thing", 1.5, "s", peer="peer", peer_value=3.0, ratio=2.0, ratio_means="× faster",
                      peak_rss_mb=12.0, goal="≤ 2 s", met=True)
    path = report.emit("dunning", [r], argv=["--n", "10"], out_dir=tmp_path,
                       now=dt.datetime(2026, 12, 6, 19, 0, tzinfo=dt.timezone.utc))
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [x["kind"] for x in lines] == ["run", "result"]
    run = lines[0]
    assert run["bench"] == "dunning" and run["date"] == "2026-12-06 19:00 UTC" and run["argv"] == ["--n", "10"]
    assert {"cpu", "cores", "python", "arch"} <= set(run["machine"]) and run["process_peak_rss_mb"] > 0
    out = capsys.readouterr().out
    assert "machine:" in out and "peer peer: 3" in out and "ratio 2 (× faster)" in out and "peak RSS 12 MB" in out
    md = summary.render(summary.load(tmp_path))
    assert "| dunning | 10 rows | thing | 1.5 s | peer | 3 s | 2 (× faster) | 12 | ≤ 2 s | yes | — |" in md


def _readme_section() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(summary.BEGIN) == 1 and text.count(summary.END) == 1
    start, end = text.index(summary.BEGIN), text.index(summary.END)
    assert start < end
    bench = text.index("\n## Benchmarks\n")
    nxt = text.find("\n## ", bench + 1)
    assert bench < start and end < nxt, "the bench markers are inside the README's ## Benchmarks section"
    return text[start + len(summary.BEGIN):end].strip("\n").splitlines()


def test_readme_bench_section_is_well_formed():
    lines = _readme_section()
    if lines == ["(not generated yet: run `make bench`)"]:
        return
    assert lines[:2] == list(summary.HEADER)
    width = summary.HEADER[0].count("|")
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert rows, "the generated table has rows"
    for row in rows:
        assert row.replace("\\|", "").count("|") == width, row
    rest = lines[2 + len(rows):]
    known = set(report.ORDER)
    runs = [x for x in rest if x.startswith("- ")]
    assert {x[2:].split(":", 1)[0] for x in runs} >= known, "every benchmark is listed (run or 'not run')"
