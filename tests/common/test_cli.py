"""The kokuho command line (the run command itself is exercised in tests/intake)."""

from __future__ import annotations

import sys
import types

from jobs.cli import main


def test_jobs_lists_ids_and_japanese_names(capsys):
    assert main(["jobs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "FK010  住民税所得取込  var/inbox/juminzei/* (先行: FK020)" in out
    assert any(line.startswith("SN110  口座振替結果取込") for line in out)


def test_run_unknown_job_is_rc12(capsys):
    assert main(["run", "FK999", "--date", "2026-06-15"]) == 12
    assert "ジョブIDがありません" in capsys.readouterr().err


def test_run_unknown_municipality_is_rc12(capsys):
    assert main(["run", "SN110", "--date", "2026-06-15", "--municipality", "999999"]) == 12
    assert "999999" in capsys.readouterr().err


def test_errors_without_a_list(capsys):
    assert main(["errors", "SN110"]) == 0
    assert "エラーリストはありません" in capsys.readouterr().out


def test_synth_delegates(monkeypatch):
    seen = []
    fake = types.ModuleType("jobs.synth.cli")
    fake.main = lambda argv: seen.append(argv) or 3
    monkeypatch.setitem(sys.modules, "jobs.synth.cli", fake)
    assert main(["synth", "--size", "10", "--seed", "1"]) == 3
    assert seen == [["--size", "10", "--seed", "1"]]


def test_layout_listing(capsys):
    assert main(["layout-listing", "zengin_91_result"]) == 0
    out = capsys.readouterr().out
    assert "zengin_91_result" in out and "振替結果コード" in out
    assert main(["layout-listing"]) == 2


def test_bad_date_is_a_usage_error(capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["run", "SN110", "--date", "2026-02-30"])
    assert exc.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_jobnets_prints_the_registry_graph(capsys):
    from jobs import registry

    assert main(["jobnets", "KB400"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "KB400 収納消込ジョブネット  (kokuho_collection, cron 30 8 * * 1-5)"
    assert registry.diagram(registry.jobnet("KB400")) in out
    assert main(["jobnets", "KB999"]) == 8
    assert "KKB920E" in capsys.readouterr().err
