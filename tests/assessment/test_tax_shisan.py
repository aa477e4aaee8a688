"""`kokuho shisan`: the counter's trial calculation goes through engine.assess."""

from __future__ import annotations

import json

import pytest

from jobs.assessment import shisan
from jobs.cli import main as kokuho

COUPLE = ["--member", "birth=1956-07-10,householder,income=900000,pension_revenue=2000000,pension_income=900000",
          "--member", "birth=1956-09-03,pension_revenue=600000"]


def test_table_for_a_couple_in_fy2025(capsys):
    assert shisan.main(["--fy", "2025", *COUPLE]) == 0
    out = capsys.readouterr().out
    assert "令和7年度 国民健康保険税 試算" in out and "さいたま市" in out
    assert "軽減判定所得 750,000円" in out and "軽減 5割" in out
    assert "医療分" in out and "後期高齢者支援金等分" in out
    # さいたま市 FY2025 profile: 医療 (47万 × 7.13% + 35,000) → 68,500, 支援 (12,220 + 12,200) → 24,400
    assert "年税額 92,900円" in out
    assert "未確認の値" in out  # the profile's UNVERIFIED figures are shown to the operator


def test_json_output_and_the_kokuho_subcommand(capsys):
    assert kokuho(["shisan", "--fy", "2025", "--json", *COUPLE]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["annual_tax"] == 92_900
    assert doc["household"]["reduction_class"] == 5
    medical = next(c for c in doc["components"] if c["component"] == "medical")
    assert (medical["income_levy"], medical["per_capita_levy"], medical["reduction"], medical["amount"]) == \
        (33_511, 70_000, 35_000, 68_500)
    assert doc["assessment"]["medical_amount"] == 68_500


def test_input_file_with_months_and_an_exemption(tmp_path, capsys):
    doc = {"fy": 2025, "municipality": "111007", "members": [
        {"birth": "1980-05-01", "income": 30_000_000, "months": 6}],
        "exemptions": [{"component": "all", "amount": 10_000}]}
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert shisan.main(["--input", str(path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    by = {c["component"]: c for c in res["components"]}
    assert by["medical"]["months"] == 6
    assert by["medical"]["amount"] == 660_000 // 2 - 10_000  # the cap, prorated, less the 減免
    assert res["annual_tax"] == 320_000 + 130_000 + 85_000


def test_rates_file_of_another_city(tmp_path, capsys):
    # 川越市 令和7年度 (see test_tax_examples.py): the couple's published total is 97,000円
    rates = tmp_path / "kawagoe.yaml"
    rates.write_text("""tax:
  fiscal_year: 2025
  municipality_label: 川越市
  components:
    medical: {income_rate: 0.0725, per_capita: 36300, cap: 650000}
    elderly_support: {income_rate: 0.027, per_capita: 14100, cap: 240000}
    long_term_care: {income_rate: 0.022, per_capita: 15000, cap: 170000}
""", encoding="utf-8")
    assert shisan.main(["--rates", str(rates), *COUPLE]) == 0
    out = capsys.readouterr().out
    assert "川越市" in out and "年税額 97,000円" in out


@pytest.mark.parametrize("argv,message", [
    (["--fy", "2025"], "世帯員がありません"),
    (["--fy", "2025", "--member", "income=100"], "生年月日"),
    (["--fy", "2025", "--member", "birth=1980-13-01"], "YYYY-MM-DD"),
    (["--fy", "2025", "--member", "birth=1980-01-01,colour=red"], "未知の項目"),
    (["--member", "birth=1980-01-01"], "年度がありません"),
    (["--fy", "2025", "--member", "birth=1980-01-01", "--exemption", "dental:rate=0.5"], "減免の区分"),
])
def test_bad_input_is_exit_2_with_a_message(argv, message, capsys):
    assert shisan.main(argv) == 2
    assert message in capsys.readouterr().err


def test_member_flags_parse():
    assert shisan.parse_member_flag("birth=1980-01-01, householder ,income=1_000") == \
        {"birth": "1980-01-01", "householder": True, "income": "1_000"}
    assert shisan.parse_exemption_flag("medical:rate=0.5") == {"component": "medical", "rate": "0.5"}
