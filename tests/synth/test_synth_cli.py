"""``kokuho synth`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from jobs.common import fixedwidth as fw
from jobs.common import mynumber
from jobs.synth.cli import main
from jobs.synth.config import config_path


def test_default_out_is_var_inbox(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KOKUHO_VAR", str(tmp_path / "var"))
    assert main(["--insured", "40", "--seed", "3", "--quiet"]) == 0
    inbox = tmp_path / "var" / "inbox"
    manifest = json.loads((inbox / "synth_manifest.json").read_text(encoding="utf-8"))
    for f in manifest["files"].values():
        assert (inbox / f["path"]).is_file()
    assert manifest["city"]["insured"] == 40


def test_output_never_shows_a_my_number(tmp_path, capsys):
    out = tmp_path / "city"
    assert main(["--insured", "60", "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "被保険者 60" in text
    m = json.loads((out / "synth_manifest.json").read_text(encoding="utf-8"))
    res = fw.read(fw.load_layout("nhi_qualification"), out / m["files"]["shikaku"]["path"], keep_secrets=True)
    numbers = res.frames["data"]["my_number"].drop_nulls().to_list()
    assert numbers and not any(n in text for n in numbers)
    assert not any(n in (out / "synth_manifest.json").read_text(encoding="utf-8") for n in numbers)


def test_broken_my_numbers_flag(tmp_path):
    out = tmp_path / "broken"
    assert main(["--insured", "300", "--seed", "9", "--out", str(out), "--quiet", "--broken-my-numbers", "0.1"]) == 0
    m = json.loads((out / "synth_manifest.json").read_text(encoding="utf-8"))
    res = fw.read(fw.load_layout("nhi_qualification"), out / m["files"]["shikaku"]["path"], keep_secrets=True)
    mn = res.frames["data"]["my_number"].drop_nulls()
    bad = int((~mynumber.valid_mask(mn)).sum())
    assert bad == m["city"]["my_numbers_broken"] > 0
    assert m["broken_my_number_rate"] == 0.1
    assert res.rejects.height == 0  # the codec reads them; judging the check digit is the intake's job


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main([]) == 2
    assert main(["--insured", "0", "--seed", "1"]) == 2
    assert main(["--insured", "10", "--seed", "1", "--broken-my-numbers", "1.5"]) == 2
    assert main(["--insured", "10", "--seed", "1", "--as-of", "2026-13-01"]) == 2
    assert main(["--help"]) == 0
    assert not list(tmp_path.iterdir())


def test_base_date_outside_the_fiscal_year_fails_with_8(tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["--insured", "10", "--seed", "1", "--out", str(out), "--as-of", "2020-06-01", "--quiet"]) == 8
    assert "2020-06-01" in capsys.readouterr().err
    assert not out.exists() or not any(out.rglob("*.dat"))


def test_bad_config_fails_with_8_and_writes_nothing(tmp_path, capsys):
    doc = yaml.safe_load(config_path().read_text(encoding="utf-8"))
    doc["household_types"]["single_elderly"] = 0.9  # weights no longer sum to 1
    bad = tmp_path / "synth.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--insured", "10", "--seed", "1", "--out", str(out), "--config", str(bad), "--quiet"]) == 8
    assert "household_types" in capsys.readouterr().err
    assert not out.exists()


def test_as_of_names_the_files(tmp_path):
    out = tmp_path / "asof"
    assert main(["--insured", "30", "--seed", "2", "--out", str(out), "--as-of", "2026-09-15", "--quiet"]) == 0
    m = json.loads((out / "synth_manifest.json").read_text(encoding="utf-8"))
    assert m["files"]["shikaku"]["path"] == "shikaku/KOKUHO_SHIKAKU_20260915.dat"
    assert m["files"]["koufuri"]["path"] == "koufuri/KOUFURI_IRAI_20260915.dat"
    assert m["base_date"] == "2026-09-15"
    res = fw.read(fw.load_layout("nhi_qualification"), out / m["files"]["shikaku"]["path"])
    assert str(res.frames["header"]["base_date"][0]) == "2026-09-15"
    assert Path(out / m["files"]["juminzei"]["path"]).name == "JUMINZEI_TOSHO_2026.dat"
